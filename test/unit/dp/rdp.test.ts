// The RDP accountant against analytic values and against values published by Opacus and by
// TensorFlow Privacy's accountant (now Google's dp_accounting library).
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RDP_ORDERS,
  deltaFromRdp,
  epsilonFromRdp,
  gaussianRdp,
  noiseMultiplierFor,
  RdpAccountant,
  subsampledGaussianRdp,
} from '../../../common/dp/rdp.js';
import { logErfc, normalCdf } from '../../../common/dp/special.js';

function relClose(actual: number, expected: number, rtol: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rtol * Math.abs(expected));
}

describe('special functions', () => {
  it('log erfc matches reference values and stays finite far into the tail', () => {
    // Reference values: Python's math.log(math.erfc(x)).
    relClose(logErfc(0.1), -0.11930497373739554, 1e-13);
    relClose(logErfc(1), -1.8496055099332482, 1e-13);
    relClose(logErfc(3), -10.720363041981113, 1e-13);
    relClose(logErfc(10), -102.87988902484489, 1e-13);
    relClose(logErfc(-2), Math.log(1.9953222650189528), 1e-13);
    // Where erfc underflows, compare with the asymptotic series e^{-x^2}/(x sqrt(pi)) (1 - 1/(2x^2) + 3/(4x^4)).
    const x = 40;
    relClose(logErfc(x), -x * x - Math.log(x * Math.sqrt(Math.PI)) + Math.log(1 - 1 / (2 * x * x) + 3 / (4 * x ** 4)), 1e-12);
    expect(normalCdf(0)).toBeCloseTo(0.5, 15);
  });
});

describe('RDP of the Gaussian mechanism', () => {
  it('is alpha / (2 sigma^2), and subsampling at rate 1 changes nothing', () => {
    expect(gaussianRdp(2.71828, 3.14159)).toBeCloseTo(3.14159 / (2 * 2.71828 ** 2), 14);
    for (const a of [1.5, 2, 7.3, 32]) expect(subsampledGaussianRdp(1, 1.3, a)).toBe(gaussianRdp(1.3, a));
    expect(subsampledGaussianRdp(0, 1.3, 4)).toBe(0);
    expect(subsampledGaussianRdp(0.1, 0, 4)).toBe(Infinity);
  });

  it('is finite at every default order, bounding slowly converging orders by the next integer order', () => {
    for (const q of [0.001, 0.05, 0.5, 0.9]) {
      for (const a of DEFAULT_RDP_ORDERS) {
        const r = subsampledGaussianRdp(q, 1.1, a);
        expect(Number.isFinite(r)).toBe(true);
        // Rényi divergence never decreases with the order: bracketed by the integer orders around it.
        if (Math.floor(a) >= 2) expect(r).toBeGreaterThanOrEqual(subsampledGaussianRdp(q, 1.1, Math.floor(a)) * (1 - 1e-9));
        expect(r).toBeLessThanOrEqual(subsampledGaussianRdp(q, 1.1, Math.max(2, Math.ceil(a))) * (1 + 1e-9));
      }
    }
  });

  it('subsampling amplifies privacy: the RDP grows with the sampling rate and stays below the full mechanism', () => {
    for (const a of [1.1, 1.5, 2, 3.7, 10, 40]) {
      let last = 0;
      for (const q of [0.001, 0.01, 0.1, 0.5, 0.9]) {
        const r = subsampledGaussianRdp(q, 1.1, a);
        expect(r).toBeGreaterThan(last);
        expect(r).toBeLessThanOrEqual(gaussianRdp(1.1, a));
        last = r;
      }
    }
  });

  it('matches dp_accounting (TensorFlow Privacy) for the Poisson-sampled Gaussian', () => {
    // google/differential-privacy, python/dp_accounting/dp_accounting/rdp/rdp_privacy_accountant_test.py,
    // test_compute_rdp_poisson_sampled_gaussian: sigma 2.5, q 0.01, 50 steps, rtol 1e-4.
    const orders = [1.5, 2.5, 5, 50, 100, Infinity];
    const expected = [6.70579741e-4, 1.0854871e-3, 2.18075656e-3, 2.38460375e-2, 1.67416308e2, Infinity];
    const acc = new RdpAccountant(orders).compose({ noiseMultiplier: 2.5, sampleRate: 0.01, steps: 50 });
    acc.rdp.forEach((r, i) => {
      const e = expected[i] ?? 0;
      if (e === Infinity) expect(r).toBe(Infinity);
      else relClose(r, e, 1e-4);
    });
  });

  it('matches Opacus for DP-SGD with sigma 1.5, q 0.04, 90 epochs, delta 1e-5', () => {
    // pytorch/opacus, opacus/tests/accountants_test.py, test_rdp_accountant: epsilon 7.32911117143
    // with Opacus' default orders. Opacus sums the fractional-order series with signed
    // coefficients ('exact'); the default 'upper-bound' series may only be larger.
    const steps = Math.trunc(90 / 0.04);
    const exact = new RdpAccountant(DEFAULT_RDP_ORDERS, 'exact').compose({ noiseMultiplier: 1.5, sampleRate: 0.04, steps });
    expect(exact.epsilon(1e-5).epsilon).toBeCloseTo(7.32911117143, 6);
    const bound = new RdpAccountant().compose({ noiseMultiplier: 1.5, sampleRate: 0.04, steps });
    expect(bound.epsilon(1e-5).epsilon).toBeGreaterThanOrEqual(7.32911117143);
    expect(bound.epsilon(1e-5).epsilon).toBeLessThan(7.33);
  });
});

