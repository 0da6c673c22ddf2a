// Malformed and hostile messages are rejected with typed errors, leave the receiver's state as it
// was, and never produce a crash or a wrong sum.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isTroveError, type TroveErrorCode } from '../../../common/errors.js';
import { SecAggClient } from '../../../common/secagg/client.js';
import { signMessage } from '../../../common/secagg/keys.js';
import { recommendedRoundParams, type RoundParams } from '../../../common/secagg/params.js';
import type { Outgoing } from '../../../common/secagg/server.js';
import {
  decodeEncryptedShares,
  decodeForwardedShares,
  encodeEncryptedShares,
  encodeSetup,
  HEADER_BYTES,
} from '../../../common/secagg/wire.js';
import { makeRound, plainSum, roundId, type RoundSetup } from './harness.js';

function expectCode(fn: () => unknown, code: TroveErrorCode): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isTroveError(caught) ? caught.code : caught).toBe(code);
}

function withRound(bytes: Uint8Array, id: Uint8Array): Uint8Array {
  const copy = bytes.slice();
  copy.set(id, 4);
  return copy;
}

function inputsFor(n: number, d: number): number[][] {
  return Array.from({ length: n }, (_, id) => Array.from({ length: d }, (_, i) => Math.sin(id * 7 + i) * 0.9));
}

/** Drives a round stage by stage so tests can interfere between deliveries. */
class Driver {
  constructor(readonly round: RoundSetup) {}
  get server() {
    return this.round.server;
  }
  client(id: number): SecAggClient {
    const c = this.round.clients[id];
    if (!c) throw new Error('no client');
    return c;
  }
  /** Delivers server messages to clients and returns their replies by client id. */
  deliver(outgoing: Outgoing[]): Map<number, Uint8Array> {
    const replies = new Map<number, Uint8Array>();
    for (const { to, message } of outgoing) {
      const reply = this.client(to).handle(message);
      if (reply) replies.set(to, reply);
    }
    return replies;
  }
  submit(replies: Map<number, Uint8Array>): void {
    for (const reply of replies.values()) this.server.receive(reply);
  }
}

async function driver(params: RoundParams, inputs: number[][]): Promise<Driver> {
  return new Driver(await makeRound(params, inputs));
}

const N = 10;
const D = 8;
const params = (seed: number): RoundParams =>
  recommendedRoundParams({ roundId: roundId(seed), clientCount: N, vectorLength: D, clipRange: 1, neighbourCount: 6, threshold: 4 });

function finishAndCheck(drv: Driver, inputs: number[][], outgoing: Outgoing[]): void {
  let out = outgoing;
  while (drv.server.stage !== 'done' && drv.server.stage !== 'aborted') {
    drv.submit(drv.deliver(out));
    out = drv.server.advance(0);
  }
  const result = drv.server.result;
  expect(drv.server.stage).toBe('done');
  if (!result) throw new Error('no result');
  const expected = plainSum(inputs, result.contributors, 1);
  result.sum.forEach((v, i) => expect(Math.abs(v - (expected[i] ?? 0))).toBeLessThanOrEqual(result.errorBound));
}

