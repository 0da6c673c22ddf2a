// The built-in CPU trainer for plain dense networks (the allowlisted MLPs and logistic
// regression without dropout or batch normalization). TensorFlow.js on wasm spends most of a
// small MLP's step in per-op dispatch; this runs a whole training step as a handful of calls
// into one hand-written WebAssembly SIMD kernel (gemm.wat) over buffers laid out once.
//
// Layout: every matrix is row-major with its width padded to a multiple of 8 floats and the
// batch padded to a multiple of 4 rows; padding holds zeros, so padded columns stay zero through
// forward, backward and the optimizer. Weights enter and leave in the flat order TensorFlow.js
// uses for Dense layers (kernel [in x out] row-major, then bias [out], layer by layer).
import { gemmWasmBase64 } from './gemm-wasm.js';

export type DenseActivation = 'relu' | 'linear';
export type DenseLoss = 'softmax-crossentropy' | 'sigmoid-crossentropy' | 'mse';

export interface DenseMlpShape {
  /** Units per layer, input first: [32, 64, 64, 2]. */
  sizes: number[];
  /** Activation of each hidden layer (sizes.length - 2 entries). */
  hidden: DenseActivation[];
  loss: DenseLoss;
}

export type DenseOptimizer =
  | { kind: 'sgd'; learningRate: number }
  | { kind: 'adam'; learningRate: number; beta1: number; beta2: number; epsilon: number };

export interface BatchResult {
  loss: number;
  /** Correct predictions in the batch (classification losses only). */
  correct: number;
}

// The project compiles without the DOM library, so the few WebAssembly calls used are typed here.
interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface GemmExports {
  memory: WasmMemory;
  gemm: (
    a: number, ai: number, ak: number, b: number, ldb: number, c: number, ldc: number,
    m: number, k: number, n: number, mode: number, bias: number, post: number, mask: number,
  ) => void;
  colsum: (d: number, ld: number, m: number, n: number, out: number) => void;
  transpose: (src: number, lds: number, dst: number, ldd: number, rows: number, cols: number) => void;
  adam: (p: number, g: number, m: number, v: number, n: number, lr: number, b1: number, b2: number, eps: number, c1: number, c2: number) => void;
  gather: (src: number, width: number, order: number, n: number, dst: number, ldd: number) => void;
}

let compiled: object | undefined;

/**
 * One instance kept between local steps (a warm worker trains round after round): its memory is
 * already grown and paged in, which a fresh instance pays for again every step (tens of ms on a
 * busy machine for a 50k-row table). Handed back wiped; not kept past SPARE_LIMIT_BYTES.
 */
let spare: GemmExports | undefined;
const SPARE_LIMIT_BYTES = 256 * 1024 * 1024;

function gemmModule(): object {
  if (!compiled) {
    const bin = atob(gemmWasmBase64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    compiled = new WA.Module(bytes);
  }
  return compiled;
}

/** True when this runtime can run the kernel (WebAssembly with 128-bit SIMD). */
export function denseKernelAvailable(): { ok: true } | { ok: false; reason: string } {
  try {
    gemmModule();
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: `WebAssembly SIMD unavailable: ${(err as Error).message}` };
  }
}

const pad8 = (n: number): number => Math.ceil(n / 8) * 8;
const pad4 = (n: number): number => Math.ceil(n / 4) * 4;

interface LayerBuffers {
  din: number;
  dout: number;
  pin: number;
  pout: number;
  /** Byte offsets into wasm memory. */
  w: number;
  b: number;
  wt: number;
  gw: number;
  gb: number;
}

export class DenseMlpKernel {
  readonly shape: DenseMlpShape;
  readonly batchCapacity: number;
  readonly parameterCount: number;
  private readonly wasm: GemmExports;
  /** Views of the wasm memory, made again whenever it grows. */
  private f32: Float32Array;
  private u32: Uint32Array;
  /** Byte offset of the batch's row indices (batchCapacity u32). */
  private readonly orderBase: number;
  /** Where inputs copied in start (bytes): the end of the planned buffers. */
  private readonly inputBase: number;
  /** The input table the batches are gathered from, and its byte offset in wasm memory. */
  private bound: { x: Float32Array; at: number } | null = null;
  /** Set by release(): the instance may be another kernel's by then. */
  private released = false;
  private readonly layers: LayerBuffers[];
  /** Activation buffers A_0 (input) .. A_L (output), byte offsets. */
  private readonly acts: number[];
  /** Delta buffers D_1 .. D_L (index l holds dLoss/dA_l), byte offsets; D_0 unused. */
  private readonly deltas: number[];
  private readonly paramBase: number;
  private readonly gradBase: number;
  private readonly mBase: number;
  private readonly vBase: number;
  private readonly paddedParams: number;
  private step = 0;

