/// <reference types="@webgpu/types" />
// The GPU trainer for plain dense networks: a round's rows, every epoch's order and the step
// schedule are uploaded once; each epoch is recorded as one sequence of dispatches per batch and
// submitted in a few command buffers; the per-batch losses come back once per epoch (a few bytes,
// for progress and the divergence check) and the weights once at the end.
//
// A device that is lost fails the round with GPU_FAILED; the caller falls back to the CPU for the
// next attempt.
import { TroveError } from '../../../common/errors.js';
import type { DenseMlpShape, DenseOptimizer } from '../kernel/dense-mlp.js';
import { DENSE_MLP_WGSL, ENTRY_POINTS, LOSS_CODE, PASS_FLOATS, type EntryPoint } from './dense-mlp.wgsl.js';

const SLOT_BYTES = 256;
/** Batches per command buffer: between two, the round checks cancel and says it is alive. */
const BATCHES_PER_SUBMIT = 16;

export interface GpuEpochOutcome {
  /** Mean loss of each batch, in order. */
  losses: Float32Array;
  /** Correct predictions of each batch (classification), in order. */
  correct: Float32Array;
}

export interface GpuRoundHooks {
  signal?: AbortSignal;
  /** After each command buffer the GPU finished. */
  onWorking?: () => void;
  onEpoch?: (epoch: number, outcome: GpuEpochOutcome) => void;
}

export interface DenseMlpGpuOptions {
  /** WGSL to compile instead of the built-in kernels (a test's deliberately wrong kernel). */
  wgsl?: string;
}

interface Dispatch {
  entry: EntryPoint;
  slot: number;
  x: number;
  y: number;
}

const pipelineCache = new WeakMap<GPUDevice, Map<string, Promise<Record<EntryPoint, GPUComputePipeline> & { layout: GPUBindGroupLayout }>>>();

function pipelinesFor(device: GPUDevice, wgsl: string): Promise<Record<EntryPoint, GPUComputePipeline> & { layout: GPUBindGroupLayout }> {
  let perDevice = pipelineCache.get(device);
  if (!perDevice) pipelineCache.set(device, (perDevice = new Map()));
  let built = perDevice.get(wgsl);
  if (!built) {
    built = (async () => {
      const storage = (type: GPUBufferBindingType): GPUBindGroupLayoutEntry['buffer'] => ({ type });
      const layout = device.createBindGroupLayout({
        entries: [
          { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: storage('storage') },
          { binding: 1, visibility: GPUShaderStage.COMPUTE, buffer: storage('read-only-storage') },
          { binding: 2, visibility: GPUShaderStage.COMPUTE, buffer: storage('read-only-storage') },
          { binding: 3, visibility: GPUShaderStage.COMPUTE, buffer: storage('read-only-storage') },
          { binding: 4, visibility: GPUShaderStage.COMPUTE, buffer: storage('read-only-storage') },
          { binding: 5, visibility: GPUShaderStage.COMPUTE, buffer: storage('storage') },
          { binding: 6, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true, minBindingSize: PASS_FLOATS * 4 } },
        ],
      });
      const module = device.createShaderModule({ code: wgsl });
      // a kernel that does not compile must not reach a pipeline (Dawn for Node can crash on one)
      const errors = (await module.getCompilationInfo()).messages.filter((m) => m.type === 'error');
      if (errors.length > 0) throw gpuFailed(`The GPU could not compile the training kernels: ${errors.map((m) => `line ${m.lineNum}: ${m.message}`).join('; ')}`);
      const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
      const pipelines = await Promise.all(
        ENTRY_POINTS.map((entryPoint) => device.createComputePipeline({ layout: pipelineLayout, compute: { module, entryPoint } })),
      );
      const out = { layout } as Record<EntryPoint, GPUComputePipeline> & { layout: GPUBindGroupLayout };
      ENTRY_POINTS.forEach((e, i) => (out[e] = pipelines[i]!));
      return out;
    })();
    perDevice.set(wgsl, built);
  }
  return built;
}

function gpuFailed(message: string, err?: unknown): TroveError {
  return new TroveError('GPU_FAILED', message, undefined, err === undefined ? undefined : { cause: err });
}

export class DenseMlpGpu {
  readonly shape: DenseMlpShape;
  readonly batchCapacity: number;
  readonly parameterCount: number;
  private readonly device: GPUDevice;
  private readonly opt: DenseOptimizer;
  private readonly pipelines: Record<EntryPoint, GPUComputePipeline> & { layout: GPUBindGroupLayout };
  private readonly arena: GPUBuffer;
  private readonly uniforms: GPUBuffer;
  private readonly program: Dispatch[];
  private readonly buffers: GPUBuffer[] = [];
  private lost: string | null = null;
  private readonly lostPromise: Promise<never>;
  private steps = 0;

