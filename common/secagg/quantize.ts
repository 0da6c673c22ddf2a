// Fixed-point encoding of clipped float vectors, so that sums can be taken modulo 2^m.
// x in [-c, c] maps to q = floor((x + c) * (2^b - 1) / 2c + u), u uniform in [0, 1): stochastic
// rounding keeps the decoded sum unbiased, and each coordinate's error is below one step 2c/(2^b-1).
import { TroveError } from '../errors.js';

export interface QuantizationSettings {
  clipRange: number;
  quantizationBits: number;
  /** m of the modulus 2^m the sum is taken in (32 when absent). */
  modulusBits?: number;
}

/** The size of one quantization step. */
export function quantizationStep(s: QuantizationSettings): number {
  return (2 * s.clipRange) / (2 ** s.quantizationBits - 1);
}

/** The largest error, per coordinate, of a decoded sum of `count` clipped vectors. */
export function quantizationErrorBound(s: QuantizationSettings, count: number): number {
  return count * quantizationStep(s);
}

/**
 * Clips and quantizes `input` into `out` (Uint32 words). `random` holds one uniform 32-bit word
 * per coordinate for stochastic rounding. DP noise is added to the words afterwards, in the
 * integers (common/dp/integer-noise.ts), so nothing here clamps it.
 */
export function quantizeInto(input: ArrayLike<number>, s: QuantizationSettings, random: Uint32Array, out: Uint32Array): Uint32Array {
  const d = input.length;
  if (out.length !== d || random.length < d) throw new Error('quantize: length mismatch');
  const c = s.clipRange;
  const levels = 2 ** s.quantizationBits - 1;
  const scale = levels / (2 * c);
  for (let i = 0; i < d; i++) {
    let x = input[i] as number;
    if (x !== x) notANumber(i);
    if (x > c) x = c;
    else if (x < -c) x = -c;
    const q = Math.floor((x + c) * scale + (random[i] as number) * 2.3283064365386963e-10);
    out[i] = q > levels ? levels : q;
  }
  return out;
}

function notANumber(index: number): never {
  throw new TroveError('INVALID_INPUT', 'The update contains a value that is not a number.', { index });
}

/**
 * Decodes a sum of `count` quantized vectors (taken modulo 2^m) back to floats, centred: the
 * result is exact for any sum within half the modulus of the offset count·(2^b - 1)/2, which
 * covers every sum of clamped inputs and leaves room for noise (recommendedRoundParams keeps two
 * spare bits).
 */
export function dequantizeSum(sum: Uint32Array, s: QuantizationSettings, count: number): Float64Array {
  const step = quantizationStep(s);
  const modulus = 2 ** (s.modulusBits ?? 32);
  const centre = (count * (2 ** s.quantizationBits - 1)) / 2;
  const out = new Float64Array(sum.length);
  for (let i = 0; i < sum.length; i++) {
    let diff = ((((sum[i] as number) - centre) % modulus) + modulus) % modulus;
    if (diff >= modulus / 2) diff -= modulus;
    out[i] = diff * step;
  }
  return out;
}
