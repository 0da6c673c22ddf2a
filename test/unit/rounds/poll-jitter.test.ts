// Polling times are a fingerprint: a device that asks the coordinator every 1000 ms exactly can be
// told apart from its neighbours and followed across jobs. The delay is spread over [ms/2, 3ms/2).
import { describe, expect, it } from 'vitest';
import { jitteredPollMs } from '../../../main/services/rounds/participation.js';
import { loadSodium } from '../../../common/secagg/sodium.js';

describe('poll jitter', () => {
  it('spreads delays over half to one and a half times the asked delay, not all alike', async () => {
    await loadSodium();
    const delays = Array.from({ length: 2000 }, () => jitteredPollMs(1000));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(500);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1500);
    // Uniform over [500, 1500): each quarter holds about 500 of 2000 draws.
    for (let q = 0; q < 4; q++) {
      const inQuarter = delays.filter((d) => d >= 500 + 250 * q && d < 750 + 250 * q).length;
      expect(inQuarter).toBeGreaterThan(400);
      expect(inQuarter).toBeLessThan(600);
    }
  });

  it('positive control: a constant random source gives one delay, which the spread check would catch', () => {
    const delays = Array.from({ length: 100 }, () => jitteredPollMs(1000, (n) => new Uint8Array(n)));
    expect(new Set(delays).size).toBe(1);
  });
});
