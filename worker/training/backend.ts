// Chooses where training runs, in the order the product promises: the GPU through WebGPU (any
// vendor, no CUDA), native TensorFlow with CUDA, native TensorFlow on the CPU, WebAssembly, then
// plain JavaScript. Every step can fail (optional packages, no adapter, a GPU that fails its
// self-test or failed before); the choice and the reason for each skipped step are reported to
// the UI and the log. The person can turn the GPU off in Settings.
//
// "wasm" has two engines: plain dense networks (the allowlisted MLPs and logistic regression)
// train on the worker's own fused WebAssembly SIMD kernel, anything else (dropout, batch-norm,
// other activations) on TensorFlow.js's wasm backend.
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import { TroveError } from '../../common/errors.js';
import type { TrainingJobSpec } from '../../common/jobspec.js';
import { denseKernelAvailable } from './kernel/dense-mlp.js';
import { denseOptimizerOf, denseShapeOf } from './dense-spec.js';
import { GpuSession, type GpuSessionOptions } from './webgpu/gpu-session.js';
import { selfTestGpu } from './webgpu/self-test.js';

export const BACKEND_ORDER = ['webgpu', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];
export type Engine = 'tfjs' | 'dense-kernel' | 'webgpu';

export interface BackendAttempt {
  backend: BackendName;
  ok: boolean;
  detail: string;
}

export interface BackendChoice {
  backend: BackendName;
  engine: Engine;
  /** One sentence for the UI and the log: what was chosen and why. */
  reason: string;
  attempts: BackendAttempt[];
  /** The open GPU when engine is 'webgpu'; whoever trains on it closes it. */
  gpu?: GpuSession;
}

/** Why the GPU is not tried again: it failed in an earlier step of this worker. */
let gpuFailure: string | null = null;
/** Why no GPU could be opened, per way of opening: adapters do not appear while a worker runs. */
const gpuMissing = new Map<string, string>();
/**
 * Native packages found not installed: packages do not appear while a worker runs either, and a
 * failed import is resolved again every time (10-25 ms per step on a busy machine).
 */
const nativeMissing = new Map<string, string>();

/** A GPU that failed mid-round (lost, hung) is skipped from then on, until the worker restarts. */
export function recordGpuFailure(message: string): void {
  gpuFailure = message;
}

/** Lets the next step try the GPU and the native packages again (the person turned the GPU back on, or a test starts afresh). */
export function forgetGpuFailure(): void {
  gpuFailure = null;
  gpuMissing.clear();
  nativeMissing.clear();
}

/**
 * The parts of TensorFlow.js the worker uses, not the umbrella @tensorflow/tfjs (which adds WebGL,
 * the converter and tfjs-data): tfjs-core (tensors, optimizers, the backend registry), tfjs-layers
 * (models; its bundle also registers every gradient into tfjs-core's registry) and the CPU and
 * wasm backends. Training calls ops as functions (tf.mean(x)), never as chained methods (x.mean()),
 * which only the umbrella adds to tensors. The optional native packages bring the umbrella for
 * themselves; it requires the same tfjs-core, so their backend registers where this one looks.
 */
export type Tf = typeof TfCore & Pick<typeof TfLayers, 'sequential' | 'layers' | 'metrics'>;

let tfModule: Tf | undefined;

export async function loadTf(): Promise<Tf> {
  if (!tfModule) {
    const [core, layers] = await Promise.all([import('@tensorflow/tfjs-core'), import('@tensorflow/tfjs-layers')]);
    // the plain JavaScript backend, the last step of the order
    await import('@tensorflow/tfjs-backend-cpu');
    // Production mode: no per-op debug checks, and no console advice to install tfjs-node.
    core.enableProdMode();
    tfModule = { ...core, sequential: layers.sequential, layers: layers.layers, metrics: layers.metrics };
  }
  return tfModule;
}