  static async create(device: GPUDevice, shape: DenseMlpShape, batchCapacity: number, opt: DenseOptimizer, options: DenseMlpGpuOptions = {}): Promise<DenseMlpGpu> {
    const pipelines = await pipelinesFor(device, options.wgsl ?? DENSE_MLP_WGSL);
    return new DenseMlpGpu(device, shape, batchCapacity, opt, pipelines);
  }

  private constructor(
    device: GPUDevice,
    shape: DenseMlpShape,
    batchCapacity: number,
    opt: DenseOptimizer,
    pipelines: Record<EntryPoint, GPUComputePipeline> & { layout: GPUBindGroupLayout },
  ) {
    if (shape.sizes.length < 2 || shape.hidden.length !== shape.sizes.length - 2) throw new Error('dense GPU kernel: sizes and hidden activations do not match');
    this.device = device;
    this.shape = { sizes: [...shape.sizes], hidden: [...shape.hidden], loss: shape.loss };
    this.batchCapacity = batchCapacity;
    this.opt = opt;
    this.pipelines = pipelines;
    this.lostPromise = device.lost.then((info) => {
      this.lost = info.message || info.reason || 'unknown reason';
      throw gpuFailed(`The GPU was lost during training (${this.lost}).`);
    });
    this.lostPromise.catch(() => undefined);

    // Arena plan (floats): params | grads | adam m | adam v | activations A_0..A_L | deltas D_1..D_L.
    const sizes = this.shape.sizes;
    const L = sizes.length - 1;
    const layers: { din: number; dout: number; w: number; b: number }[] = [];
    let params = 0;
    for (let l = 0; l < L; l++) {
      const din = sizes[l]!;
      const dout = sizes[l + 1]!;
      layers.push({ din, dout, w: params, b: params + din * dout });
      params += din * dout + dout;
    }
    this.parameterCount = params;
    let cursor = 4 * params;
    const acts = sizes.map((s) => {
      const at = cursor;
      cursor += batchCapacity * s;
      return at;
    });
    const deltas = sizes.map((s, l) => {
      if (l === 0) return -1;
      const at = cursor;
      cursor += batchCapacity * s;
      return at;
    });
    this.arena = this.buffer(cursor * 4, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);

    // One uniform slot per dispatch of a training step; the step itself is replayed per batch.
    const slots: Float32Array[] = [];
    const program: Dispatch[] = [];
    const groups = (n: number, per: number): number => Math.max(1, Math.ceil(n / per));
    const slot = (fill: Partial<Record<'din' | 'dout' | 'aIn' | 'aOut' | 'w' | 'b' | 'gw' | 'gb' | 'dOut' | 'dIn' | 'relu' | 'count' | 'm' | 'v' | 'loss', number>>, floats?: { lr: number; beta1: number; beta2: number; eps: number }): number => {
      const buf = new ArrayBuffer(PASS_FLOATS * 4);
      const u = new Uint32Array(buf);
      const f = new Float32Array(buf);
      const order = ['din', 'dout', 'aIn', 'aOut', 'w', 'b', 'gw', 'gb', 'dOut', 'dIn', 'relu', 'count'] as const;
      order.forEach((k, i) => (u[i] = fill[k] ?? 0));
      if (floats) {
        f[12] = floats.lr;
        f[13] = floats.beta1;
        f[14] = floats.beta2;
        f[15] = floats.eps;
      }
      u[16] = fill.m ?? 0;
      u[17] = fill.v ?? 0;
      u[18] = fill.loss ?? 0;
      slots.push(f);
      return slots.length - 1;
    };
    const rows = groups(batchCapacity, 8);
    program.push({ entry: 'gather', slot: slot({ din: sizes[0]!, aOut: acts[0]! }), x: groups(sizes[0]!, 8), y: rows });
    for (let l = 0; l < L; l++) {
      const Ly = layers[l]!;
      const relu = l < L - 1 && this.shape.hidden[l] === 'relu' ? 1 : 0;
      program.push({ entry: 'forward', slot: slot({ din: Ly.din, dout: Ly.dout, aIn: acts[l]!, aOut: acts[l + 1]!, w: Ly.w, b: Ly.b, relu }), x: groups(Ly.dout, 8), y: rows });
    }
    program.push({ entry: 'outputDelta', slot: slot({ dout: sizes[L]!, aIn: acts[L]!, dOut: deltas[L]!, loss: LOSS_CODE[this.shape.loss] }), x: 1, y: 1 });
    for (let l = L - 1; l >= 0; l--) {
      const Ly = layers[l]!;
      program.push({
        entry: 'weightGrad',
        slot: slot({ din: Ly.din, dout: Ly.dout, aIn: acts[l]!, dOut: deltas[l + 1]!, gw: params + Ly.w, gb: params + Ly.b }),
        x: groups(Ly.dout, 8),
        y: groups(Ly.din + 1, 8),
      });
      if (l > 0) {
        const relu = this.shape.hidden[l - 1] === 'relu' ? 1 : 0;
        program.push({ entry: 'inputDelta', slot: slot({ din: Ly.din, dout: Ly.dout, aIn: acts[l]!, dOut: deltas[l + 1]!, dIn: deltas[l]!, w: Ly.w, relu }), x: groups(Ly.din, 8), y: rows });
      }
    }
    const paramGroups = groups(params, 64);
    const optimizerDispatch = { x: Math.min(paramGroups, 65535), y: groups(paramGroups, 65535) };
    if (opt.kind === 'adam') {
      program.push({ entry: 'adam', slot: slot({ w: 0, gw: params, m: 2 * params, v: 3 * params, count: params }, { lr: opt.learningRate, beta1: opt.beta1, beta2: opt.beta2, eps: opt.epsilon }), ...optimizerDispatch });
    } else {
      program.push({ entry: 'sgd', slot: slot({ w: 0, gw: params, count: params }, { lr: opt.learningRate, beta1: 0, beta2: 0, eps: 0 }), ...optimizerDispatch });
    }
    program.push({ entry: 'advance', slot: slot({}), x: 1, y: 1 });
    this.program = program;

    this.uniforms = this.buffer(slots.length * SLOT_BYTES, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    const staged = new Uint8Array(slots.length * SLOT_BYTES);
    slots.forEach((f, i) => staged.set(new Uint8Array(f.buffer), i * SLOT_BYTES));
    device.queue.writeBuffer(this.uniforms, 0, staged);
  }

  /** A buffer that lives as long as this trainer (owned) or only for one round. */
  private buffer(size: number, usage: number, owned = true): GPUBuffer {
    const b = this.device.createBuffer({ size: Math.max(16, Math.ceil(size / 4) * 4), usage });
    if (owned) this.buffers.push(b);
    return b;
  }

  private upload(data: ArrayBufferView & { byteLength: number }, usage: number): GPUBuffer {
    const b = this.buffer(data.byteLength, usage | GPUBufferUsage.COPY_DST, false);
    this.device.queue.writeBuffer(b, 0, data.buffer, data.byteOffset, data.byteLength);
    return b;
  }

  /** Sets the weights (TensorFlow.js's flat order) and starts the optimizer afresh, as a new round does. */
  setWeights(flat: Float32Array): void {
    if (flat.length !== this.parameterCount) throw new Error(`dense GPU kernel: expected ${this.parameterCount} weights, got ${flat.length}`);
    const start = new Float32Array(4 * this.parameterCount);
    start.set(flat);
    this.device.queue.writeBuffer(this.arena, 0, start);
    this.steps = 0;
  }

  /**
   * Waits for the GPU, failing on a lost device. No timer runs here: Dawn for Node crashes when a
   * timer is pending while it waits, so the watchdog for a hung GPU lives with the caller, on
   * another thread (gpu-session.ts).
   */
  private async await<T>(work: Promise<T>): Promise<T> {
    if (this.lost !== null) throw gpuFailed(`The GPU was lost during training (${this.lost}).`);
    try {
      return await Promise.race([work, this.lostPromise]);
    } catch (err) {
      if (err instanceof TroveError) throw err;
      throw gpuFailed(`The GPU failed during training: ${(err as Error).message}`, err);
    }
  }

  private async read(src: GPUBuffer, offset: number, bytes: number): Promise<ArrayBuffer> {
    const staging = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    try {
      const enc = this.device.createCommandEncoder();
      enc.copyBufferToBuffer(src, offset, staging, 0, bytes);
      this.device.queue.submit([enc.finish()]);
      await this.await(staging.mapAsync(GPUMapMode.READ));
      return staging.getMappedRange().slice(0);
    } finally {
      staging.destroy();
    }
  }

  /**
   * Trains epochs.length epochs: epoch e visits rows epochs[e] (indices into x / y) in batches of
   * batchCapacity. x is [rows x inputs], y [rows x outputs], both uploaded once.
   */
  async trainRound(x: Float32Array, y: Float32Array, epochs: Uint32Array[], hooks: GpuRoundHooks = {}): Promise<void> {
    const cap = this.batchCapacity;
    const perEpoch = epochs.map((o) => Math.ceil(o.length / cap));
    const totalSteps = perEpoch.reduce((a, b) => a + b, 0);
    const order = new Uint32Array(epochs.reduce((n, o) => n + o.length, 0));
    const schedule = new Uint32Array(totalSteps * 4);
    const scheduleF = new Float32Array(schedule.buffer);
    let at = 0;
    let step = 0;
    for (const o of epochs) {
      order.set(o, at);
      for (let s = 0; s < o.length; s += cap) {
        const t = this.steps + step + 1;
        schedule[step * 4] = at + s;
        schedule[step * 4 + 1] = Math.min(cap, o.length - s);
        if (this.opt.kind === 'adam') {
          scheduleF[step * 4 + 2] = 1 / (1 - Math.pow(this.opt.beta1, t));
          scheduleF[step * 4 + 3] = 1 / (1 - Math.pow(this.opt.beta2, t));
        }
        step++;
      }
      at += o.length;
    }
    const limit = this.device.limits.maxStorageBufferBindingSize;
    if (x.byteLength > limit || y.byteLength > limit) throw gpuFailed(`The training rows (${x.byteLength} bytes) do not fit in one GPU buffer (at most ${limit}).`);

    const local: GPUBuffer[] = [];
    const keep = (b: GPUBuffer): GPUBuffer => (local.push(b), b);
    try {
      const xs = keep(this.upload(x, GPUBufferUsage.STORAGE));
      const ys = keep(this.upload(y, GPUBufferUsage.STORAGE));
      const ord = keep(this.upload(order, GPUBufferUsage.STORAGE));
      const sched = keep(this.upload(schedule, GPUBufferUsage.STORAGE));
      const state = keep(this.buffer(4 * (1 + 2 * totalSteps), GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, false));
      this.device.queue.writeBuffer(state, 0, new Uint32Array(1));
      const fence = keep(this.buffer(4, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, false));
      const bindGroup = this.device.createBindGroup({
        layout: this.pipelines.layout,
        entries: [
          { binding: 0, resource: { buffer: this.arena } },
          { binding: 1, resource: { buffer: xs } },
          { binding: 2, resource: { buffer: ys } },
          { binding: 3, resource: { buffer: ord } },
          { binding: 4, resource: { buffer: sched } },
          { binding: 5, resource: { buffer: state } },
          { binding: 6, resource: { buffer: this.uniforms, size: PASS_FLOATS * 4 } },
        ],
      });

      let first = 0;
      for (let e = 0; e < epochs.length; e++) {
        const batches = perEpoch[e]!;
        for (let b = 0; b < batches; b += BATCHES_PER_SUBMIT) {
          if (hooks.signal?.aborted) throw new TroveError('CANCELLED', 'Training was cancelled.');
          const enc = this.device.createCommandEncoder();
          const pass = enc.beginComputePass();
          for (let k = b; k < Math.min(batches, b + BATCHES_PER_SUBMIT); k++) {
            for (const d of this.program) {
              pass.setPipeline(this.pipelines[d.entry]);
              pass.setBindGroup(0, bindGroup, [d.slot * SLOT_BYTES]);
              pass.dispatchWorkgroups(d.x, d.y);
            }
          }
          pass.end();
          // a 4-byte readback of the step counter is the fence (it also keeps the queue short)
          enc.copyBufferToBuffer(state, 0, fence, 0, 4);
          this.device.queue.submit([enc.finish()]);
          await this.await(fence.mapAsync(GPUMapMode.READ));
          fence.unmap();
          hooks.onWorking?.();
        }
        const words = new Float32Array(await this.read(state, 4 * (1 + 2 * first), 8 * batches));
        const losses = new Float32Array(batches);
        const correct = new Float32Array(batches);
        for (let k = 0; k < batches; k++) {
          losses[k] = words[2 * k]!;
          correct[k] = words[2 * k + 1]!;
        }
        first += batches;
        hooks.onEpoch?.(e, { losses, correct });
      }
      this.steps += totalSteps;
    } finally {
      for (const b of local) b.destroy();
    }
  }

  /** The weights, read back from the GPU, in TensorFlow.js's flat order. */
  async getWeights(): Promise<Float32Array> {
    return new Float32Array(await this.read(this.arena, 0, 4 * this.parameterCount));
  }

  /** Frees the GPU buffers (the device stays open for the next round). */
  dispose(): void {
    for (const b of this.buffers) b.destroy();
    this.buffers.length = 0;
  }
}
