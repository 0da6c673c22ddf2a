import { describe, expect, it } from 'vitest';
import { privatizeUpdate } from '../../../common/dp/noise.js';
import { weightedInput, weightedMeanFromSum } from '../../../common/secagg/fedavg.js';
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

  it('waits for every client until the stage deadline, then closes the stage with those who answered', async () => {
    const params = recommendedRoundParams({
      roundId: roundId(3),
      clientCount: 8,
      vectorLength: 4,
      clipRange: 1,
      deadlines: { advertiseKeysMs: 1000 },
    });
    const round = await makeRound(params, randomInputs(8, 4));
    const { server, clients } = round;
    const setup = server.start(5000);
    expect(server.stageDeadline).toBe(6000);
    for (const { to, message } of setup.slice(1)) {
      const reply = clients[to]?.handle(message);
      if (reply) server.receive(reply);
    }
    expect(server.waitingFor).toEqual([0]);
    expect(server.canAdvance(5999)).toBe(false);
    expect(server.advance(5999)).toEqual([]);
    expect(server.stage).toBe('advertise-keys');
    const next = server.advance(6000);
    expect(server.stage).toBe('share-keys');
    expect(next.map((o) => o.to)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // The late client is no longer part of the round.
    const late = clients[0]?.handle(setup[0]?.message ?? new Uint8Array(0));
    expect(() => server.receive(late ?? new Uint8Array(0))).toThrowError(/after that stage closed/);
  });

  it('computes the example-weighted FedAvg mean of noised, clipped updates', async () => {
    const n = 10;
    const d = 20;
    const clip = 1;
    const maxExamples = 1000;
    const params = recommendedRoundParams({ roundId: roundId(4), clientCount: n, vectorLength: d + 1, clipRange: clip, minimumSurvivors: 8 });
    const examples = Array.from({ length: n }, (_, i) => 100 * (i + 1));
    const updates = randomInputs(n, d, 0.2).map((u) => privatizeUpdate(u, { clipNorm: 0.5, noiseMultiplier: 0.5, minContributors: params.minimumSurvivors }));
    const inputs = updates.map((u, i) => weightedInput(u, examples[i] ?? 0, maxExamples, clip));
    const round = await makeRound(params, inputs);
    runRound(round);
    const result = round.server.result;
    if (!result) throw new Error('no result');
    const { mean, totalExamples } = weightedMeanFromSum(result.sum, maxExamples, clip);
    const total = examples.reduce((a, b) => a + b, 0);
    expect(Math.abs(totalExamples - total)).toBeLessThan(result.errorBound * maxExamples + 1e-6);
    for (let j = 0; j < d; j++) {
      const expected = updates.reduce((acc, u, i) => acc + Math.max(-clip, Math.min(clip, u[j] ?? 0)) * (examples[i] ?? 0), 0) / total;
      expect(Math.abs((mean[j] ?? 0) - expected)).toBeLessThan(1e-4);
    }
  });

  it('aborts cleanly below the threshold and tells the remaining clients', async () => {
    const params = recommendedRoundParams({ roundId: roundId(5), clientCount: 8, vectorLength: 4, clipRange: 1, neighbourCount: 4, threshold: 3 });
    const round = await makeRound(params, randomInputs(8, 4));
    const drops = new Map<number, DropPoint>([0, 1, 2, 3, 4, 5].map((id) => [id, 'advertise-keys']));
    const last = runRound(round, drops);
    expect(round.server.stage).toBe('aborted');
    expect(round.server.abortError?.code).toBe('ROUND_ABORTED');
    expect(round.server.result).toBeUndefined();
    expect(last.map((o) => o.to)).toEqual([6, 7]);
    expect(round.clients[6]?.stage).toBe('aborted');
    expect(round.clients[6]?.abortedBecause).toMatch(/server aborted/);
  });

  it('ends the round when the masked inputs leave a survivor with fewer than t surviving neighbours, instead of waiting for signatures that cannot come', async () => {
    // Complete graph of 8 (k = 7, t = 4): exactly t survivors pass the count but each has only t - 1 neighbours among them.
    const params = recommendedRoundParams({ roundId: roundId(7), clientCount: 8, vectorLength: 4, clipRange: 1, neighbourCount: 7, threshold: 4 });
    const round = await makeRound(params, randomInputs(8, 4));
    runRound(round, new Map<number, DropPoint>([4, 5, 6, 7].map((id) => [id, 'collect-masked-inputs'])));
    expect(round.server.stage).toBe('aborted');
    expect(round.server.abortError?.message).toMatch(/only 3 of client 0's neighbours sent masked inputs, fewer than 4/);
    // The positive control: one more survivor gives each t neighbours, and the round finishes.
    const enough = await makeRound({ ...params, roundId: roundId(8) }, randomInputs(8, 4));
    runRound(enough, new Map<number, DropPoint>([5, 6, 7].map((id) => [id, 'collect-masked-inputs'])));
    expect(enough.server.stage).toBe('done');
    expect(enough.server.result?.contributors).toEqual([0, 1, 2, 3, 4]);
  });

  it('a client with too few neighbours left abandons the round itself', async () => {
    const params = recommendedRoundParams({ roundId: roundId(6), clientCount: 9, vectorLength: 4, clipRange: 1, neighbourCount: 4, threshold: 3 });
    const round = await makeRound(params, randomInputs(9, 4));
    const { server, clients } = round;
    const victim = 0;
    const [a, b] = server.neighboursOf(victim);
    for (const { to, message } of server.start(0)) {
      if (to === a || to === b) continue; // two of the victim's four neighbours never answer
      const reply = clients[to]?.handle(message);
      if (reply) server.receive(reply);
    }
    const neighbourKeys = server.advance(server.stageDeadline).find((o) => o.to === victim);
    expect(() => clients[victim]?.handle(neighbourKeys?.message ?? new Uint8Array(0))).toThrowError(/abandoned/);
    expect(clients[victim]?.stage).toBe('aborted');
  });
});

