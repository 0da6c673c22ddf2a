// The noise in a revealed sum is the mechanism the ledger charged. Each contributor's share goes
// through privatizeWeightedUpdate and a real secure-aggregation round; the empirical standard
// deviation of the revealed sum must be z·S for equal and for very unequal example counts. The
// positive control runs the old order (noise, then weight) and sees half the noise. The epsilon the
// ledger charges is checked against an independent computation of the same Gaussian mechanism.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { jobPrivacyCost } from '../../../common/dp/ledger.js';
import { privatizeUpdate, privatizeWeightedUpdate, weightedSensitivity } from '../../../common/dp/noise.js';
import { weightedInput } from '../../../common/secagg/fedavg.js';
import { recommendedRoundParams } from '../../../common/secagg/params.js';
import { loadSodium, sodiumNow } from '../../../common/secagg/sodium.js';
import { makeRound, roundId, runRound } from '../secagg/harness.js';

const SEED = 20261202;
const D = 4000;
const CLIP_NORM = 4;
const CLIP_RANGE = 4;
const Z = 1;
const MAX_EXAMPLES = 366;

/** A seeded byte source (XChaCha20 keystream), so a failure can be replayed from the printed seed. */
function seededBytes(seed: number): (n: number) => Uint8Array {
  const sodium = sodiumNow();
  const key = sodium.crypto_generichash(32, sodium.from_string(`trove-test-noise:${seed}`), null);
  let counter = 0;
  return (n) => {
    const nonce = new Uint8Array(24);
    new DataView(nonce.buffer).setUint32(0, counter++, true);
    return sodium.crypto_stream_xchacha20_xor(new Uint8Array(n), nonce, key);
  };
}

function stddev(xs: ArrayLike<number>, length: number): number {
  let mean = 0;
  for (let i = 0; i < length; i++) mean += xs[i] as number;
  mean /= length;
  let v = 0;
  for (let i = 0; i < length; i++) v += ((xs[i] as number) - mean) ** 2;
  return Math.sqrt(v / (length - 1));
}

async function revealedNoise(counts: number[], oldOrder: boolean, seed: number): Promise<number> {
  await loadSodium();
  const n = counts.length;
  const params = recommendedRoundParams({ roundId: roundId(seed), clientCount: n, vectorLength: D + 1, clipRange: CLIP_RANGE, minimumSurvivors: n });
  const random = seededBytes(seed);
  const zeros = new Float64Array(D);
  const noise = { clipNorm: CLIP_NORM, noiseMultiplier: Z, minContributors: params.minimumSurvivors };
  const inputs = counts.map((examples) =>
    oldOrder
      ? weightedInput(privatizeUpdate(zeros, noise), examples, MAX_EXAMPLES, CLIP_RANGE)
      : privatizeWeightedUpdate(zeros, examples, { ...noise, maxExamples: MAX_EXAMPLES, clipRange: CLIP_RANGE }, random),
  );
  const round = await makeRound(params, inputs, { clampInput: oldOrder });
  runRound(round);
  const result = round.server.result;
  if (!result) throw new Error('the round did not finish');
  expect(result.contributors).toHaveLength(n);
  return stddev(result.sum, D);
}

describe('distributed noise through a real round', () => {
  const charged = Z * weightedSensitivity({ clipNorm: CLIP_NORM, clipRange: CLIP_RANGE });

  for (const counts of [
    [100, 100, 100, 100],
    [366, 30, 30, 30],
  ]) {
    it(`the revealed sum carries noise of standard deviation z·S with example counts ${counts.join('/')}`, async () => {
      console.log(`noise seed ${SEED}`);
      const sd = await revealedNoise(counts, false, SEED);
      // With 4000 coordinates the estimate's relative standard error is about 1.1%.
      expect(Math.abs(sd / charged - 1)).toBeLessThan(0.05);
    });
  }

  it('positive control: noising before weighting (and clamping) leaves about half the charged noise with 366/30/30/30', async () => {
    const sd = await revealedNoise([366, 30, 30, 30], true, SEED + 1);
    // Charged against sensitivity C alone, the old order's noise should have been z·C.
    expect(sd / (Z * CLIP_NORM)).toBeLessThan(0.6);
  });
});

describe('the epsilon the ledger charges', () => {
  it('matches an independent computation of the composed Gaussian mechanism', () => {
    // The example job's mechanism: its noise multiplier, one release per round, its delta.
    const doc = JSON.parse(readFileSync(new URL('../../../coordinator/jobs/sleep-mood.json', import.meta.url), 'utf8')) as {
      rounds: number;
      privacy: { noiseMultiplier: number; delta: number };
    };
    const z = doc.privacy.noiseMultiplier;
    const T = doc.rounds;
    const delta = doc.privacy.delta;
    const cost = jobPrivacyCost([{ noiseMultiplier: z, steps: T }], delta);
    // RDP of T Gaussian releases is T·α/(2z²) at every order α; convert with Balle et al. 2020
    // (Canonne, Kamath and Steinke 2020) on a fine grid of real orders.
    let best = Infinity;
    for (let a = 1.01; a <= 512; a += 0.01) {
      best = Math.min(best, (T * a) / (2 * z * z) + Math.log((a - 1) / a) - (Math.log(delta) + Math.log(a)) / (a - 1));
    }
    // The accountant uses a finite set of orders: never below the grid optimum, and close to it.
    expect(cost.epsilon).toBeGreaterThanOrEqual(best - 1e-9);
    expect(cost.epsilon / best).toBeLessThan(1.03);
  });
});
