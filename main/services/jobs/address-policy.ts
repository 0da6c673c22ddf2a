// Where the app may send a request on a researcher's say-so. Job documents and coordinators are
// addresses a researcher chose, so without a policy every Trove install would send requests to
// services on the person's own machine or network. An address is refused when it is loopback,
// link-local, private, shared, multicast or reserved — checked after DNS resolution (every address
// a name resolves to) and again for every redirect — unless the developer setting
// allowLocalNetwork is on (the demo and the tests run everything on loopback).
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { TroveError } from '../../../common/errors.js';

export interface AddressPolicy {
  /** Developer setting: allow loopback and local-network addresses (off by default). */
  allowLocalNetwork: boolean;
  /** Resolves a host name to its addresses (tests inject one; default: the system resolver). */
  lookup?: (host: string) => Promise<string[]>;
}

/** Ranges never reached on a researcher's say-so (IANA special-purpose registries, RFC 6890). */
const FORBIDDEN = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  FORBIDDEN.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  // IPv4-compatible (deprecated) and NAT64 forms embed an IPv4 address; refused whole.
  ['::', 96],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['3fff::', 20],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  FORBIDDEN.addSubnet(net, prefix, 'ipv6');
}

/**
 * The policy's decision for one IP address (IPv4, IPv6, or IPv4-mapped IPv6): null when it may
 * be reached, otherwise why not. Only global unicast addresses are allowed.
 */
export function addressRefusal(address: string): string | null {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 0) return 'it is not an IP address';
  if (family === 6) {
    // IPv4-mapped (::ffff:a.b.c.d or ::ffff:xxxx:xxxx): decided as the IPv4 address it maps to.
    const mapped = /^::ffff:(?:0:)?(.+)$/i.exec(bare);
    if (mapped) {
      const v4 = mappedIPv4(mapped[1]!);
      if (v4 === null) return 'it is not an IP address';
      return addressRefusal(v4);
    }
    if (!/^[23]/i.test(expandIPv6First(bare))) return 'it is not a public internet address';
  }
  return FORBIDDEN.check(bare, family === 4 ? 'ipv4' : 'ipv6') ? 'it is on this computer, a local network or a reserved range' : null;
}

function mappedIPv4(tail: string): string | null {
  if (isIP(tail) === 4) return tail;
  const m = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(tail);
  if (!m) return null;
  const hi = parseInt(m[1]!, 16);
  const lo = parseInt(m[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** The first group of an IPv6 address, four hex digits ("" for one starting with "::"). */
function expandIPv6First(address: string): string {
  if (address.startsWith('::')) return '0000';
  return address.split(':')[0]!.padStart(4, '0');
}

async function systemLookup(host: string): Promise<string[]> {
  const found = await dnsLookup(host, { all: true, verbatim: true });
  return found.map((a) => a.address);
}

/**
 * Throws ADDRESS_NOT_ALLOWED when `url`'s host is, or resolves to, an address the policy refuses;
 * COORDINATOR_UNREACHABLE when the name does not resolve. `what` names the request for the person.
 */
export async function checkUrlAllowed(url: URL, policy: AddressPolicy, what: string): Promise<void> {
  if (policy.allowLocalNetwork) return;
  // The URL parser has already turned decimal, octal and hex IPv4 forms into dotted decimal.
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (isIP(host) !== 0) addresses = [host];
  else {
    try {
      addresses = await (policy.lookup ?? systemLookup)(host);
    } catch (err) {
      throw new TroveError('COORDINATOR_UNREACHABLE', `${what} at ${url.host} cannot be found right now.`, undefined, { cause: err });
    }
  }
  for (const address of addresses) {
    const refusal = addressRefusal(address);
    if (refusal !== null) {
      throw new TroveError(
        'ADDRESS_NOT_ALLOWED',
        `Trove did not contact ${what} at ${url.host}: ${refusal}. A job may only use public internet addresses.`,
        { host: url.host, address },
      );
    }
  }
}

/** Redirects followed at most, each one checked like the first address. */
export const MAX_REDIRECTS = 3;

/**
 * `fetch` under the policy: the address of every request is checked before it is sent, and
 * redirects are followed by hand so each new address is checked too.
 */
export function policyFetch(inner: typeof fetch, policy: AddressPolicy, what: string): typeof fetch {
  return async (input, init) => {
    let url = new URL(input instanceof Request ? input.url : String(input));
    for (let hop = 0; ; hop++) {
      await checkUrlAllowed(url, policy, what);
      const res = await inner(url, { ...init, redirect: 'manual' });
      const location = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || location === null) return res;
      await res.body?.cancel();
      const method = (init?.method ?? 'GET').toUpperCase();
      if (init?.redirect === 'error' || method !== 'GET' || hop >= MAX_REDIRECTS) {
        throw new TroveError('COORDINATOR_PROTOCOL', `${what} at ${url.host} answered with a redirect Trove does not follow.`, { status: res.status });
      }
      const next = new URL(location, url);
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new TroveError('ADDRESS_NOT_ALLOWED', `${what} redirected to a ${next.protocol} address, which Trove does not fetch.`);
      }
      url = next;
    }
  };
}