  constructor(shape: DenseMlpShape, batchCapacity: number) {
    if (shape.sizes.length < 2 || shape.hidden.length !== shape.sizes.length - 2) {
      throw new Error('dense kernel: sizes and hidden activations do not match');
    }
    this.shape = { sizes: [...shape.sizes], hidden: [...shape.hidden], loss: shape.loss };
    this.batchCapacity = pad4(batchCapacity);
    const rows = this.batchCapacity;
    const sizes = shape.sizes;

    // Plan the memory: parameters | gradients | adam m | adam v | transposed weights | activations | deltas.
    let paramFloats = 0;
    const plan: { din: number; dout: number; pin: number; pout: number; w: number; b: number }[] = [];
    for (let l = 0; l + 1 < sizes.length; l++) {
      const din = sizes[l]!;
      const dout = sizes[l + 1]!;
      const pin = pad8(din);
      const pout = pad8(dout);
      plan.push({ din, dout, pin, pout, w: paramFloats, b: paramFloats + pin * pout });
      paramFloats += pin * pout + pout;
    }
    this.paddedParams = paramFloats;
    let cursor = 0;
    const take = (floats: number): number => {
      const at = cursor;
      cursor += floats * 4;
      return at;
    };
    this.paramBase = take(paramFloats);
    this.gradBase = take(paramFloats);
    this.mBase = take(paramFloats);
    this.vBase = take(paramFloats);
    this.layers = plan.map((p) => ({
      din: p.din, dout: p.dout, pin: p.pin, pout: p.pout,
      w: this.paramBase + p.w * 4,
      b: this.paramBase + p.b * 4,
      gw: this.gradBase + p.w * 4,
      gb: this.gradBase + p.b * 4,
      wt: take(p.pin * p.pout),
    }));
    this.acts = sizes.map((s) => take(rows * pad8(s)));
    this.deltas = sizes.map((s, l) => (l === 0 ? -1 : take(rows * pad8(s))));
    this.orderBase = take(rows);
    this.inputBase = Math.ceil(cursor / 64) * 64;

    this.wasm = spare ?? (new WA.Instance(gemmModule(), {}).exports as unknown as GemmExports);
    spare = undefined;
    this.f32 = new Float32Array(0);
    this.u32 = new Uint32Array(0);
    this.reserve(this.inputBase);
    // a kept instance was wiped when handed back; its layout was another model's
    this.f32.fill(0, 0, this.inputBase / 4);
    this.parameterCount = plan.reduce((n, p) => n + p.din * p.dout + p.dout, 0);
  }

  /** Grows the wasm memory to hold `bytes` and remakes the views (growing detaches the old ones). */
  private reserve(bytes: number): void {
    const pages = Math.ceil(bytes / 65536);
    const have = this.wasm.memory.buffer.byteLength / 65536;
    if (pages > have) this.wasm.memory.grow(pages - have);
    if (this.f32.buffer !== this.wasm.memory.buffer) {
      this.f32 = new Float32Array(this.wasm.memory.buffer);
      this.u32 = new Uint32Array(this.wasm.memory.buffer);
    }
  }

  /**
   * The byte offset of the input table x in wasm memory. A table is copied in once, on its first
   * batch (one copy per local step, against a row-by-row copy per batch), so it must not change
   * while this kernel trains on it: each step builds its matrix afresh.
   */
  private inputsAt(x: Float32Array): number {
    if (this.released) throw new Error('dense kernel: used after release');
    if (this.bound?.x === x) return this.bound.at;
    this.reserve(this.inputBase + x.byteLength);
    this.f32.set(x, this.inputBase / 4);
    this.bound = { x, at: this.inputBase };
    return this.inputBase;
  }

