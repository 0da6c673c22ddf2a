import { beforeAll, describe, expect, it } from 'vitest';
import { isTroveError } from '../../../common/errors.js';
import { fedAvgStep, meanFromSum, weightedInput, weightedMeanFromSum } from '../../../common/secagg/fedavg.js';
import { NeighbourGraph } from '../../../common/secagg/graph.js';
import { recommendedRoundParams, validateRoundParams } from '../../../common/secagg/params.js';
import { dequantizeSum, quantizationStep, quantizeInto } from '../../../common/secagg/quantize.js';
import { combineShares, FIELD_PRIME, splitSecret } from '../../../common/secagg/shamir.js';
import { loadSodium, MaskStream, randomBytes } from '../../../common/secagg/sodium.js';
import {
  decodeSetup,
  decodeConsistencyRequest,
  decodeUnmaskRequest,
  decodeUnmaskResponse,
  encodeSetup,
  encodeConsistencyRequest,
  encodeUnmaskRequest,
  encodeUnmaskResponse,
  ShareKind,
} from '../../../common/secagg/wire.js';
import { roundId } from './harness.js';

beforeAll(async () => {
  await loadSodium();
});

function modpow(base: bigint, exp: bigint, m: bigint): bigint {
  let r = 1n;
  let b = base % m;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}

describe('Shamir sharing', () => {
  it('works over a prime field just above 2^256 (Miller-Rabin, 20 bases)', () => {
    let d = FIELD_PRIME - 1n;
    let s = 0;
    while (d % 2n === 0n) {
      d /= 2n;
      s++;
    }
    for (const a of [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n, 41n, 43n, 47n, 53n, 59n, 61n, 67n, 71n]) {
      let x = modpow(a, d, FIELD_PRIME);
      if (x === 1n || x === FIELD_PRIME - 1n) continue;
      let witness = true;
      for (let i = 1; i < s && witness; i++) {
        x = (x * x) % FIELD_PRIME;
        if (x === FIELD_PRIME - 1n) witness = false;
      }
      expect(witness).toBe(false);
    }
    expect(FIELD_PRIME > 1n << 256n).toBe(true);
  });

  it('recovers the secret from any t shares and detects a tampered extra share', () => {
    const secret = randomBytes(32);
    secret[0] = 0xff; // the top of the 256-bit range still fits the field
    const holders = [0, 3, 4, 7, 9, 12];
    const shares = splitSecret(secret, holders, 4, randomBytes(32 * 3));
    const points = holders.map((h) => ({ x: h + 1, y: shares.get(h) ?? new Uint8Array(0) }));
    expect(combineShares(points.slice(0, 4), 4)).toEqual(secret);
    expect(combineShares(points.slice(2), 4)).toEqual(secret);
    expect(combineShares(points, 4)).toEqual(secret);
    const tampered = points.map((p, i) => (i === 5 ? { x: p.x, y: p.y.map((b, j) => (j === 32 ? b ^ 1 : b)) } : p));
    expect(() => combineShares(tampered, 4)).toThrowError(/do not agree/);
    expect(() => combineShares(points.slice(0, 3), 4)).toThrow();
  });
});

describe('neighbour graph', () => {
  it('is k-regular, symmetric and the same for every party of a round', () => {
    for (const [n, k] of [
      [10, 4],
      [37, 12],
      [100, 20],
    ] as const) {
      const g = new NeighbourGraph({ roundId: roundId(n), clientCount: n, neighbourCount: k });
      const again = new NeighbourGraph({ roundId: roundId(n), clientCount: n, neighbourCount: k });
      for (let id = 0; id < n; id++) {
        const nb = g.neighbours(id);
        expect(nb.length).toBe(k);
        expect(nb).not.toContain(id);
        expect(again.neighbours(id)).toEqual(nb);
        for (const v of nb) expect(g.areNeighbours(v, id)).toBe(true);
      }
    }
  });

  it('differs between rounds and is complete when k = n - 1', () => {
    const a = new NeighbourGraph({ roundId: roundId(1), clientCount: 50, neighbourCount: 6 });
    const b = new NeighbourGraph({ roundId: roundId(2), clientCount: 50, neighbourCount: 6 });
    expect([...Array(50).keys()].some((id) => a.neighbours(id).join() !== b.neighbours(id).join())).toBe(true);
    const full = new NeighbourGraph({ roundId: roundId(3), clientCount: 7, neighbourCount: 6 });
    expect(full.neighbours(3)).toEqual([0, 1, 2, 4, 5, 6]);
  });
});

