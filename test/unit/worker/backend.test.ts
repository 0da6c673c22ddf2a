import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTrainingJobSpec } from '../../../common/jobspec.js';
import { loadTf, selectBackend, type NativeLoader } from '../../../worker/training/backend.js';
import { runLocalStep } from '../../../worker/training/local-step.js';
import { healthSpec, healthTable } from '../../fixtures/training-data.js';

const mlp = parseTrainingJobSpec(healthSpec());
const withDropout = parseTrainingJobSpec(
  healthSpec({ layers: [{ type: 'dense', units: 8, activation: 'relu' }, { type: 'dropout', rate: 0.2 }, { type: 'dense', units: 2, activation: 'softmax' }] }),
);

const notInstalled: NativeLoader = (pkg) => Promise.reject(Object.assign(new Error(`Cannot find package '${pkg}'`), { code: 'ERR_MODULE_NOT_FOUND' }));

/**
 * A native package that is installed and works, as far as the selection can tell: loading it
 * registers a 'tensorflow' backend, as @tensorflow/tfjs-node and -gpu do (here backed by the
 * plain JavaScript kernels, since the real packages cannot be installed on every machine).
 */
function installed(...present: Parameters<NativeLoader>[0][]): NativeLoader & { loaded: string[] } {
  const loaded: string[] = [];
  const loader = (pkg: Parameters<NativeLoader>[0]) => {
    loaded.push(pkg);
    if (!present.includes(pkg)) return notInstalled(pkg);
    if (!tf.findBackendFactory('tensorflow')) tf.registerBackend('tensorflow', tf.findBackendFactory('cpu')!);
    return Promise.resolve({});
  };
  return Object.assign(loader, { loaded });
}

afterEach(async () => {
  // Each case starts without a native backend, as a fresh worker would.
  if (tf.findBackendFactory('tensorflow')) {
    if (tf.getBackend() === 'tensorflow') await tf.setBackend('cpu');
    tf.removeBackend('tensorflow');
  }
});

