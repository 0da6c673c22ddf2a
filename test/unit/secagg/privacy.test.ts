// What the server can and cannot learn: with the shares honest clients legitimately reveal it can
// never unmask one client's input, and a client reveals only under the survivor set it signed.
import { describe, expect, it } from 'vitest';
import { isTroveError } from '../../../common/errors.js';
import { selfMaskKey } from '../../../common/secagg/keys.js';
import { subtractMask } from '../../../common/secagg/mask.js';
import { recommendedRoundParams } from '../../../common/secagg/params.js';
import { combineShares, type SharePoint } from '../../../common/secagg/shamir.js';
import { MaskStream } from '../../../common/secagg/sodium.js';
import { decodeMaskedInput, decodeUnmaskRequest, decodeUnmaskResponse, encodeConsistencyRequest, encodeUnmaskRequest, ShareKind } from '../../../common/secagg/wire.js';
import { makeRound, roundId } from './harness.js';

const N = 12;
const D = 64;

async function roundUpToUnmask(seed: number, dropAfterSharing: number[], signSurvivors = true) {
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
  const consistency = server.advance(server.stageDeadline);
  if (!signSurvivors) return { params, round, masked, consistency, requests: [], deliver };
  for (const r of deliver(consistency).values()) server.receive(r);
  const requests = server.advance(server.stageDeadline);
  return { params, round, masked, consistency, requests, deliver };
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

  it('a client answers only under the survivor set it signed, and only once', async () => {
    const { params, round, requests } = await roundUpToUnmask(2, []);
    const target = requests[0];
    if (!target) throw new Error('no request');
    const holder = round.clients[target.to];
    if (!holder) throw new Error('no client');
    const { request } = decodeUnmaskRequest(target.message, N, params.neighbourCount);
    // The same signatures, but a set that leaves out one of the holder's neighbours.
    const neighbour = round.server.neighboursOf(target.to)[0] ?? 0;
    const other = encodeUnmaskRequest(params.roundId, target.to, { ...request, survivors: request.survivors.filter((id) => id !== neighbour) });
    let caught: unknown;
    try {
      holder.handle(other);
    } catch (err) {
      caught = err;
    }
    expect(isTroveError(caught, 'SECAGG_SURVIVORS_UNCONFIRMED')).toBe(true);
    expect(holder.stage).toBe('aborted');
    expect(() => holder.handle(target.message)).toThrowError(/left/);
    // An untouched client answers the proper request once.
    const second = requests[1];
    if (!second) throw new Error('no request');
    expect(round.clients[second.to]?.handle(second.message)).toBeInstanceOf(Uint8Array);
    expect(() => round.clients[second.to]?.handle(second.message)).toThrowError(/finished/);
  });

  it('clients refuse to sign a survivor set smaller than the minimum', async () => {
    const { params, round, consistency } = await roundUpToUnmask(4, [], false);
    const target = consistency[0];
    if (!target) throw new Error('no request');
    const tooFew = [target.to, ...round.server.neighboursOf(target.to)].slice(0, params.minimumSurvivors - 1).sort((a, b) => a - b);
    let caught: unknown;
    try {
      round.clients[target.to]?.handle(encodeConsistencyRequest(params.roundId, target.to, tooFew));
    } catch (err) {
      caught = err;
    }
    expect(isTroveError(caught, 'SECAGG_SURVIVORS_UNCONFIRMED')).toBe(true);
    expect(round.clients[target.to]?.stage).toBe('aborted');
  });
});