describe('parameters', () => {
  it('refuse settings that could overflow the modulus or weaken the threshold', () => {
    const good = recommendedRoundParams({ roundId: roundId(1), clientCount: 1000, vectorLength: 10, clipRange: 1 });
    expect(good.neighbourCount).toBeLessThan(good.clientCount - 1);
    expect(1000 * (2 ** good.quantizationBits - 1)).toBeLessThanOrEqual(2 ** 32 - 1);
    const bad = (patch: object) => {
      try {
        validateRoundParams({ ...good, ...patch });
      } catch (err) {
        return isTroveError(err, 'INVALID_INPUT');
      }
      return false;
    };
    expect(bad({ quantizationBits: 23 })).toBe(true);
    expect(bad({ threshold: good.neighbourCount / 2 })).toBe(true);
    expect(bad({ neighbourCount: 7 })).toBe(true);
    expect(bad({ roundId: new Uint8Array(3) })).toBe(true);
    expect(bad({ clipRange: Number.NaN })).toBe(true);
    expect(bad({ minimumSurvivors: 1 })).toBe(true);
  });
});

describe('quantization', () => {
  it('is within one step per coordinate and unbiased under stochastic rounding', () => {
    const s = { clipRange: 2, quantizationBits: 8 };
    const x = Float64Array.from({ length: 20000 }, (_, i) => 0.3337 + (i % 2 ? 5 : 0));
    const out = new Uint32Array(x.length);
    quantizeInto(x, s, new Uint32Array(randomBytes(4 * x.length).buffer), out);
    const back = dequantizeSum(out, s, 1);
    let mean = 0;
    for (let i = 0; i < x.length; i += 2) {
      expect(Math.abs((back[i] ?? 0) - 0.3337)).toBeLessThan(quantizationStep(s));
      mean += back[i] ?? 0;
    }
    expect(Math.abs(mean / (x.length / 2) - 0.3337)).toBeLessThan(quantizationStep(s) / 20);
    // Clipped: 5.3337 decodes to the clip range.
    expect(back[1]).toBeCloseTo(2, 10);
  });

  it('refuses NaN', () => {
    expect(() => quantizeInto([Number.NaN], { clipRange: 1, quantizationBits: 8 }, new Uint32Array(1), new Uint32Array(1))).toThrowError(/not a number/);
  });
});

describe('mask stream', () => {
  it('expands a key deterministically into uniform-looking words', () => {
    const key = randomBytes(32);
    const s = new MaskStream();
    const a = s.expand(key, 1000, (m) => m.slice());
    const b = s.expand(key, 1000, (m) => m.slice());
    expect(a).toEqual(b);
    expect(s.expand(randomBytes(32), 1000, (m) => m.slice())).not.toEqual(a);
    const mean = a.reduce((x, y) => x + y, 0) / a.length / 2 ** 32;
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05);
    s.dispose();
  });

  it('is exactly the XChaCha20 keystream of libsodium\'s public API (zero nonce, little-endian words)', async () => {
    const sodium = await loadSodium();
    const key = randomBytes(32);
    const words = 70_001; // odd, and longer than one 64 KB block
    const reference = sodium.crypto_stream_xchacha20_xor(new Uint8Array(words * 4), new Uint8Array(24), key);
    const view = new DataView(reference.buffer, reference.byteOffset, reference.byteLength);
    const s = new MaskStream();
    s.expand(key, words, (mask) => {
      for (const i of [0, 1, 16, 4095, 65536, words - 1]) expect(mask[i]).toBe(view.getUint32(i * 4, true));
      let same = true;
      for (let i = 0; i < words; i++) if (mask[i] !== view.getUint32(i * 4, true)) same = false;
      expect(same).toBe(true);
    });
    s.dispose();
  });
});

