// What the server can and cannot learn: with the shares honest clients legitimately reveal it can
// never unmask one client's input, and a server that asks for both kinds of shares of one client
// is refused.
import { describe, expect, it } from 'vitest';
import { isTroveError } from '../../../common/errors.js';
import { selfMaskKey } from '../../../common/secagg/keys.js';
import { subtractMask } from '../../../common/secagg/mask.js';
import { recommendedRoundParams, validateRoundParams } from '../../../common/secagg/params.js';
import { combineShares, type SharePoint } from '../../../common/secagg/shamir.js';
import { MaskStream } from '../../../common/secagg/sodium.js';
import { decodeMaskedInput, decodeUnmaskResponse, encodeUnmaskRequest, ShareKind } from '../../../common/secagg/wire.js';
import { makeRound, roundId } from './harness.js';

const N = 12;
const D = 64;

async function roundUpToUnmask(seed: number, dropAfterSharing: number[]) {
  const params = recommendedRoundParams({ roundId: roundId(seed), clientCount: N, vectorLength: D, clipRange: 1, neighbourCount: 8, threshold: 5 });
  const inputs = Array.from({ length: N }, (_, id) => Array.from({ length: D }, (_, i) => ((id * 31 + i * 17) % 100) / 100 - 0.5));
  const round = await makeRound(params, inputs);
  const { server, clients } = round;
  const deliver = (out: { to: number; message: Uint8Array }[], skip: number[] = []) => {
    const replies = new Map<number, Uint8Array>();
    for (const { to, message } of out) {
      if (skip.includes(to)) continue;
      const reply = clients[to]?.handle(message);
      if (reply) replies.set(to, reply);
    }
    return replies;
  };
  for (const r of deliver(server.start(0)).values()) server.receive(r);
  for (const r of deliver(server.advance(0)).values()) server.receive(r);
  const masked = deliver(server.advance(0), dropAfterSharing);
  for (const r of masked.values()) server.receive(r);
  const requests = server.advance(server.stageDeadline);
  return { params, round, masked, requests, deliver };
}

describe('what the server learns', () => {
  it('never receives both kinds of shares of any client, nor enough to strip a single mask', async () => {
    const dropped = [3, 8];
    const { params, masked, requests, deliver } = await roundUpToUnmask(1, dropped);
    const responses = deliver(requests);
    const seeds = new Map<number, SharePoint[]>();
    const keys = new Map<number, SharePoint[]>();
    for (const [holder, bytes] of responses) {
      for (const s of decodeUnmaskResponse(bytes, N).shares) {
        const table = s.kind === ShareKind.SelfMaskSeed ? seeds : keys;
        table.set(s.owner, [...(table.get(s.owner) ?? []), { x: holder + 1, y: s.share }]);
      }
    }
    for (let id = 0; id < N; id++) {
      // Survivors' self-mask seeds are revealed, dropped clients' mask keys: never both.
      expect(seeds.has(id) && keys.has(id)).toBe(false);
      expect(keys.has(id)).toBe(dropped.includes(id));
    }
    // Removing a survivor's self-mask still leaves its pairwise masks: the input stays hidden.
    const survivor = 0;
    const seed = combineShares(seeds.get(survivor) ?? [], params.threshold);
    const y = decodeMaskedInput(masked.get(survivor) ?? new Uint8Array(0), D).masked.slice();
    subtractMask(y, new MaskStream(), selfMaskKey(seed, params.roundId, survivor));
    const levels = 2 ** params.quantizationBits;
    const inRange = [...y].filter((v) => v < levels).length;
    // A quantized input would have every coordinate below 2^b; masked words almost never are.
    expect(inRange).toBeLessThan(4);
  });

  it('a server asking for both shares of one client is refused by honest clients', async () => {
    const { params, round, requests } = await roundUpToUnmask(2, []);
    const target = requests[0];
    if (!target) throw new Error('no request');
    const holder = round.clients[target.to];
    if (!holder) throw new Error('no client');
    const neighbour = round.server.neighboursOf(target.to)[0] ?? 0;
    const greedy = encodeUnmaskRequest(params.roundId, target.to, { survivorCount: N, survivors: [neighbour], dropped: [neighbour] });
    let caught: unknown;
    try {
      holder.handle(greedy);
    } catch (err) {
      caught = err;
    }
    expect(isTroveError(caught, 'SECAGG_UNSAFE_REQUEST')).toBe(true);
    // The client is still willing to answer a proper request, and only once.
    expect(holder.stage).toBe('collect-masked-inputs');
    expect(holder.handle(target.message)).toBeInstanceOf(Uint8Array);
    const after = encodeUnmaskRequest(params.roundId, target.to, { survivorCount: N, survivors: [], dropped: [neighbour] });
    expect(() => holder.handle(after)).toThrowError(/finished/);
  });

  it('a server splitting a client\'s neighbours between the two kinds cannot reach the threshold for both', async () => {
    const { params, round } = await roundUpToUnmask(3, []);
    const victim = 0;
    const holders = round.server.neighboursOf(victim);
    const half = Math.ceil(holders.length / 2);
    const seeds: SharePoint[] = [];
    const keys: SharePoint[] = [];
    holders.forEach((h, i) => {
      const asSurvivor = i < half;
      const message = encodeUnmaskRequest(params.roundId, h, {
        survivorCount: N,
        survivors: asSurvivor ? [victim] : [],
        dropped: asSurvivor ? [] : [victim],
      });
      const reply = round.clients[h]?.handle(message);
      for (const s of decodeUnmaskResponse(reply ?? new Uint8Array(0), N).shares) {
        (s.kind === ShareKind.SelfMaskSeed ? seeds : keys).push({ x: h + 1, y: s.share });
      }
    });
    // k = 8 and t = 5: at most one side of any split reaches 5 shares.
    expect(seeds.length >= params.threshold && keys.length >= params.threshold).toBe(false);
    expect(Math.min(seeds.length, keys.length)).toBeLessThan(params.threshold);
    // And parameters that would allow it (2t <= k) are refused outright.
    expect(() => validateRoundParams({ ...params, threshold: 4 })).toThrowError(/more than half/);
  });

  it('clients refuse to unmask when fewer than the minimum number of clients survived', async () => {
    const { params, round, requests } = await roundUpToUnmask(4, []);
    const target = requests[0];
    if (!target) throw new Error('no request');
    const tooFew = encodeUnmaskRequest(params.roundId, target.to, { survivorCount: params.minimumSurvivors - 1, survivors: [], dropped: [] });
    expect(() => round.clients[target.to]?.handle(tooFew)).toThrowError(/abandoned/);
    expect(round.clients[target.to]?.stage).toBe('aborted');
  });
});
