// Requests a coordinator must refuse: malformed, oversize, unsigned, forged, replayed, signed over
// a stale or foreign nonce, or too frequent. Each gets its typed error and HTTP status, and none of them changes any state.
// And what a message's answer carries: the sender's next messages, waited for when asked.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromHex, signRequest } from '../../common/jobs/client.js';
import { invitedGroup } from '../../common/jobs/groups.js';
import { SecAggClient } from '../../common/secagg/client.js';
import { MessageType } from '../../common/secagg/wire.js';
import { AUTH_HEADERS, errorResponseSchema, MAX_JSON_BODY_BYTES, NONCE_LIFETIME_MS } from '../../common/jobs/protocol.js';
import { generateSigningKeyPair, type SigningKeyPair } from '../../common/secagg/keys.js';
import { startCoordinatorServer } from '../../coordinator/server.js';
import { Contributor, startRig, until, type CoordinatorRig } from './fixtures.js';
import type { SqliteStore } from '../../coordinator/store-sqlite.js';

interface Answer {
  status: number;
  code: string | undefined;
  message?: string;
  headers: Headers;
}

/** A TCP connection to the coordinator on loopback, from `from` (another loopback address is another address to it). */
function connectFrom(port: number, from = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: from }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Sends one GET over the connection: the answer's status line, or null if the server closed it first. */
function statusLineOf(socket: Socket, path: string): Promise<string | null> {
  return new Promise((resolve) => {
    let seen = '';
    socket.on('data', (b: Buffer) => {
      seen += b.toString('latin1');
      if (seen.includes('\r\n')) resolve(seen.split('\r\n')[0]!);
    });
    socket.once('close', () => resolve(seen.includes('\r\n') ? seen.split('\r\n')[0]! : null));
    socket.on('error', () => undefined);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  });
}

/** A nonce as the coordinator at `base` hands it out to anyone who asks. */
async function nonceFrom(base: string): Promise<string> {
  const res = await fetch(`${base}/v1/nonce`);
  expect(res.status).toBe(200);
  await res.arrayBuffer();
  const nonce = res.headers.get(AUTH_HEADERS.nonce);
  expect(nonce).toMatch(/^[0-9a-f]{112}$/);
  return nonce!;
}