describe('wire format', () => {
  it('round-trips setup, unmask request and unmask response', () => {
    const params = recommendedRoundParams({ roundId: roundId(5), clientCount: 300, vectorLength: 1234, clipRange: 0.75, deadlines: { unmaskMs: 1234 } });
    expect(decodeSetup(encodeSetup(params, 17)).params).toEqual(params);
    const req = { survivors: [1, 5, 9, 17], signatures: [{ signer: 5, signature: randomBytes(64) }] };
    expect(decodeUnmaskRequest(encodeUnmaskRequest(params.roundId, 17, req), 300, 26).request).toEqual(req);
    expect(decodeConsistencyRequest(encodeConsistencyRequest(params.roundId, 17, [1, 5, 9, 17]), 300).survivors).toEqual([1, 5, 9, 17]);
    const shares = [{ owner: 3, kind: ShareKind.MaskKey, share: randomBytes(33) }];
    const decoded = decodeUnmaskResponse(encodeUnmaskResponse(params.roundId, 17, shares), 26).shares;
    expect(decoded.map((s) => ({ ...s, share: s.share.slice() }))).toEqual(shares);
  });

  it('rejects counts larger than the round allows before reading them', () => {
    const req = encodeUnmaskRequest(roundId(1), 0, { survivors: [0, 1, 2, 3], signatures: [] });
    expect(() => decodeUnmaskRequest(req, 3, 2)).toThrowError(/more than the round allows/);
    const signed = encodeUnmaskRequest(roundId(1), 0, { survivors: [0, 1], signatures: [1, 2, 3].map((signer) => ({ signer, signature: new Uint8Array(64) })) });
    expect(() => decodeUnmaskRequest(signed, 4, 2)).toThrowError(/more than the round allows/);
  });

  it('rejects survivor sets with repeated, unordered or uninvited ids', () => {
    for (const ids of [[1, 1], [2, 1], [0, 9]]) {
      expect(() => decodeConsistencyRequest(encodeConsistencyRequest(roundId(1), 0, ids), 4)).toThrowError(/once each|not invited/);
      expect(() => decodeUnmaskRequest(encodeUnmaskRequest(roundId(1), 0, { survivors: ids, signatures: [] }), 4, 2)).toThrowError(/once each|not invited/);
    }
  });
});

describe('FedAvg helpers', () => {
  it('weights updates by example counts without revealing them individually', () => {
    const c = 1;
    const a = weightedInput([0.5, -0.5], 100, 1000, c);
    const b = weightedInput([0.1, 0.3], 300, 1000, c);
    const sum = a.map((v, i) => v + (b[i] ?? 0));
    const { mean, totalExamples } = weightedMeanFromSum(sum, 1000, c);
    expect(totalExamples).toBeCloseTo(400, 9);
    expect(mean[0]).toBeCloseTo((0.5 * 100 + 0.1 * 300) / 400, 12);
    expect(mean[1]).toBeCloseTo((-0.5 * 100 + 0.3 * 300) / 400, 12);
    expect(meanFromSum([2, 4], 2)).toEqual(new Float64Array([1, 2]));
    expect(fedAvgStep([1, 1], [0.5, -1], 0.5)).toEqual(new Float64Array([1.25, 0.5]));
    expect(() => weightedInput([1], 2000, 1000, c)).toThrow();
  });
});
