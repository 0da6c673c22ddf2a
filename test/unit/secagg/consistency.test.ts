// A coordinator that lies about who survived. Each attack runs against the real client code: with
// the consistency check the clients refuse with SECAGG_SURVIVORS_UNCONFIRMED and the victim's input
// stays hidden; the positive control runs the same attack with the check replaced by a no-op and
// reads the victim's input, so the test would see the leak if the check were gone.
import { describe, expect, it } from 'vitest';
import { isTroveError } from '../../../common/errors.js';
import { pairMaskKey, selfMaskKey } from '../../../common/secagg/keys.js';
import { addMask, reduceModulo, subtractMask } from '../../../common/secagg/mask.js';
import { recommendedRoundParams, type RoundParams } from '../../../common/secagg/params.js';
import { dequantizeSum, quantizationErrorBound } from '../../../common/secagg/quantize.js';
import { combineShares, type SharePoint } from '../../../common/secagg/shamir.js';
import { MaskStream } from '../../../common/secagg/sodium.js';
import {
  decodeAdvertiseKeys,
  decodeConsistencySignature,
  decodeMaskedInput,
  decodeUnmaskResponse,
  encodeConsistencyRequest,
  encodeUnmaskRequest,
  ShareKind,
  type SurvivorSignature,
} from '../../../common/secagg/wire.js';
import { makeRound, roundId, type RoundSetup } from './harness.js';

const D = 16;

function inputsFor(n: number): number[][] {
  return Array.from({ length: n }, (_, id) => Array.from({ length: D }, (_, i) => Math.sin(id * 13 + i * 3) * 0.8));
}

/** Runs a round honestly up to the masked inputs; returns what the coordinator holds then. */
async function roundUpToMaskedInputs(params: RoundParams, checked: boolean): Promise<{ round: RoundSetup; masked: Map<number, Uint32Array>; maskKeys: Map<number, Uint8Array> }> {
  const round = await makeRound(params, inputsFor(params.clientCount), checked ? {} : { checkSurvivors: () => undefined });
  const { server, clients } = round;
  const masked = new Map<number, Uint32Array>();
  const maskKeys = new Map<number, Uint8Array>();
  let out = server.start(0);
  for (let stage = 0; stage < 3; stage++) {
    for (const { to, message } of out) {
      const reply = clients[to]?.handle(message);
      if (!reply) continue;
      if (stage === 0) maskKeys.set(to, decodeAdvertiseKeys(reply).keys.maskPublicKey);
      if (stage === 2) masked.set(to, decodeMaskedInput(reply, D).masked.slice());
      server.receive(reply);
    }
    if (stage < 2) out = server.advance(0);
  }
  return { round, masked, maskKeys };
}

interface Outcome {
  refused: Map<number, string>;
  seedShares: Map<number, SharePoint[]>;
  keyShares: Map<number, SharePoint[]>;
}

/**
 * Plays the coordinator: shows client x the survivor set views(x), forwards every signature it
 * collected on that same set, and gathers whatever shares come back.
 */
function lieAboutSurvivors(round: RoundSetup, params: RoundParams, views: (x: number) => number[]): Outcome {
  const n = params.clientCount;
  const refused = new Map<number, string>();
  const signed = new Map<number, { set: string; signature: Uint8Array }>();
  const attempt = (x: number, message: Uint8Array): Uint8Array | undefined => {
    try {
      return round.clients[x]?.handle(message);
    } catch (err) {
      if (!isTroveError(err)) throw err;
      refused.set(x, err.code);
      return undefined;
    }
  };
  for (let x = 0; x < n; x++) {
    const reply = attempt(x, encodeConsistencyRequest(params.roundId, x, views(x)));
    if (reply) signed.set(x, { set: views(x).join(','), signature: decodeConsistencySignature(reply).setSignature });
  }
  const seedShares = new Map<number, SharePoint[]>();
  const keyShares = new Map<number, SharePoint[]>();
  for (const x of signed.keys()) {
    const set = views(x);
    const signatures: SurvivorSignature[] = [...signed]
      .filter(([signer, s]) => signer !== x && s.set === set.join(',') && round.server.neighboursOf(x).includes(signer))
      .map(([signer, s]) => ({ signer, signature: s.signature }));
    const reply = attempt(x, encodeUnmaskRequest(params.roundId, x, { survivors: set, signatures }));
    if (!reply) continue;
    for (const s of decodeUnmaskResponse(reply, n).shares) {
      const table = s.kind === ShareKind.SelfMaskSeed ? seedShares : keyShares;
      table.set(s.owner, [...(table.get(s.owner) ?? []), { x: x + 1, y: s.share.slice() }]);
    }
  }
  return { refused, seedShares, keyShares };
}