  /**
   * Ends this kernel's use of its instance: the memory (weights, batches, the copied input table)
   * is zeroed and the instance kept for the next kernel in this process, unless it grew too large.
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    const memory = this.wasm.memory.buffer;
    if (memory.byteLength > SPARE_LIMIT_BYTES) return;
    new Uint8Array(memory).fill(0);
    this.bound = null;
    spare = this.wasm;
  }

  /** Weights in TensorFlow.js order (kernel then bias, per layer). */
  getWeights(): Float32Array {
    if (this.released) throw new Error('dense kernel: used after release');
    const out = new Float32Array(this.parameterCount);
    let o = 0;
    for (const L of this.layers) {
      for (let i = 0; i < L.din; i++) {
        const row = L.w / 4 + i * L.pout;
        out.set(this.f32.subarray(row, row + L.dout), o);
        o += L.dout;
      }
      out.set(this.f32.subarray(L.b / 4, L.b / 4 + L.dout), o);
      o += L.dout;
    }
    return out;
  }

  setWeights(flat: Float32Array): void {
    if (this.released) throw new Error('dense kernel: used after release');
    if (flat.length !== this.parameterCount) {
      throw new Error(`dense kernel: expected ${this.parameterCount} weights, got ${flat.length}`);
    }
    this.f32.fill(0, this.paramBase / 4, this.paramBase / 4 + this.paddedParams);
    let o = 0;
    for (const L of this.layers) {
      for (let i = 0; i < L.din; i++) {
        this.f32.set(flat.subarray(o, o + L.dout), L.w / 4 + i * L.pout);
        o += L.dout;
      }
      this.f32.set(flat.subarray(o, o + L.dout), L.b / 4);
      o += L.dout;
    }
    this.refreshTransposes();
  }

  /** Forget optimizer state (a new round starts from fresh moments, as a new tfjs optimizer does). */
  resetOptimizer(): void {
    this.step = 0;
    this.f32.fill(0, this.mBase / 4, this.mBase / 4 + 2 * this.paddedParams);
  }

  private refreshTransposes(): void {
    for (const L of this.layers) this.wasm.transpose(L.w, L.pout, L.wt, L.pin, L.din, L.dout);
  }

  /** Gathers rows order[start..end) of x [rows x sizes[0]] into the input buffer (in wasm). */
  private loadInputs(x: Float32Array, order: Uint32Array | null, start: number, end: number): number {
    const width = this.shape.sizes[0]!;
    const stride = pad8(width);
    const at = this.inputsAt(x);
    const n = end - start;
    const padded = pad4(n);
    // rows past the batch are zero; the padding columns of every row stay as allocated (zero)
    if (padded !== n) this.f32.fill(0, this.acts[0]! / 4 + n * stride, this.acts[0]! / 4 + padded * stride);
    const o = this.orderBase / 4;
    if (order) this.u32.set(order.subarray(start, end), o);
    else for (let r = 0; r < n; r++) this.u32[o + r] = start + r;
    this.wasm.gather(at, width, this.orderBase, n, this.acts[0]!, stride);
    return padded;
  }

  private forward(padded: number): void {
    const last = this.layers.length - 1;
    for (let l = 0; l <= last; l++) {
      const L = this.layers[l]!;
      const relu = l < last && this.shape.hidden[l] === 'relu';
      this.wasm.gemm(this.acts[l]!, L.pin, 1, L.w, L.pout, this.acts[l + 1]!, L.pout, padded, L.din, L.pout, 2, L.b, relu ? 1 : 0, 0);
    }
  }

  /**
   * Writes dLoss/dZ of the output layer into its delta buffer and returns the batch's mean loss
   * and correct count. y holds targets [rows x outputs] (one-hot for softmax).
   */
  private outputDelta(y: Float32Array, order: Uint32Array | null, start: number, n: number, padded: number): BatchResult {
    const f = this.f32;
    const outs = this.shape.sizes[this.shape.sizes.length - 1]!;
    const stride = pad8(outs);
    const z = this.acts[this.acts.length - 1]! / 4;
    const d = this.deltas[this.deltas.length - 1]! / 4;
    f.fill(0, d, d + padded * stride);
    let loss = 0;
    let correct = 0;
    const inv = 1 / n;
    for (let r = 0; r < n; r++) {
      const zr = z + r * stride;
      const dr = d + r * stride;
      const yr = (order ? order[start + r]! : start + r) * outs;
      if (this.shape.loss === 'softmax-crossentropy') {
        let max = -Infinity;
        let arg = 0;
        for (let j = 0; j < outs; j++) if (f[zr + j]! > max) { max = f[zr + j]!; arg = j; }
        // exponentials once, kept in the delta row; a log only where the target has mass
        let sum = 0;
        for (let j = 0; j < outs; j++) {
          const e = Math.exp(f[zr + j]! - max);
          f[dr + j] = e;
          sum += e;
        }
        const logSum = Math.log(sum);
        const invSum = 1 / sum;
        let target = 0;
        let best = -Infinity;
        for (let j = 0; j < outs; j++) {
          const t = y[yr + j]!;
          if (t > best) { best = t; target = j; }
          if (t !== 0) loss -= t * (f[zr + j]! - max - logSum);
          f[dr + j] = (f[dr + j]! * invSum - t) * inv;
        }
        if (arg === target) correct++;
      } else if (this.shape.loss === 'sigmoid-crossentropy') {
        for (let j = 0; j < outs; j++) {
          const zj = f[zr + j]!;
          const t = y[yr + j]!;
          const p = 1 / (1 + Math.exp(-zj));
          // log(1 + e^-|z|) form, stable for large |z|
          loss += Math.max(zj, 0) - zj * t + Math.log1p(Math.exp(-Math.abs(zj)));
          f[dr + j] = ((p - t) * inv) / outs;
          if ((p >= 0.5 ? 1 : 0) === (t >= 0.5 ? 1 : 0)) correct += 1 / outs;
        }
      } else {
        for (let j = 0; j < outs; j++) {
          const e = f[zr + j]! - y[yr + j]!;
          loss += (e * e) / outs;
          f[dr + j] = (2 * e * inv) / outs;
        }
      }
    }
    return { loss: loss * inv, correct };
  }