describe('conversion to (epsilon, delta)', () => {
  it('matches dp_accounting for a constant (pure-DP) curve', () => {
    // rdp_privacy_accountant_test.py, test_compute_epsilon_delta_pure_dp.
    const orders = Array.from({ length: 31 }, (_, i) => i + 2);
    const rdp = orders.map(() => 1.1);
    const { epsilon, order } = epsilonFromRdp(orders, rdp, 1e-5);
    expect(epsilon).toBeCloseTo(1.32783806176, 9);
    expect(order).toBe(32);
    const back = deltaFromRdp(orders, rdp, 1.32783806176);
    relClose(back.delta, 1e-5, 1e-8);
    expect(back.order).toBe(32);
  });

  it('gives epsilon 1 at delta 1e-6 for the Gaussian with sigma 4.530877117', () => {
    // rdp_privacy_accountant_test.py, test_compute_epsilon_delta_gaussian.
    const orders = Array.from({ length: 99000 }, (_, i) => 1 + 0.001 * (i + 1));
    const rdp = orders.map((a) => subsampledGaussianRdp(1, 4.530877117, a));
    expect(epsilonFromRdp(orders, rdp, 1e-6).epsilon).toBeCloseTo(1, 7);
    relClose(deltaFromRdp(orders, rdp, 1).delta, 1e-6, 1e-6);
  });

  it('never claims less than the exact privacy profile of the Gaussian mechanism', () => {
    // Balle and Wang 2018, Theorem 8: delta(eps) = Phi(1/(2s) - eps s) - e^eps Phi(-1/(2s) - eps s), s = sigma.
    const sigma = 1;
    const orders = Array.from({ length: 495 }, (_, i) => 1 + 0.1 * (i + 1));
    const rdp = orders.map((a) => gaussianRdp(sigma, a));
    for (let eps = 0; eps < 20; eps += 0.25) {
      const exact = normalCdf(1 / (2 * sigma) - eps * sigma) - Math.exp(eps) * normalCdf(-1 / (2 * sigma) - eps * sigma);
      expect(deltaFromRdp(orders, rdp, eps).delta).toBeGreaterThanOrEqual(exact - 1e-300);
    }
  });

  it('composes by adding curves, and reports infinity for delta 0 or no noise', () => {
    const once = new RdpAccountant().compose({ noiseMultiplier: 1.2, sampleRate: 0.05, steps: 10 });
    const split = new RdpAccountant().compose({ noiseMultiplier: 1.2, sampleRate: 0.05, steps: 4 }).compose({ noiseMultiplier: 1.2, sampleRate: 0.05, steps: 6 });
    split.rdp.forEach((r, i) => relClose(r, once.rdp[i] ?? 0, 1e-12));
    expect(once.epsilon(0).epsilon).toBe(Infinity);
    expect(new RdpAccountant().compose({ noiseMultiplier: 0 }).epsilon(1e-5).epsilon).toBe(Infinity);
    expect(once.epsilon(1e-5).epsilon).toBeLessThan(new RdpAccountant().compose({ noiseMultiplier: 1.2, sampleRate: 0.05, steps: 20 }).epsilon(1e-5).epsilon);
  });
});

describe('choosing the noise for a target budget', () => {
  it('finds the least noise whose epsilon is within the tolerance below the target', () => {
    const steps = Math.trunc(90 / 0.04);
    for (const target of [0.5, 3, 8]) {
      const sigma = noiseMultiplierFor({ epsilon: target, delta: 1e-5, sampleRate: 0.04, steps });
      const eps = (s: number) => new RdpAccountant().compose({ noiseMultiplier: s, sampleRate: 0.04, steps }).epsilon(1e-5).epsilon;
      expect(eps(sigma)).toBeLessThanOrEqual(target);
      expect(eps(sigma)).toBeGreaterThan(target - 0.01);
    }
  });

  it('refuses a target no amount of noise can reach', () => {
    expect(() => noiseMultiplierFor({ epsilon: 1e-6, delta: 1e-5, sampleRate: 1, steps: 1000 }, { maxNoise: 10 })).toThrowError(/No noise multiplier/);
  });
});

