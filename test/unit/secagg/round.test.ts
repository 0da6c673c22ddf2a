import { describe, expect, it } from 'vitest';
import { recommendedRoundParams } from '../../../common/secagg/params.js';
import { makeRound, plainSum, roundId, runRound, type DropPoint } from './harness.js';

function randomInputs(n: number, d: number, scale = 1): Float64Array[] {
  return Array.from({ length: n }, () => Float64Array.from({ length: d }, () => (Math.random() * 2 - 1) * scale));
}

describe('secure aggregation round', () => {
  it('reveals the exact sum when every client finishes', async () => {
    const params = recommendedRoundParams({ roundId: roundId(1), clientCount: 12, vectorLength: 50, clipRange: 1 });
    const inputs = randomInputs(12, 50);
    const round = await makeRound(params, inputs);
    runRound(round);
    const result = round.server.result;
    expect(round.server.stage).toBe('done');
    expect(result?.contributors).toEqual([...Array(12).keys()]);
    const expected = plainSum(inputs, result?.contributors ?? [], 1);
    result?.sum.forEach((v, i) => expect(Math.abs(v - (expected[i] ?? 0))).toBeLessThanOrEqual(result.errorBound));
    expect(round.clients.every((c) => c.stage === 'done')).toBe(true);
  });

  it('survives dropouts at every stage and sums exactly the survivors', async () => {
    const n = 20;
    const params = recommendedRoundParams({ roundId: roundId(2), clientCount: n, vectorLength: 30, clipRange: 2, neighbourCount: 10, threshold: 6 });
    const inputs = randomInputs(n, 30, 3);
    const round = await makeRound(params, inputs);
    const drops = new Map<number, DropPoint>([
      [0, 'advertise-keys'],
      [5, 'share-keys'],
      [9, 'collect-masked-inputs'],
      [13, 'unmask'],
    ]);
    runRound(round, drops);
    const result = round.server.result;
    expect(round.server.stage).toBe('done');
    // Client 13 sent its masked input before going silent: it is in the sum.
    expect(result?.contributors).toEqual([...Array(n).keys()].filter((i) => ![0, 5, 9].includes(i)));
    const expected = plainSum(inputs, result?.contributors ?? [], 2);
    result?.sum.forEach((v, i) => expect(Math.abs(v - (expected[i] ?? 0))).toBeLessThanOrEqual(result.errorBound));
  });
});
