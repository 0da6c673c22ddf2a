// For random round shapes and dropout patterns, the unmasked sum equals the plain sum of the
// contributors' clipped inputs within the quantization bound, or the round aborts cleanly; and
// when every neighbourhood keeps at least t clients that never drop, the round must succeed.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { NeighbourGraph } from '../../../common/secagg/graph.js';
import { validateRoundParams, DEFAULT_DEADLINES, NO_MODEL, type RoundParams } from '../../../common/secagg/params.js';
import { loadSodium } from '../../../common/secagg/sodium.js';
import { makeRound, plainSum, roundId, runRound, type DropPoint } from './harness.js';

// Most clients finish; the rest go silent at a random stage.
const dropPoint = fc.oneof(
  { weight: 10, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom<DropPoint>('advertise-keys', 'share-keys', 'collect-masked-inputs', 'unmask') },
);

const roundShape = fc
  .record({
    n: fc.noBias(fc.integer({ min: 3, max: 14 })),
    kFraction: fc.noBias(fc.integer({ min: 0, max: 1000 })).map((x) => x / 1001),
    tFraction: fc.noBias(fc.integer({ min: 0, max: 1000 })).map((x) => x / 1001),
    d: fc.integer({ min: 1, max: 24 }),
    modulusBits: fc.integer({ min: 12, max: 32 }),
    clip: fc.double({ min: 0.01, max: 100, noNaN: true }),
    seed: fc.integer({ min: 0, max: 2 ** 31 }),
  })
  .map(({ n, kFraction, tFraction, d, modulusBits, clip, seed }) => {
    // k is even and below n - 1, or exactly n - 1 (full SecAgg).
    const evens = [...Array(n - 1).keys()].map((i) => i + 1).filter((k) => k % 2 === 0 && k < n - 1);
    const choices = [...evens, n - 1];
    // Lean towards wide neighbourhoods and low thresholds, where dropouts can be survived.
    const k = choices[Math.min(choices.length - 1, Math.floor(Math.sqrt(kFraction) * choices.length))] ?? n - 1;
    const tMin = Math.floor(k / 2) + 1;
    const t = tMin + Math.min(k - tMin, Math.floor(tFraction * tFraction * (k - tMin + 1)));
    const bits = Math.min(modulusBits - 1, Math.floor(Math.log2((2 ** modulusBits - 1) / n + 1)));
    const params: RoundParams = {
      roundId: roundId(seed),
      clientCount: n,
      neighbourCount: k,
      threshold: t,
      minimumSurvivors: t,
      vectorLength: d,
      clipRange: clip,
      quantizationBits: bits,
      modulusBits,
      deadlines: DEFAULT_DEADLINES,
      modelHash: NO_MODEL,
    };
    return validateRoundParams(params);
  });

const scenario = roundShape.chain((params) =>
  fc.record({
    params: fc.constant(params),
    drops: fc.array(dropPoint, { minLength: params.clientCount, maxLength: params.clientCount }),
    inputs: fc.array(fc.array(fc.double({ min: -200, max: 200, noNaN: true }), { minLength: params.vectorLength, maxLength: params.vectorLength }), {
      minLength: params.clientCount,
      maxLength: params.clientCount,
    }),
  }),
);

describe('secure aggregation properties', () => {
  it('unmasks the plain sum within the quantization bound, or aborts cleanly', async () => {
    await loadSodium();
    let finished = 0;
    let withDropouts = 0;
    await fc.assert(
      fc.asyncProperty(scenario, async ({ params, drops, inputs }) => {
        const round = await makeRound(params, inputs);
        const plan = new Map<number, DropPoint>();
        drops.forEach((d, id) => d && plan.set(id, d));
        runRound(round, plan);
        const { server } = round;
        const graph = new NeighbourGraph(params);
        const neverDrop = new Set([...Array(params.clientCount).keys()].filter((id) => !plan.has(id)));
        const safe = [...Array(params.clientCount).keys()].every(
          (id) => graph.neighbours(id).filter((v) => neverDrop.has(v)).length >= params.threshold,
        );
        if (safe) expect(server.stage).toBe('done');
        if (server.stage === 'aborted') {
          expect(server.abortError?.code).toBe('ROUND_ABORTED');
          expect(server.result).toBeUndefined();
          return;
        }
        expect(server.stage).toBe('done');
        finished++;
        if (plan.size > 0) withDropouts++;
        const result = server.result;
        if (!result) throw new Error('no result');
        // Exactly the clients that sent a masked input are in the sum.
        for (const id of result.contributors) {
          const drop = plan.get(id);
          expect(drop === undefined || drop === 'unmask').toBe(true);
        }
        const expected = plainSum(inputs, result.contributors, params.clipRange);
        const slack = 1e-9 * params.clipRange * params.clientCount;
        for (let i = 0; i < params.vectorLength; i++) {
          expect(Math.abs((result.sum[i] ?? 0) - (expected[i] ?? 0))).toBeLessThanOrEqual(result.errorBound + slack);
        }
      }),
      { numRuns: 100 },
    );
    // The generator must exercise real dropouts, not only aborts or clean rounds.
    expect(finished).toBeGreaterThan(30);
    expect(withDropouts).toBeGreaterThan(10);
  });
});