describe('training backend selection', () => {
  it('falls through the native packages this machine lacks and says so', async () => {
    const choice = await selectBackend(mlp, { nativeLoader: notInstalled });
    expect(choice.backend).toBe('wasm');
    expect(choice.engine).toBe('dense-kernel');
    expect(choice.attempts.map((a) => [a.backend, a.ok])).toEqual([
      ['webgpu', false],
      ['tensorflow-gpu', false],
      ['tensorflow', false],
      ['wasm', true],
    ]);
    expect(choice.reason).toContain('@tensorflow/tfjs-node-gpu not installed');
    expect(choice.reason).toContain('built-in WebAssembly SIMD kernel');
  });

  it('uses the TensorFlow.js wasm backend for layers the built-in kernel does not cover', async () => {
    const choice = await selectBackend(withDropout, { nativeLoader: notInstalled });
    expect(choice).toMatchObject({ backend: 'wasm', engine: 'tfjs' });
    expect(choice.reason).toContain('dropout layer');
    expect(tf.getBackend()).toBe('wasm');
  });

  it('leaves TensorFlow.js on a working backend when a native package loads but does not start', async () => {
    // present but broken: the package loads, yet no 'tensorflow' backend gets registered
    const broken: NativeLoader = () => Promise.resolve({});
    const choice = await selectBackend(withDropout, { nativeLoader: broken });
    expect(choice.attempts[1]).toMatchObject({ backend: 'tensorflow-gpu', ok: false });
    expect(choice.attempts[2]).toMatchObject({ backend: 'tensorflow', ok: false });
    expect(choice.backend).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(2)).dataSync()[0])).toBe(3);
  });

  it('takes the native GPU package when it is installed and starts', async () => {
    const loader = installed('@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node');
    const choice = await selectBackend(withDropout, { nativeLoader: loader });
    expect(choice).toMatchObject({ backend: 'tensorflow-gpu', engine: 'tfjs' });
    expect(choice.reason).toContain('@tensorflow/tfjs-node-gpu is installed and initialized');
    expect(loader.loaded).toEqual(['@tensorflow/tfjs-node-gpu']);
    expect(tf.getBackend()).toBe('tensorflow');
  });

  it('takes the native CPU package when only it is installed, or when the GPU is turned off', async () => {
    const onlyCpu = await selectBackend(withDropout, { nativeLoader: installed('@tensorflow/tfjs-node') });
    expect(onlyCpu).toMatchObject({ backend: 'tensorflow', engine: 'tfjs' });
    expect(onlyCpu.reason).toContain('@tensorflow/tfjs-node-gpu not installed');
    tf.removeBackend('tensorflow');
    const loader = installed('@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node');
    const gpuOff = await selectBackend(withDropout, { nativeLoader: loader, gpu: false });
    expect(gpuOff.backend).toBe('tensorflow');
    expect(loader.loaded).toEqual(['@tensorflow/tfjs-node']);
  });

  it('positive control: the same selection without the packages lands on wasm, so the cases above saw them', async () => {
    const choice = await selectBackend(withDropout, { nativeLoader: installed() });
    expect(choice.backend).toBe('wasm');
  });

  it('can be told to start lower in the order', async () => {
    const choice = await selectBackend(withDropout, { from: 'cpu' });
    expect(choice).toMatchObject({ backend: 'cpu', engine: 'tfjs' });
    expect(tf.getBackend()).toBe('cpu');
  });

  it('trains on TensorFlow.js wasm with only the parts it depends on, all on one tfjs-core', async () => {
    const step = await runLocalStep({ spec: healthSpec({ layers: withDropout.model.layers, epochs: 1 }), data: healthTable(600, 3).rows, globalWeights: null }, { backend: { nativeLoader: notInstalled } });
    expect(step.backend).toMatchObject({ backend: 'wasm', engine: 'tfjs' });
    expect(step.metrics.trainLoss).toBeGreaterThan(0);
    // the tfjs-core this test imports is the one the worker trained on: the same engine, the wasm
    // backend active with its kernels registered there, and the gradients tfjs-layers registers
    const worker = await loadTf();
    expect(worker.engine()).toBe(tf.engine());
    expect(tf.getBackend()).toBe('wasm');
    expect(tf.getKernel('_FusedMatMul', 'wasm')).toBeDefined();
    expect(tf.getGradient('BatchMatMul')).toBeDefined();
    expect(tf.getGradient('Multiply')).toBeDefined();
    // and the umbrella package was never loaded
    const req = createRequire(import.meta.url);
    expect(Object.keys(req.cache).some((f) => /[/\\]@tensorflow[/\\]tfjs[/\\]dist[/\\]/.test(f))).toBe(false);
  });

  it('positive control: without tfjs-layers, tfjs-core alone has no gradients to train with', () => {
    // a fresh process each, since gradients once registered stay registered
    const script = (withLayers: boolean): string => `
      const tf = require('@tensorflow/tfjs-core'); require('@tensorflow/tfjs-backend-cpu');
      ${withLayers ? "require('@tensorflow/tfjs-layers');" : ''}
      tf.enableProdMode();
      const w = tf.variable(tf.ones([2, 2])); const x = tf.ones([4, 2]);
      try { tf.train.sgd(0.1).minimize(() => tf.mean(tf.matMul(x, w))); console.log('trained'); }
      catch (e) { console.log('failed: ' + e.message); }`;
    const without = spawnSync(process.execPath, ['-e', script(false)], { encoding: 'utf8' });
    expect(without.stdout).toMatch(/^failed: Cannot compute gradient: gradient function not found for /m);
    const withLayers = spawnSync(process.execPath, ['-e', script(true)], { encoding: 'utf8' });
    expect(withLayers.stdout.trim()).toBe('trained');
  });
});