/** Whether a model can run on the fused dense kernel, and if not, why. */
export function denseKernelFit(spec: Pick<TrainingJobSpec, 'model' | 'optimizer'>): { ok: true } | { ok: false; reason: string } {
  const layers = spec.model.layers;
  if (spec.optimizer.kind !== 'sgd' && spec.optimizer.kind !== 'adam') return { ok: false, reason: `optimizer ${spec.optimizer.kind}` };
  for (let i = 0; i < layers.length; i++) {
    const l = layers[i]!;
    if (l.type !== 'dense') return { ok: false, reason: `${l.type} layer` };
    if (!l.useBias) return { ok: false, reason: 'dense layer without bias' };
    const last = i === layers.length - 1;
    if (!last && l.activation !== 'relu' && l.activation !== 'linear') return { ok: false, reason: `${l.activation} hidden activation` };
    if (last) {
      const loss = spec.model.loss;
      const fits =
        (loss === 'categorical-crossentropy' && l.activation === 'softmax') ||
        (loss === 'binary-crossentropy' && l.activation === 'sigmoid') ||
        (loss === 'mean-squared-error' && l.activation === 'linear');
      if (!fits) return { ok: false, reason: `${l.activation} output with ${loss}` };
    }
  }
  return { ok: true };
}

/** How to load a native TensorFlow.js package; replaceable in tests. */
export type NativeLoader = (pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node') => Promise<unknown>;

const defaultNativeLoader: NativeLoader = (pkg) => import(pkg);

function isNotInstalled(err: unknown): boolean {
  const code = (err as { code?: string })?.code;
  return code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND';
}

function describeLoadError(err: unknown): string {
  const e = err as { code?: string; message?: string };
  if (isNotInstalled(err)) return 'not installed';
  return `failed to load (${(e?.message ?? String(err)).split('\n')[0]})`;
}

export interface SelectOptions {
  /** Start the search further down the order. */
  from?: BackendName;
  /** The person's setting: false skips every GPU backend. Default true. */
  gpu?: boolean;
  nativeLoader?: NativeLoader;
  /** How the WebGPU step opens its GPU (tests and the benchmark accept a software adapter). */
  webgpu?: GpuSessionOptions;
}

/**
 * Picks the first backend that loads and initializes, and leaves TensorFlow.js set to it (a
 * failed setBackend leaves tfjs pointing at the broken backend, so every failure is followed by
 * a successful switch before this returns).
 */
export async function selectBackend(spec: Pick<TrainingJobSpec, 'model' | 'optimizer'>, options: SelectOptions = {}): Promise<BackendChoice> {
  // TensorFlow.js is loaded only when an engine needs it: the dense kernel does not.
  let tf: Tf | undefined;
  const load = options.nativeLoader ?? defaultNativeLoader;
  const attempts: BackendAttempt[] = [];
  const start = BACKEND_ORDER.indexOf(options.from ?? 'webgpu');
  const fit = denseKernelFit(spec);

  for (const backend of BACKEND_ORDER.slice(start)) {
    if (options.gpu === false && (backend === 'webgpu' || backend === 'tensorflow-gpu')) {
      attempts.push({ backend, ok: false, detail: `${backend} turned off in Settings` });
      continue;
    }
    if (backend === 'webgpu') {
      const gpu = await tryWebGpu(spec, fit, options.webgpu);
      attempts.push({ backend, ok: gpu.ok, detail: gpu.detail });
      if (gpu.ok) {
        const choice = finish(backend, 'webgpu', `the model is a plain dense network: it trains on the GPU (${gpu.session.adapterName}) through WebGPU`);
        return { ...choice, gpu: gpu.session };
      }
      continue;
    }
    if (backend === 'tensorflow-gpu' || backend === 'tensorflow') {
      const pkg = backend === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
      // only the real loader's answer is remembered (tests swap loaders between calls)
      const remember = options.nativeLoader === undefined;
      const missing = remember ? nativeMissing.get(pkg) : undefined;
      if (missing !== undefined) {
        attempts.push({ backend, ok: false, detail: missing });
        continue;
      }
      try {
        await load(pkg);
        tf ??= await loadTf();
        // both native packages register their backend as 'tensorflow'
        if (!(await tf.setBackend('tensorflow'))) throw new Error('backend did not initialize');
        attempts.push({ backend, ok: true, detail: `${pkg} loaded` });
        return finish(backend, 'tfjs', `${pkg} is installed and initialized`);
      } catch (err) {
        const detail = `${pkg} ${describeLoadError(err)}`;
        if (remember && isNotInstalled(err)) nativeMissing.set(pkg, detail);
        attempts.push({ backend, ok: false, detail });
        continue;
      }
    }
    if (backend === 'wasm') {
      if (fit.ok) {
        const kernel = denseKernelAvailable();
        if (kernel.ok) {
          attempts.push({ backend, ok: true, detail: 'fused dense kernel (WebAssembly SIMD)' });
          if (tf) await ensureCpuFallback(tf);
          return finish(backend, 'dense-kernel', 'the model is a plain dense network: it trains on the built-in WebAssembly SIMD kernel');
        }
        attempts.push({ backend, ok: false, detail: kernel.reason });
      }
      try {
        tf ??= await loadTf();
        await import('@tensorflow/tfjs-backend-wasm');
        if (!(await tf.setBackend('wasm'))) throw new Error('backend did not initialize');
        attempts.push({ backend, ok: true, detail: '@tensorflow/tfjs-backend-wasm initialized' });
        return finish(backend, 'tfjs', fit.ok ? 'TensorFlow.js WebAssembly backend' : `TensorFlow.js WebAssembly backend (the built-in kernel does not cover: ${fit.reason})`);
      } catch (err) {
        attempts.push({ backend, ok: false, detail: `@tensorflow/tfjs-backend-wasm ${describeLoadError(err)}` });
        continue;
      }
    }
    if (backend === 'cpu') {
      tf ??= await loadTf();
      if (await tf.setBackend('cpu')) {
        attempts.push({ backend, ok: true, detail: 'TensorFlow.js plain JavaScript backend' });
        return finish(backend, 'tfjs', 'plain JavaScript backend (slowest)');
      }
      attempts.push({ backend, ok: false, detail: 'cpu backend did not initialize' });
    }
  }
  throw new TroveError('BACKEND_UNAVAILABLE', 'No training backend could be started on this machine.', { attempts });

  function finish(backend: BackendName, engine: Engine, why: string): BackendChoice {
    const skipped = attempts.filter((a) => !a.ok).map((a) => a.detail);
    const reason = skipped.length > 0 ? `${backend}: ${why}; skipped ${skipped.join(', ')}` : `${backend}: ${why}`;
    return { backend, engine, reason, attempts };
  }
}

/** Opens the GPU and checks it against the CPU kernel on the job's own network. */
async function tryWebGpu(
  spec: Pick<TrainingJobSpec, 'model' | 'optimizer'>,
  fit: { ok: true } | { ok: false; reason: string },
  options: GpuSessionOptions | undefined,
): Promise<{ ok: true; session: GpuSession; detail: string } | { ok: false; detail: string }> {
  if (!fit.ok) return { ok: false, detail: `webgpu: the GPU kernels do not cover ${fit.reason}` };
  if (gpuFailure !== null) return { ok: false, detail: `webgpu skipped: the GPU failed in an earlier step (${gpuFailure})` };
  const key = JSON.stringify(options ?? {});
  const missing = gpuMissing.get(key);
  if (missing !== undefined) return { ok: false, detail: `webgpu: ${missing}` };
  const opened = await GpuSession.open(options);
  if (!opened.ok) {
    gpuMissing.set(key, opened.reason);
    return { ok: false, detail: `webgpu: ${opened.reason}` };
  }
  const session = opened.session;
  const full = spec as TrainingJobSpec;
  try {
    const test = await selfTestGpu(session, denseShapeOf(full), denseOptimizerOf(full));
    if (test.ok) return { ok: true, session, detail: `WebGPU on ${session.adapterName}${session.software ? ' (a software adapter)' : ''}, ${test.detail}` };
    await session.close();
    return { ok: false, detail: `webgpu on ${session.adapterName}: ${test.detail}` };
  } catch (err) {
    await session.close();
    return { ok: false, detail: `webgpu on ${session.adapterName}: self-test failed (${(err as Error).message})` };
  }
}

/** After a native backend failed to initialize, leave TensorFlow.js on a working backend. */
async function ensureCpuFallback(tf: Tf): Promise<void> {
  const current = tf.getBackend();
  if (current !== 'cpu' && current !== 'wasm') await tf.setBackend('cpu');
}