/** The coordinator's attempt to strip every mask from the victim's input; undefined when it cannot. */
function readVictim(params: RoundParams, victim: number, neighbours: number[], outcome: Outcome, masked: Map<number, Uint32Array>, maskKeys: Map<number, Uint8Array>): Float64Array | undefined {
  const t = params.threshold;
  const seeds = outcome.seedShares.get(victim) ?? [];
  if (seeds.length < t || neighbours.some((u) => (outcome.keyShares.get(u)?.length ?? 0) < t)) return undefined;
  const y = (masked.get(victim) ?? new Uint32Array(D)).slice();
  const stream = new MaskStream();
  subtractMask(y, stream, selfMaskKey(combineShares(seeds, t), params.roundId, victim));
  for (const u of neighbours) {
    const secret = combineShares(outcome.keyShares.get(u) ?? [], t, false);
    const key = pairMaskKey(secret, maskKeys.get(victim) ?? new Uint8Array(32), params.roundId, u, victim);
    // The victim added the pair's mask when its id is the lower one, and subtracted it otherwise.
    if (victim < u) subtractMask(y, stream, key);
    else addMask(y, stream, key);
  }
  stream.dispose();
  reduceModulo(y, params.modulusBits);
  return dequantizeSum(y, params, 1);
}

function expectClose(read: Float64Array | undefined, truth: number[], bound: number): void {
  expect(read).toBeDefined();
  truth.forEach((v, i) => expect(Math.abs((read?.[i] ?? Infinity) - v)).toBeLessThanOrEqual(bound));
}

describe('false dropouts that isolate one victim', () => {
  for (const n of [4, 12, 40]) {
    const params = recommendedRoundParams({ roundId: roundId(1100 + n), clientCount: n, vectorLength: D, clipRange: 1 });
    const victim = 0;
    // Every client is told that the victim survived and that the victim's other neighbours dropped:
    // the victim's neighbours reveal its self-mask, everyone reveals the mask keys of its neighbours.
    const views = (graph: number[]) => (x: number) => Array.from({ length: n }, (_, id) => id).filter((id) => id === x || !graph.includes(id));

    it(`n = ${n}: every neighbour of the victim refuses, and its input stays hidden`, async () => {
      const { round, masked, maskKeys } = await roundUpToMaskedInputs(params, true);
      const neighbours = round.server.neighboursOf(victim);
      const outcome = lieAboutSurvivors(round, params, views(neighbours));
      for (const u of neighbours) expect(outcome.refused.get(u)).toBe('SECAGG_SURVIVORS_UNCONFIRMED');
      expect(outcome.seedShares.get(victim)?.length ?? 0).toBe(0);
      expect(readVictim(params, victim, neighbours, outcome, masked, maskKeys)).toBeUndefined();
      // No client anywhere gave up both kinds of share of one client.
      for (let id = 0; id < n; id++) expect(outcome.seedShares.has(id) && outcome.keyShares.has(id)).toBe(false);
    });

    it(`n = ${n}, positive control: without the check the coordinator reads the victim's input`, async () => {
      const { round, masked, maskKeys } = await roundUpToMaskedInputs(params, false);
      const neighbours = round.server.neighboursOf(victim);
      const outcome = lieAboutSurvivors(round, params, views(neighbours));
      expect(outcome.refused.size).toBe(0);
      const truth = (inputsFor(n)[victim] ?? []).map((v) => Math.max(-1, Math.min(1, v)));
      expectClose(readVictim(params, victim, neighbours, outcome, masked, maskKeys), truth, quantizationErrorBound(params, 1));
    });
  }
});

describe('a survivor set that differs between clients', () => {
  const n = 12;
  const params = recommendedRoundParams({ roundId: roundId(1200), clientCount: n, vectorLength: D, clipRange: 1 });
  const target = 5;
  // Half of the clients are told everyone survived, the other half that the target dropped.
  const all = Array.from({ length: n }, (_, id) => id);
  const told = (x: number) => (x % 2 === 0 || x === target ? all : all.filter((id) => id !== target));

  it('the clients shown the minority set refuse; no client gives up both kinds of one client\'s shares', async () => {
    const { round } = await roundUpToMaskedInputs(params, true);
    const outcome = lieAboutSurvivors(round, params, told);
    const minority = all.filter((x) => told(x) !== all);
    for (const x of minority) expect(outcome.refused.get(x)).toBe('SECAGG_SURVIVORS_UNCONFIRMED');
    for (let id = 0; id < n; id++) expect(outcome.seedShares.has(id) && outcome.keyShares.has(id)).toBe(false);
  });

  it('positive control: without the check both kinds of the target\'s shares leave honest hands', async () => {
    const { round } = await roundUpToMaskedInputs(params, false);
    const outcome = lieAboutSurvivors(round, params, told);
    expect(outcome.refused.size).toBe(0);
    expect(outcome.seedShares.get(target)?.length ?? 0).toBeGreaterThan(0);
    expect(outcome.keyShares.get(target)?.length ?? 0).toBeGreaterThan(0);
  });
});