describe('the server rejects hostile client messages', () => {
  it('refuses wrong lengths, bad versions and garbage with SECAGG_MALFORMED', async () => {
    const inputs = inputsFor(N, D);
    const drv = await driver(params(1), inputs);
    const adverts = drv.deliver(drv.server.start(0));
    const advert = adverts.get(0) ?? new Uint8Array(0);
    expectCode(() => drv.server.receive(advert.subarray(0, advert.length - 1)), 'SECAGG_MALFORMED');
    expectCode(() => drv.server.receive(new Uint8Array([...advert, 0])), 'SECAGG_MALFORMED');
    expectCode(() => drv.server.receive(new Uint8Array(0)), 'SECAGG_MALFORMED');
    expectCode(() => drv.server.receive(new Uint8Array(10)), 'SECAGG_MALFORMED');
    const badVersion = advert.slice();
    badVersion[0] = 1;
    expectCode(() => drv.server.receive(badVersion), 'SECAGG_MALFORMED');
    const uninvited = advert.slice();
    new DataView(uninvited.buffer).setUint32(20, N + 5, true);
    expectCode(() => drv.server.receive(uninvited), 'SECAGG_MALFORMED');
    drv.submit(adverts);
    finishAndCheck(drv, inputs, drv.server.advance(0));
  });

  it('refuses unsigned, forged and tampered messages with SECAGG_BAD_SIGNATURE', async () => {
    const inputs = inputsFor(N, D);
    const drv = await driver(params(2), inputs);
    const adverts = drv.deliver(drv.server.start(0));
    const advert = adverts.get(3) ?? new Uint8Array(0);
    const unsigned = advert.slice();
    unsigned.fill(0, unsigned.length - 64);
    expectCode(() => drv.server.receive(unsigned), 'SECAGG_BAD_SIGNATURE');
    // Client 4 signs a message that claims to come from client 3.
    const forged = advert.slice();
    signMessage(forged, drv.round.signing[4]?.secretKey ?? new Uint8Array(64));
    expectCode(() => drv.server.receive(forged), 'SECAGG_BAD_SIGNATURE');
    drv.submit(adverts);
    const shares = drv.deliver(drv.server.advance(0));
    drv.submit(shares);
    const masked = drv.deliver(drv.server.advance(0));
    const tampered = (masked.get(5) ?? new Uint8Array(0)).slice();
    tampered[HEADER_BYTES + 4 + 3] = (tampered[HEADER_BYTES + 4 + 3] ?? 0) ^ 1;
    expectCode(() => drv.server.receive(tampered), 'SECAGG_BAD_SIGNATURE');
    drv.submit(masked);
    finishAndCheck(drv, inputs, drv.server.advance(0));
  });

  it('refuses replays, late messages and messages for another round', async () => {
    const inputs = inputsFor(N, D);
    const drv = await driver(params(3), inputs);
    const adverts = drv.deliver(drv.server.start(0));
    const advert = adverts.get(1) ?? new Uint8Array(0);
    drv.server.receive(advert);
    expectCode(() => drv.server.receive(advert), 'SECAGG_REPLAY');
    expectCode(() => drv.server.receive(withRound(advert, roundId(999))), 'SECAGG_WRONG_ROUND');
    adverts.delete(1);
    drv.submit(adverts);
    const shares = drv.deliver(drv.server.advance(0));
    // The advertisement again, now that the stage is closed.
    expectCode(() => drv.server.receive(advert), 'SECAGG_REPLAY');
    drv.submit(shares);
    const masked = drv.deliver(drv.server.advance(0));
    const first = masked.get(0) ?? new Uint8Array(0);
    drv.server.receive(first);
    expectCode(() => drv.server.receive(first), 'SECAGG_REPLAY');
    masked.delete(0);
    drv.submit(masked);
    finishAndCheck(drv, inputs, drv.server.advance(0));
  });

  it('refuses shares addressed to a client that is not a neighbour', async () => {
    const inputs = inputsFor(N, D);
    const drv = await driver(params(4), inputs);
    drv.submit(drv.deliver(drv.server.start(0)));
    const shares = drv.deliver(drv.server.advance(0));
    const sender = 2;
    const { envelopes } = decodeEncryptedShares(shares.get(sender) ?? new Uint8Array(0), N);
    const stranger = [...Array(N).keys()].find((v) => v !== sender && !drv.server.neighboursOf(sender).includes(v)) ?? 0;
    const hostile = encodeEncryptedShares(params(4).roundId, sender, [...envelopes.slice(1), { peer: stranger, ciphertext: envelopes[0]?.ciphertext ?? new Uint8Array(0) }]);
    signMessage(hostile, drv.round.signing[sender]?.secretKey ?? new Uint8Array(64));
    expectCode(() => drv.server.receive(hostile), 'SECAGG_NOT_NEIGHBOUR');
    // Leaving out a neighbour would make two neighbours disagree about their mask: refused too.
    const partial = encodeEncryptedShares(params(4).roundId, sender, envelopes.slice(1));
    signMessage(partial, drv.round.signing[sender]?.secretKey ?? new Uint8Array(64));
    expectCode(() => drv.server.receive(partial), 'SECAGG_MALFORMED');
    drv.submit(shares);
    finishAndCheck(drv, inputs, drv.server.advance(0));
  });
});

