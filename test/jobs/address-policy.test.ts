// The address policy for researcher-given addresses, tested on its decision for each address:
// no test here opens a connection to a private, link-local or reserved address. Requests that do
// go out go to loopback listeners, which count what arrives.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoordinatorClient } from '../../common/jobs/client.js';
import { addressRefusal, checkUrlAllowed, policyFetch } from '../../main/services/jobs/address-policy.js';
import { closeLoopback, listenOnLoopback } from '../helpers/loopback.js';

const REFUSED = [
  '127.0.0.1',
  '127.255.0.7',
  '0.0.0.0',
  '10.1.2.3',
  '100.64.0.1',
  '169.254.169.254',
  '172.16.0.1',
  '172.31.255.255',
  '192.0.2.5',
  '192.168.1.1',
  '198.18.0.1',
  '203.0.113.9',
  '224.0.0.251',
  '240.0.0.1',
  '255.255.255.255',
  '::',
  '::1',
  '[::1]',
  'fe80::1',
  'fc00::1',
  'fd12:3456::1',
  'ff02::1',
  '::ffff:127.0.0.1',
  '::ffff:7f00:1',
  '::ffff:10.0.0.1',
  '::ffff:0:a9fe:a9fe',
  '::127.0.0.1',
  '64:ff9b::7f00:1',
  '2001:db8::1',
  '2002:7f00:1::1',
  '100::1',
];
const ALLOWED = ['8.8.8.8', '1.1.1.1', '93.184.216.34', '172.32.0.1', '2606:4700:4700::1111', '2a00:1450::1', '::ffff:8.8.8.8'];

describe('the address policy', () => {
  it('refuses loopback, private, link-local, shared, multicast and reserved addresses, in IPv4, IPv6 and IPv4-mapped forms', () => {
    for (const a of REFUSED) expect({ a, refusal: addressRefusal(a) }).toEqual({ a, refusal: expect.stringMatching(/on this computer|not a public/) });
    // Positive control: the same check lets public addresses through, so it is not refusing everything.
    for (const a of ALLOWED) expect({ a, refusal: addressRefusal(a) }).toEqual({ a, refusal: null });
    expect(addressRefusal('not an address')).toBe('it is not an IP address');
  });

  it('decides on the address a URL names in decimal, octal or hex form, and on every address a name resolves to', async () => {
    const off = { allowLocalNetwork: false, lookup: async (host: string) => ({ 'public.test': ['8.8.8.8'], 'split.test': ['8.8.8.8', '10.0.0.5'], 'inside.test': ['192.168.0.10'] })[host] ?? [] };
    for (const u of ['http://2130706433/', 'http://0177.0.0.1/', 'http://0x7f.1/', 'http://127.1/', 'http://[::ffff:127.0.0.1]/', 'http://[::1]:8080/', 'http://split.test/', 'http://inside.test/']) {
      await expect(checkUrlAllowed(new URL(u), off, 'the job’s document'), u).rejects.toMatchObject({ code: 'ADDRESS_NOT_ALLOWED' });
    }
    await expect(checkUrlAllowed(new URL('http://public.test/'), off, 'the job’s document')).resolves.toBeUndefined();
    await expect(checkUrlAllowed(new URL('http://nowhere.test/'), { ...off, lookup: () => Promise.reject(new Error('ENOTFOUND')) }, 'x')).rejects.toMatchObject({ code: 'COORDINATOR_UNREACHABLE' });
    // The developer setting lets a local network through; nothing else changes.
    await expect(checkUrlAllowed(new URL('http://2130706433/'), { allowLocalNetwork: true }, 'x')).resolves.toBeUndefined();
  });
});

describe('requests under the address policy', () => {
  const arrived: string[] = [];
  let server: Server;
  let port = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      arrived.push(`${req.method} ${req.url}`);
      if (req.url === '/hop') {
        res.writeHead(302, { location: `http://127.0.0.1:${port}/inside` }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    port = Number(new URL(await listenOnLoopback(server)).port);
  });

  afterAll(() => closeLoopback(server));

  it('sends nothing to a coordinator on loopback, in any spelling, unless a local network is allowed', async () => {
    arrived.length = 0;
    const guarded = policyFetch(fetch, { allowLocalNetwork: false }, 'the job’s coordinator');
    for (const host of ['127.0.0.1', 'localhost', '[::ffff:127.0.0.1]', '2130706433']) {
      const client = new CoordinatorClient({ baseUrl: `http://${host}:${port}`, fetch: guarded });
      await expect(client.status('1'), host).rejects.toMatchObject({ code: 'ADDRESS_NOT_ALLOWED', message: expect.stringMatching(/^Trove did not contact the job’s coordinator at /) });
    }
    expect(arrived).toEqual([]);
    // Positive control: with the developer setting the same request does arrive.
    const allowed = new CoordinatorClient({ baseUrl: `http://127.0.0.1:${port}`, fetch: policyFetch(fetch, { allowLocalNetwork: true }, 'the job’s coordinator') });
    await expect(allowed.status('1')).rejects.toMatchObject({ code: 'COORDINATOR_PROTOCOL' });
    expect(arrived).toEqual(['GET /v1/jobs/1']);
  });

  it('checks the address of every redirect before following it', async () => {
    arrived.length = 0;
    // A public name whose transport is this loopback listener (the connection is the test's
    // stand-in for the internet); the redirect it answers with points at loopback by address.
    const transport: typeof fetch = (input, init) => fetch(String(input instanceof Request ? input.url : input).replace('public.test', `127.0.0.1:${port}`), init);
    const guarded = policyFetch(transport, { allowLocalNetwork: false, lookup: async () => ['8.8.8.8'] }, 'the job’s document');
    await expect(guarded('http://public.test/hop', { redirect: 'follow' })).rejects.toMatchObject({ code: 'ADDRESS_NOT_ALLOWED' });
    expect(arrived).toEqual(['GET /hop']);
    // A request that must not be redirected is refused at the first redirect.
    await expect(guarded('http://public.test/hop', { redirect: 'error' })).rejects.toMatchObject({ code: 'COORDINATOR_PROTOCOL' });
    expect(arrived).toEqual(['GET /hop', 'GET /hop']);
  });
});
