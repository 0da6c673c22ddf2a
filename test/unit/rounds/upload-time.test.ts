// The masked update leaves at a random moment of the stage's first part: the delay is uniform
// over the spread (a seeded source, seed printed, checked by a Kolmogorov-Smirnov bound), the
// same seed gives the same times, and a constant source would give a constant delay, the
// fingerprint the randomness removes (positive control).
import { describe, expect, it } from 'vitest';
import { uploadDelayMs } from '../../../main/services/rounds/upload-time.js';
import { loadSodium, sodiumNow } from '../../../common/secagg/sodium.js';

const SEED = 20261202;

function seeded(seed: number): (n: number) => Uint8Array {
  const sodium = sodiumNow();
  const key = sodium.crypto_generichash(32, sodium.from_string(`trove-test-upload-time:${seed}`), null);
  let counter = 0;
  return (n) => {
    const nonce = new Uint8Array(24);
    new DataView(nonce.buffer).setUint32(0, counter++, true);
    return sodium.crypto_stream_xchacha20_xor(new Uint8Array(n), nonce, key);
  };
}

/** The largest gap between the empirical distribution of `xs` and the uniform one on [0, spread). */
function ksDistance(xs: number[], spread: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  let worst = 0;
  sorted.forEach((x, i) => {
    worst = Math.max(worst, Math.abs((i + 1) / sorted.length - x / spread), Math.abs(i / sorted.length - x / spread));
  });
  return worst;
}

describe('the upload time', () => {
  it('is uniform over the spread, from the given random source', async () => {
    await loadSodium();
    console.log(`upload-time seed ${SEED}`);
    const random = seeded(SEED);
    const delays = Array.from({ length: 4000 }, () => uploadDelayMs(15_000, random));
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThan(15_000);
    }
    // Kolmogorov-Smirnov at the 99.9% level: 1.95 / sqrt(n).
    expect(ksDistance(delays, 15_000)).toBeLessThan(1.95 / Math.sqrt(delays.length));
    const again = seeded(SEED);
    expect(Array.from({ length: 10 }, () => uploadDelayMs(15_000, again))).toEqual(delays.slice(0, 10));
  });

  it('positive control: a source that is not random gives one fixed delay, which the test rejects', () => {
    const constant = Array.from({ length: 4000 }, () => uploadDelayMs(15_000, (n) => new Uint8Array(n).fill(0x80)));
    expect(new Set(constant).size).toBe(1);
    expect(ksDistance(constant, 15_000)).toBeGreaterThan(1.95 / Math.sqrt(constant.length));
  });

  it('waits not at all when there is nothing to spread over', () => {
    expect(uploadDelayMs(0, (n) => new Uint8Array(n).fill(0xff))).toBe(0);
  });
});