describe('an honest client rejects hostile server messages', () => {
  it('refuses keys from a non-neighbour, forged keys, and replays', async () => {
    const inputs = inputsFor(N, D);
    const drv = await driver(params(5), inputs);
    const adverts = drv.deliver(drv.server.start(0));
    drv.submit(adverts);
    const neighbourKeys = drv.server.advance(0);
    const target = neighbourKeys[0];
    if (!target) throw new Error('no message');
    const client = drv.client(target.to);
    const stranger = [...Array(N).keys()].find((v) => v !== target.to && !drv.server.neighboursOf(target.to).includes(v)) ?? 0;
    // Replace the first advertisement with a validly signed one from a non-neighbour.
    const swapped = target.message.slice();
    swapped.set(adverts.get(stranger) ?? new Uint8Array(0), HEADER_BYTES + 4);
    expectCode(() => client.handle(swapped), 'SECAGG_NOT_NEIGHBOUR');
    const forged = target.message.slice();
    forged[HEADER_BYTES + 4 + HEADER_BYTES + 5] = (forged[HEADER_BYTES + 4 + HEADER_BYTES + 5] ?? 0) ^ 0xff;
    expectCode(() => client.handle(forged), 'SECAGG_BAD_SIGNATURE');
    const elsewhere = target.message.slice();
    new DataView(elsewhere.buffer).setUint32(20, (target.to + 1) % N, true);
    expectCode(() => client.handle(elsewhere), 'SECAGG_MALFORMED');
    expectCode(() => client.handle(withRound(target.message, roundId(77))), 'SECAGG_WRONG_ROUND');
    expect(client.stage).toBe('advertise-keys');
    const shares = drv.deliver(neighbourKeys);
    expectCode(() => client.handle(target.message), 'SECAGG_REPLAY');
    drv.submit(shares);
    finishAndCheck(drv, inputs, drv.server.advance(0));
  });

  it('refuses shares for the wrong round or recipient, which cannot be authenticated', async () => {
    const inputs = inputsFor(N, D);
    const a = await driver(params(6), inputs);
    const b = await driver({ ...params(7), roundId: roundId(7) }, inputs);
    for (const drv of [a, b]) {
      drv.submit(drv.deliver(drv.server.start(0)));
      drv.submit(drv.deliver(drv.server.advance(0)));
    }
    const forwardedA = a.server.advance(0);
    const forwardedB = b.server.advance(0);
    const msgA = forwardedA.find((o) => o.to === 0)?.message ?? new Uint8Array(0);
    const msgB = forwardedB.find((o) => o.to === 0)?.message ?? new Uint8Array(0);
    const clientB = b.client(0);
    expectCode(() => clientB.handle(msgA), 'SECAGG_WRONG_ROUND');
    // Round A's shares relabelled as round B's still cannot be opened in round B.
    const relabelled = withRound(msgA, roundId(7));
    const sendersB = decodeForwardedShares(msgB, N).envelopes.map((e) => e.peer);
    const sendersA = decodeForwardedShares(msgA, N).envelopes.map((e) => e.peer);
    const code = sendersA.every((s) => sendersB.includes(s)) ? 'SECAGG_BAD_SIGNATURE' : 'SECAGG_NOT_NEIGHBOUR';
    expectCode(() => clientB.handle(relabelled), code);
    // A share sent to another holder, forwarded to this one.
    const other = forwardedB.find((o) => o.to === 1)?.message ?? new Uint8Array(0);
    const misrouted = other.slice();
    new DataView(misrouted.buffer).setUint32(20, 0, true);
    const otherSenders = decodeForwardedShares(other, N).envelopes.map((e) => e.peer);
    expectCode(() => clientB.handle(misrouted), otherSenders.every((s) => sendersB.includes(s)) ? 'SECAGG_BAD_SIGNATURE' : 'SECAGG_NOT_NEIGHBOUR');
    expect(clientB.stage).toBe('share-keys');
    finishAndCheck(b, inputs, forwardedB);
  });

  it('refuses a setup whose threshold would let the server collect both kinds of shares', async () => {
    const unsafe = { ...params(8), threshold: 3 };
    const drv = await driver(params(8), inputsFor(N, D));
    expectCode(() => drv.client(0).handle(encodeSetup(unsafe, 0)), 'INVALID_INPUT');
    expect(drv.client(0).stage).toBe('setup');
  });
});

describe('fuzzed messages', () => {
  it('are rejected with a typed error and the round still sums correctly', async () => {
    const inputs = inputsFor(N, D);
    const mutation = fc.record({
      kind: fc.constantFrom('flip', 'truncate', 'extend'),
      at: fc.nat(),
      bit: fc.integer({ min: 0, max: 7 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 4 }), fc.array(mutation, { minLength: 1, maxLength: 6 }), async (stage, mutations) => {
        const drv = await driver(params(100 + stage), inputs);
        let out = drv.server.start(0);
        for (let s = 0; s < 5; s++) {
          const replies = drv.deliver(out);
          if (s === stage) {
            // Mutate client replies (for the server) and server messages (for the clients).
            for (const m of mutations) {
              for (const bytes of [...replies.values()].slice(0, 2)) {
                const mutated = mutate(bytes, m);
                expectRejected(() => drv.server.receive(mutated));
              }
              // Keys and shares are authenticated end to end, so any change to them is caught. (The
              // survivor set is the server's word until the survivors sign it: consistency.test.ts
              // covers a server that lies about it.)
              const next = out[m.at % out.length];
              if (next && (s === 1 || s === 2)) expectRejected(() => drv.client(next.to).handle(mutate(next.message, m)));
            }
          }
          drv.submit(replies);
          out = drv.server.advance(0);
          if (drv.server.stage === 'done') break;
        }
        expect(drv.server.stage).toBe('done');
        const result = drv.server.result;
        if (!result) throw new Error('no result');
        const expected = plainSum(inputs, result.contributors, 1);
        result.sum.forEach((v, i) => expect(Math.abs(v - (expected[i] ?? 0))).toBeLessThanOrEqual(result.errorBound));
      }),
      { numRuns: 24 },
    );
  });
});

function mutate(bytes: Uint8Array, m: { kind: string; at: number; bit: number }): Uint8Array {
  if (m.kind === 'truncate') return bytes.slice(0, m.at % bytes.length);
  if (m.kind === 'extend') return new Uint8Array([...bytes, m.at & 0xff]);
  const copy = bytes.slice();
  const i = m.at % copy.length;
  copy[i] = (copy[i] ?? 0) ^ (1 << m.bit);
  return copy;
}

function expectRejected(fn: () => unknown): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(isTroveError(caught)).toBe(true);
}
