// The noise in a revealed sum is the mechanism the ledger charged. Each contributor weights and
// clips its vector, secure aggregation quantizes it, and the contributor adds its discrete
// Gaussian share to the integers (integer-noise.ts) inside a real round; the empirical standard
// deviation of the revealed sum must be z·Δ₂ quantization steps for equal and for very unequal
// example counts. The positive control runs the old order (noise, then weight) and sees half the
// noise. The epsilon the ledger charges is checked against an independent computation.
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { addDiscreteGaussian } from '../../../common/dp/discrete.js';
import { distributedDiscreteGaussianEpsilon, equivalentNoiseMultiplier, integerSensitivity, noisyRoundParams, roundShareVariance } from '../../../common/dp/integer-noise.js';
import { jobPrivacyCost } from '../../../common/dp/ledger.js';
import { clipL2, privatizeUpdate, weightedSensitivity } from '../../../common/dp/noise.js';
import { jobDocumentPrivacyCost, roundVectorLength, type JobDocument } from '../../../common/jobs/document.js';
import { weightedInput } from '../../../common/secagg/fedavg.js';
import { NO_MODEL } from '../../../common/secagg/params.js';
import { roundParamsFor } from '../../../common/jobs/rounds.js';
import { quantizationStep } from '../../../common/secagg/quantize.js';
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

const NOISE = { sensitivity: weightedSensitivity({ clipNorm: CLIP_NORM, clipRange: CLIP_RANGE }), noiseMultiplier: Z };

/** The standard deviation of the revealed sum's first D coordinates, in units of the charged z·Δ₂. */
async function revealedNoise(counts: number[], oldOrder: boolean, seed: number): Promise<number> {
  await loadSodium();
  const n = counts.length;
  const params = noisyRoundParams({ roundId: roundId(seed), clientCount: n, vectorLength: D + 1, clipRange: CLIP_RANGE, minimumSurvivors: n }, NOISE);
  const random = seededBytes(seed);
  const zeros = new Float64Array(D);
  const inputs = counts.map((examples) =>
    oldOrder
      ? weightedInput(privatizeUpdate(zeros, { clipNorm: CLIP_NORM, noiseMultiplier: Z, minContributors: n }), examples, MAX_EXAMPLES, CLIP_RANGE)
      : weightedInput(clipL2(zeros, CLIP_NORM).clipped, examples, MAX_EXAMPLES, CLIP_RANGE),
  );
  const variance = roundShareVariance(params, NOISE);
  const round = await makeRound(params, inputs, oldOrder ? {} : { addNoise: (words) => addDiscreteGaussian(words, variance, random) });
  runRound(round);
  const result = round.server.result;
  if (!result) throw new Error('the round did not finish');
  expect(result.contributors).toHaveLength(n);
  const step = quantizationStep(params);
  const charged = Z * integerSensitivity(NOISE.sensitivity, step, D + 1) * step;
  return stddev(result.sum, D) / charged;
}

describe('distributed discrete Gaussian noise through a real round', () => {
  for (const counts of [
    [100, 100, 100, 100],
    [366, 30, 30, 30],
  ]) {
    it(`the revealed sum carries noise of standard deviation z·Δ₂ with example counts ${counts.join('/')}`, async () => {
      console.log(`noise seed ${SEED}`);
      const ratio = await revealedNoise(counts, false, SEED);
      // With 4000 coordinates the estimate's relative standard error is about 1.1%.
      expect(Math.abs(ratio - 1)).toBeLessThan(0.05);
    });
  }

  it('positive control: noising before weighting leaves about half the charged noise with 366/30/30/30', async () => {
    console.log(`noise seed ${SEED + 1}`);
    expect(await revealedNoise([366, 30, 30, 30], true, SEED + 1)).toBeLessThan(0.6);
  });
});

describe('the epsilon the ledger charges', () => {
  // The example job as published (the researcher's address is filled in when it is signed).
  const doc = JSON.parse(readFileSync(new URL('../../../coordinator/jobs/sleep-mood.json', import.meta.url), 'utf8')) as JobDocument;

  it('matches an independent computation of the composed distributed discrete Gaussian', () => {
    const z = doc.privacy.noiseMultiplier;
    const T = doc.rounds;
    const delta = doc.privacy.delta;
    const d = roundVectorLength(doc);
    const cost = jobDocumentPrivacyCost(doc);
    // Kairouz et al. 2021, Theorem 2, at the smallest share a client accepts (σ = 4 steps) and the
    // most clients a round may have: ε₁² = 1/z² + τd/2, then T rounds of (ε₁²/2)-zCDP.
    let tau = 0;
    for (let k = 1; k < 65536; k++) tau += 10 * Math.exp((-2 * Math.PI ** 2 * 16 * k) / (k + 1));
    const rho = (T * (1 / z ** 2 + (tau * d) / 2)) / 2;
    // RDP α·ρ, converted with Balle et al. 2020 (Canonne, Kamath and Steinke 2020) on a fine grid.
    let best = Infinity;
    for (let a = 1.01; a <= 512; a += 0.01) best = Math.min(best, a * rho + Math.log((a - 1) / a) - (Math.log(delta) + Math.log(a)) / (a - 1));
    // The accountant uses a finite set of orders: never below the grid optimum, and close to it.
    expect(cost.epsilon).toBeGreaterThanOrEqual(best - 1e-9);
    expect(cost.epsilon / best).toBeLessThan(1.03);
  });

  it('covers the mechanism a real round of the job runs', () => {
    const noise = { sensitivity: weightedSensitivity({ clipNorm: doc.training.local.clipNorm, clipRange: doc.aggregation.clipRange }), noiseMultiplier: doc.privacy.noiseMultiplier };
    for (const n of [doc.minContributors, 8, 40]) {
      const params = roundParamsFor(doc, roundId(n), n, NO_MODEL);
      const variance = roundShareVariance(params, noise);
      const sensitivity = integerSensitivity(noise.sensitivity, quantizationStep(params), params.vectorLength);
      // The round's own ε (m survivors, the real share) is within what one charged round allows.
      const actual = distributedDiscreteGaussianEpsilon({ sensitivity, variance, clients: params.minimumSurvivors, dimension: params.vectorLength });
      const charged = 1 / equivalentNoiseMultiplier({ noiseMultiplier: noise.noiseMultiplier, minContributors: doc.minContributors }, params.vectorLength);
      expect(actual).toBeLessThanOrEqual(charged * (1 + 1e-9));
      expect(actual).toBeGreaterThan(charged * 0.99);
    }
  });

  it('charges the rounds actually released, not fewer', () => {
    const one = jobPrivacyCost([{ noiseMultiplier: equivalentNoiseMultiplier({ noiseMultiplier: doc.privacy.noiseMultiplier, minContributors: doc.minContributors }, roundVectorLength(doc)), steps: 1 }], doc.privacy.delta);
    expect(jobDocumentPrivacyCost(doc).epsilon).toBeGreaterThan(one.epsilon);
  });
});