  private backward(n: number, padded: number): void {
    for (let l = this.layers.length - 1; l >= 0; l--) {
      const L = this.layers[l]!;
      const dOut = this.deltas[l + 1]!;
      // dW = A_l^T . D_{l+1}  (only the batch's real rows)
      this.wasm.gemm(this.acts[l]!, 1, L.pin, dOut, L.pout, L.gw, L.pout, L.pin, n, L.pout, 0, 0, 0, 0);
      // db = column sums of D_{l+1}
      this.wasm.colsum(dOut, L.pout, n, L.pout, L.gb);
      if (l > 0) {
        // D_l = (D_{l+1} . W^T) masked by relu'(A_l), or unmasked for a linear layer
        const relu = this.shape.hidden[l - 1] === 'relu';
        this.wasm.gemm(dOut, L.pout, 1, L.wt, L.pin, this.deltas[l]!, L.pin, padded, L.dout, L.pin, 0, 0, relu ? 2 : 0, this.acts[l]!);
      }
    }
  }

  private update(opt: DenseOptimizer): void {
    this.step++;
    if (opt.kind === 'adam') {
      const t = this.step;
      const c1 = 1 / (1 - Math.pow(opt.beta1, t));
      const c2 = 1 / (1 - Math.pow(opt.beta2, t));
      this.wasm.adam(this.paramBase, this.gradBase, this.mBase, this.vBase, this.paddedParams, opt.learningRate, opt.beta1, opt.beta2, opt.epsilon, c1, c2);
    } else {
      const f = this.f32;
      const p = this.paramBase / 4;
      const g = this.gradBase / 4;
      const lr = opt.learningRate;
      for (let i = 0; i < this.paddedParams; i++) f[p + i]! -= lr * f[g + i]!;
    }
    this.refreshTransposes();
  }

  /** One optimizer step on rows order[start..end) (at most batchCapacity of them). */
  trainBatch(x: Float32Array, y: Float32Array, order: Uint32Array | null, start: number, end: number, opt: DenseOptimizer): BatchResult {
    const n = end - start;
    if (n <= 0 || n > this.batchCapacity) throw new Error(`dense kernel: batch of ${n} rows`);
    const padded = this.loadInputs(x, order, start, end);
    this.forward(padded);
    const result = this.outputDelta(y, order, start, n, padded);
    this.backward(n, padded);
    this.update(opt);
    return result;
  }

  /** Mean loss and correct count over the given rows (or rows [0, rows)) without training. */
  evaluate(x: Float32Array, y: Float32Array, which: number | Uint32Array): BatchResult {
    const order = typeof which === 'number' ? null : which;
    const rows = typeof which === 'number' ? which : which.length;
    let loss = 0;
    let correct = 0;
    for (let start = 0; start < rows; start += this.batchCapacity) {
      const end = Math.min(rows, start + this.batchCapacity);
      const padded = this.loadInputs(x, order, start, end);
      this.forward(padded);
      const r = this.outputDelta(y, order, start, end - start, padded);
      loss += r.loss * (end - start);
      correct += r.correct;
    }
    return { loss: rows > 0 ? loss / rows : 0, correct };
  }
}