describe('coordinator HTTP: refusals are typed and change nothing', () => {
  let rig: CoordinatorRig;
  let jobId: string;
  let specHash: string;
  let members: Contributor[];

  /** Sends a request, signed with `keys` unless told otherwise, and reads the error code. */
  async function call(
    method: string,
    path: string,
    options: { keys?: SigningKeyPair; body?: Uint8Array | string; nonce?: string; signedPath?: string; headers?: Record<string, string>; base?: string } = {},
  ): Promise<Answer> {
    const body = typeof options.body === 'string' ? new TextEncoder().encode(options.body) : (options.body ?? new Uint8Array(0));
    const headers: Record<string, string> = { ...options.headers };
    const base = options.base ?? rig.server.url;
    if (options.keys) Object.assign(headers, signRequest(options.keys, method, options.signedPath ?? path, body, options.nonce ?? (await nonceFrom(base))));
    const res = await fetch(`${base}${path}`, { method, headers, body: body.length > 0 ? body.slice() : undefined });
    const text = await res.text();
    let code: string | undefined;
    let message: string | undefined;
    if (!res.ok && res.status !== 204) {
      const parsed = errorResponseSchema.safeParse(JSON.parse(text));
      expect(parsed.success, `error body of ${method} ${path}: ${text}`).toBe(true);
      code = parsed.data?.error.code;
      message = parsed.data?.error.message;
    }
    return { status: res.status, code, message, headers: res.headers };
  }

  /** Everything the coordinator keeps about the job. */
  async function snapshot(): Promise<string> {
    const db = (rig.store as SqliteStore).db;
    return JSON.stringify({
      participants: db.prepare('SELECT * FROM participants ORDER BY seq').all(),
      rounds: db.prepare('SELECT * FROM rounds ORDER BY job_id, round').all(),
      events: db.prepare('SELECT job_id, round, seq, kind, at, hex(data) FROM round_events ORDER BY job_id, round, seq').all(),
      status: await rig.runner.status(jobId),
    });
  }

  beforeAll(async () => {
    rig = await startRig();
    ({ jobId, specHash } = await rig.publish({ rounds: 1 }));
    members = Array.from({ length: 4 }, (_, i) => new Contributor(rig.server.url, rig.clock.now, rig.enrollmentRef, `http-${i}`));
    for (const m of members) await m.enroll(jobId);
    await rig.runner.tick();
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('serves the public routes and refuses unknown jobs, documents and routes with 404', async () => {
    expect((await call('GET', `/v1/jobs/${jobId}`)).status).toBe(200);
    expect((await call('GET', `/v1/specs/${specHash}`)).status).toBe(200);
    expect(await call('GET', '/v1/jobs/999')).toMatchObject({ status: 404, code: 'JOB_NOT_FOUND' });
    expect(await call('GET', `/v1/specs/0x${'ab'.repeat(32)}`)).toMatchObject({ status: 404, code: 'JOB_NOT_FOUND' });
    expect(await call('GET', '/v2/anything')).toMatchObject({ status: 404 });
    expect(await call('PUT', `/v1/jobs/${jobId}`)).toMatchObject({ status: 400, code: 'INVALID_INPUT' });
  });

  it('answers malformed, oversize, unsigned and forged requests with their typed errors, changing nothing', async () => {
    const before = await snapshot();
    const member = members[0]!;
    const stranger = generateSigningKeyPair();
    const round = `/v1/jobs/${jobId}/round`;
    const messages = `/v1/jobs/${jobId}/rounds/0/messages`;

    // Malformed: not JSON, not an enrollment, not a secure-aggregation message.
    expect(await call('POST', `/v1/jobs/${jobId}/enroll`, { keys: stranger, body: '{"commitment":' })).toMatchObject({ status: 400, code: 'INVALID_INPUT' });
    expect(await call('POST', `/v1/jobs/${jobId}/enroll`, { keys: stranger, body: '{"commitment":"1"}' })).toMatchObject({ status: 400, code: 'INVALID_INPUT' });
    expect(await call('POST', messages, { keys: member.keys, body: new Uint8Array(200).fill(7) })).toMatchObject({ status: 400, code: 'SECAGG_MALFORMED' });
    expect(await call('GET', `/v1/jobs/${jobId}/rounds/0/inbox?after=-1`, { keys: member.keys })).toMatchObject({ status: 400, code: 'INVALID_INPUT' });
    // A message asking for what follows with a bad query is refused for the query, before the message is looked at.
    expect(await call('POST', `${messages}?after=x&waitMs=0`, { keys: member.keys, body: new Uint8Array(200).fill(7) })).toMatchObject({ status: 400, code: 'INVALID_INPUT' });
    expect(await call('POST', `${messages}?after=0&waitMs=999999`, { keys: member.keys, body: new Uint8Array(200).fill(7) })).toMatchObject({ status: 400, code: 'INVALID_INPUT' });
    expect(await call('GET', `/v1/jobs/${jobId}/rounds/0/inbox?after=0&waitMs=999999`, { keys: member.keys })).toMatchObject({ status: 400, code: 'INVALID_INPUT' });

    // Oversize: a JSON body over the limit, declared or streamed, and a message larger than any of the round's.
    expect(await call('POST', `/v1/jobs/${jobId}/enroll`, { keys: stranger, body: 'x'.repeat(MAX_JSON_BODY_BYTES + 1) })).toMatchObject({
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    });
    const chunk = new Uint8Array(10_000).fill(32);
    const streamed = await fetch(`${rig.server.url}/v1/jobs/${jobId}/enroll`, {
      method: 'POST',
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(chunk);
          controller.enqueue(chunk);
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { error: { code: string } }).error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(await call('POST', messages, { keys: member.keys, body: new Uint8Array(rig.runner.maxMessageBytes(jobId) + 1) })).toMatchObject({
      status: 413,
      code: 'PAYLOAD_TOO_LARGE',
    });

    // Unsigned, signed for another path, signed by a key that never enrolled.
    expect(await call('GET', round)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    expect(await call('GET', round, { keys: member.keys, signedPath: `/v1/jobs/${jobId}` })).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    expect(await call('GET', round, { keys: stranger })).toMatchObject({ status: 403, code: 'NOT_ENROLLED' });
    expect(await call('DELETE', `/v1/jobs/${jobId}/enroll`, { keys: stranger })).toMatchObject({ status: 403, code: 'NOT_ENROLLED' });

    // A leave signed as a GET of the same path.
    const asGet = signRequest(members[1]!.keys, 'GET', `/v1/jobs/${jobId}/enroll`, new Uint8Array(0), await nonceFrom(rig.server.url));
    expect((await fetch(`${rig.server.url}/v1/jobs/${jobId}/enroll`, { method: 'DELETE', headers: asGet })).status).toBe(401);

    // A model of a round that does not exist, and a message for another round.
    expect(await call('GET', `/v1/jobs/${jobId}/models/7`, { keys: member.keys })).toMatchObject({ status: 404, code: 'JOB_NOT_FOUND' });
    expect(await call('POST', `/v1/jobs/${jobId}/rounds/5/messages`, { keys: member.keys, body: new Uint8Array(100) })).toMatchObject({
      status: 409,
      code: 'SECAGG_WRONG_ROUND',
    });
    expect(await call('GET', `/v1/jobs/${jobId}/rounds/5/inbox`, { keys: member.keys })).toMatchObject({ status: 409, code: 'SECAGG_WRONG_ROUND' });

    expect(await snapshot()).toBe(before);
  });

  it('accepts a nonce once, only while fresh, and only if this deployment issued it', async () => {
    const before = await snapshot();
    const member = members[1]!;
    const round = `/v1/jobs/${jobId}/round`;

    // Replay: the same signed request twice. The first is answered (the positive control), the
    // second refused before anything is read for it.
    const signed = signRequest(member.keys, 'GET', round, new Uint8Array(0), await nonceFrom(rig.server.url));
    expect((await fetch(`${rig.server.url}${round}`, { headers: signed })).status).toBe(200);
    const again = await fetch(`${rig.server.url}${round}`, { headers: signed });
    expect(again.status).toBe(401);
    expect(((await again.json()) as { error: { code: string; message: string } }).error).toMatchObject({ code: 'NONCE_REFUSED', message: expect.stringMatching(/already received/) });

    // Stale: a nonce is good until its lifetime passes on the coordinator's clock, and not after.
    const early = await nonceFrom(rig.server.url);
    const late = await nonceFrom(rig.server.url);
    rig.clock.advance(NONCE_LIFETIME_MS - 5_000);
    expect((await call('GET', round, { keys: member.keys, nonce: early })).status).toBe(200);
    rig.clock.advance(10_000);
    expect(await call('GET', round, { keys: member.keys, nonce: late })).toMatchObject({ status: 401, code: 'NONCE_REFUSED', message: expect.stringMatching(/expired/) });

    // From nowhere: made up, altered, or issued by a coordinator with another key. A process that
    // shares the deployment's key accepts its sibling's nonce (the positive control).
    expect(await call('GET', round, { keys: member.keys, nonce: 'ab'.repeat(56) })).toMatchObject({ status: 401, code: 'NONCE_REFUSED', message: expect.stringMatching(/never issued/) });
    const real = await nonceFrom(rig.server.url);
    const altered = real.slice(0, 20) + (real[20] === '0' ? '1' : '0') + real.slice(21);
    expect(await call('GET', round, { keys: member.keys, nonce: altered })).toMatchObject({ status: 401, code: 'NONCE_REFUSED', message: expect.stringMatching(/never issued/) });
    const stranger = await startCoordinatorServer({ runner: rig.runner, now: rig.clock.now });
    const sibling = await startCoordinatorServer({ runner: rig.runner, now: rig.clock.now, nonceKey: rig.nonceKey });
    try {
      expect(await call('GET', round, { keys: member.keys, nonce: await nonceFrom(stranger.url) })).toMatchObject({ status: 401, code: 'NONCE_REFUSED' });
      expect((await call('GET', round, { keys: member.keys, nonce: await nonceFrom(sibling.url) })).status).toBe(200);
      expect((await call('GET', round, { keys: member.keys, nonce: await nonceFrom(rig.server.url), base: sibling.url })).status).toBe(200);
    } finally {
      await stranger.close();
      await sibling.close();
    }

    // A signature that does not verify spends no nonce: the owner can still use it.
    const kept = await nonceFrom(rig.server.url);
    expect(await call('GET', round, { keys: members[2]!.keys, nonce: kept, signedPath: `/v1/jobs/${jobId}` })).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });
    expect((await call('GET', round, { keys: member.keys, nonce: kept })).status).toBe(200);

    expect(await snapshot()).toBe(before);
  });

  it('rate limits per key and per address with 429 and Retry-After, changing nothing', async () => {
    const before = await snapshot();
    const tight = await startCoordinatorServer({ runner: rig.runner, now: rig.clock.now, perKey: { burst: 3, perSecond: 0.5 }, perAddress: { burst: 1000, perSecond: 1000 } });
    try {
      const member = members[2]!;
      const path = `/v1/jobs/${jobId}/round`;
      for (let i = 0; i < 3; i++) expect((await call('GET', path, { keys: member.keys, base: tight.url })).status).toBe(200);
      const limited = await call('GET', path, { keys: member.keys, base: tight.url });
      expect(limited).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      // Another key is not held back by this one.
      expect((await call('GET', path, { keys: members[3]!.keys, base: tight.url })).status).toBe(200);
    } finally {
      await tight.close();
    }
    const byAddress = await startCoordinatorServer({ runner: rig.runner, now: rig.clock.now, perAddress: { burst: 2, perSecond: 0.5 } });
    try {
      expect((await call('GET', `/v1/jobs/${jobId}`, { base: byAddress.url })).status).toBe(200);
      expect((await call('GET', `/v1/jobs/${jobId}`, { base: byAddress.url })).status).toBe(200);
      const limited = await call('GET', `/v1/jobs/${jobId}`, { base: byAddress.url });
      expect(limited).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    } finally {
      await byAddress.close();
    }
    expect(await snapshot()).toBe(before);
  });

  it('closes a connection beyond the open-connection limit of its address, serves other addresses, and takes one again once another closes', async () => {
    const capped = await startCoordinatorServer({ runner: rig.runner, now: rig.clock.now, openConnectionsPerAddress: 2 });
    const port = Number(new URL(capped.url).port);
    const path = `/v1/jobs/${jobId}`;
    const sockets: Socket[] = [];
    const open = async (from?: string) => {
      const socket = await connectFrom(port, from);
      sockets.push(socket);
      return socket;
    };
    try {
      // The control: the first two connections are served, and kept open (keep-alive).
      const held = [await open(), await open()];
      for (const socket of held) expect(await statusLineOf(socket, path)).toBe('HTTP/1.1 200 OK');
      // A third from the same address is closed before it is answered.
      expect(await statusLineOf(await open(), path)).toBeNull();
      // Another address is not held back by this one.
      expect(await statusLineOf(await open('127.0.0.2'), path)).toBe('HTTP/1.1 200 OK');
      // Once one of the two closes, the address may open another.
      held[0]!.destroy();
      await until(async () => (await statusLineOf(await open(), path)) === 'HTTP/1.1 200 OK', 10_000, 'a connection served again', 50);
    } finally {
      for (const socket of sockets) socket.destroy();
      await capped.close();
    }
  });

  it("answers a message with the sender's next messages once its stage closes, in the same request; without `after`, with the stage alone", async () => {
    // A job of its own: the refusals above moved the clock past the other round's deadlines.
    const { jobId, document: doc } = await rig.publish({ rounds: 1 });
    const members = Array.from({ length: 4 }, (_, i) => new Contributor(rig.server.url, rig.clock.now, rig.enrollmentRef, `answer-${i}`));
    for (const m of members) await m.enroll(jobId);
    await rig.runner.tick();
    const adverts = await Promise.all(
      members.map(async (m) => {
        const info = await m.client.round(jobId, m.keys);
        if (info.state !== 'invited') throw new Error('not invited');
        const group = invitedGroup(info, { chainId: doc.chainId, jobId, minContributors: doc.minContributors });
        const secagg = await SecAggClient.create({ id: group.localId, signingKeys: m.keys, roster: group.members.map(fromHex), roundId: group.roundId });
        const setup = await m.client.inbox(jobId, info.round, m.keys, 0, 0);
        expect(setup.messages.map((x) => x.seq)).toEqual([1]);
        return secagg.handle(setup.messages[0]!.data)!;
      }),
    );
    const advertsIn = async () => (await rig.store.events(jobId, 0)).filter((e) => e.kind === 'message' && e.data![1] === MessageType.AdvertiseKeys).length;
    // Three ask for what follows their advert: their answers wait, since the stage waits for the fourth.
    let answered = 0;
    const waiting = members.slice(0, 3).map((m, i) => m.client.send(jobId, 0, m.keys, adverts[i]!, { after: 1, waitMs: 20_000 }).finally(() => answered++));
    await until(async () => (await advertsIn()) === 3, 10_000, 'three adverts in the log');
    expect(answered).toBe(0);
    // The fourth asks for nothing more: it is answered at once, with no messages.
    const fourth = await members[3]!.client.send(jobId, 0, members[3]!.keys, adverts[3]!);
    expect(fourth.messages).toEqual([]);
    // The fourth advert closes the stage: each waiting answer brings its neighbours' keys.
    for (const answer of await Promise.all(waiting)) {
      expect(answer.stage).toBe('share-keys');
      expect(answer.messages.map((x) => [x.seq, x.data[1]])).toEqual([[2, MessageType.NeighbourKeys]]);
    }
    // The fourth's wait in its inbox, where they are as well.
    const rest = await members[3]!.client.inbox(jobId, 0, members[3]!.keys, 1, 0);
    expect(rest.messages.map((x) => [x.seq, x.data[1]])).toEqual([[2, MessageType.NeighbourKeys]]);
  });
});
