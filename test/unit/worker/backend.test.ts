import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { parseTrainingJobSpec } from '../../../common/jobspec.js';
import { selectBackend, type NativeLoader } from '../../../worker/training/backend.js';
import { healthSpec } from '../../fixtures/training-data.js';

const mlp = parseTrainingJobSpec(healthSpec());
const withDropout = parseTrainingJobSpec(
  healthSpec({ layers: [{ type: 'dense', units: 8, activation: 'relu' }, { type: 'dropout', rate: 0.2 }, { type: 'dense', units: 2, activation: 'softmax' }] }),
);

const notInstalled: NativeLoader = () => Promise.reject(Object.assign(new Error("Cannot find package '@tensorflow/tfjs-node'"), { code: 'ERR_MODULE_NOT_FOUND' }));

describe('training backend selection', () => {
  it('falls through the native packages this machine lacks and says so', async () => {
    const choice = await selectBackend(mlp);
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

  it('can be told to start lower in the order', async () => {
    const choice = await selectBackend(withDropout, { from: 'cpu' });
    expect(choice).toMatchObject({ backend: 'cpu', engine: 'tfjs' });
    expect(tf.getBackend()).toBe('cpu');
  });
});
