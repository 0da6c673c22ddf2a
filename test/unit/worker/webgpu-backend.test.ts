// The WebGPU step of backend selection, through Dawn for Node and SwiftShader's Vulkan driver (a
// CPU implementation of a GPU, found by the helper): what is skipped and why, a self-test that
// fails, and a GPU that fails during a step.
import { afterEach, describe, expect, it } from 'vitest';
import { isTroveError } from '../../../common/errors.js';
import { parseTrainingJobSpec } from '../../../common/jobspec.js';
import { forgetGpuFailure, recordGpuFailure, selectBackend, type NativeLoader } from '../../../worker/training/backend.js';
import { runLocalStep } from '../../../worker/training/local-step.js';
import { DENSE_MLP_WGSL } from '../../../worker/training/webgpu/dense-mlp.wgsl.js';
import { GpuSession } from '../../../worker/training/webgpu/gpu-session.js';
import { healthSpec, healthTable } from '../../fixtures/training-data.js';
import { useSwiftShader } from '../../helpers/webgpu.js';

useSwiftShader();
const mlp = parseTrainingJobSpec(healthSpec());
const notInstalled: NativeLoader = () => Promise.reject(Object.assign(new Error('not here'), { code: 'ERR_MODULE_NOT_FOUND' }));

afterEach(() => forgetGpuFailure());

describe('WebGPU backend selection', () => {
  it('skips a software adapter unless asked to accept one, naming it', async () => {
    const choice = await selectBackend(mlp, { nativeLoader: notInstalled });
    expect(choice.attempts[0]!.backend).toBe('webgpu');
    expect(choice.attempts[0]!.ok).toBe(false);
    expect(choice.attempts[0]!.detail).toMatch(/only a software adapter \(google swiftshader/);
    expect(choice).toMatchObject({ backend: 'wasm', engine: 'dense-kernel' });
    expect(choice.reason).toContain('only a software adapter');
  }, 60_000);

  it('turning the GPU off in Settings skips both GPU backends and says so', async () => {
    const choice = await selectBackend(mlp, { gpu: false, nativeLoader: notInstalled, webgpu: { allowSoftware: true } });
    expect(choice.attempts.slice(0, 2)).toEqual([
      { backend: 'webgpu', ok: false, detail: 'webgpu turned off in Settings' },
      { backend: 'tensorflow-gpu', ok: false, detail: 'tensorflow-gpu turned off in Settings' },
    ]);
    expect(choice.backend).toBe('wasm');
    expect(choice.gpu).toBeUndefined();
  });

  it('does not offer the GPU a model its kernels do not cover', async () => {
    const dropout = parseTrainingJobSpec(
      healthSpec({ layers: [{ type: 'dense', units: 8, activation: 'relu' }, { type: 'dropout', rate: 0.2 }, { type: 'dense', units: 2, activation: 'softmax' }] }),
    );
    const choice = await selectBackend(dropout, { nativeLoader: notInstalled, webgpu: { allowSoftware: true } });
    expect(choice.attempts[0]).toEqual({ backend: 'webgpu', ok: false, detail: 'webgpu: the GPU kernels do not cover dropout layer' });
  });

  it('falls back to the CPU kernel when the GPU fails its self-test, with the reason', async () => {
    // a kernel the driver cannot build stands for a broken driver
    const choice = await selectBackend(mlp, { nativeLoader: notInstalled, webgpu: { allowSoftware: true, wgsl: '@compute @workgroup_size(1) fn gather( {' } });
    expect(choice.attempts[0]!.ok).toBe(false);
    expect(choice.attempts[0]!.detail).toMatch(/^webgpu on google swiftshader .*self-test failed/);
    expect(choice).toMatchObject({ backend: 'wasm', engine: 'dense-kernel' });
    expect(choice.gpu).toBeUndefined();
  }, 60_000);

  it('after the GPU failed in a step, the next selection goes to the CPU and says why', async () => {
    recordGpuFailure('The GPU was lost during training (device was destroyed).');
    const choice = await selectBackend(mlp, { nativeLoader: notInstalled, webgpu: { allowSoftware: true } });
    expect(choice.attempts[0]!.detail).toBe('webgpu skipped: the GPU failed in an earlier step (The GPU was lost during training (device was destroyed).)');
    expect(choice.backend).toBe('wasm');
    // positive control: forgetting the failure lets the GPU step run again (it opens the adapter)
    forgetGpuFailure();
    const again = await selectBackend(mlp, { nativeLoader: notInstalled, webgpu: { allowSoftware: true, wgsl: 'not wgsl' } });
    expect(again.attempts[0]!.detail).toMatch(/^webgpu on google swiftshader/);
  }, 60_000);

  it('a device lost before a round fails the round with GPU_FAILED', async () => {
    const opened = await GpuSession.open({ allowSoftware: true });
    if (!opened.ok) throw new Error(opened.reason);
    await opened.session.loseDevice();
    const err = await opened.session
      .train({ shape: { sizes: [2, 2], hidden: [], loss: 'mse' }, optimizer: { kind: 'sgd', learningRate: 0.1 }, batchSize: 2, weights: new Float32Array(6), x: new Float32Array(4), y: new Float32Array(4), epochs: [Uint32Array.of(0, 1)] })
      .then(
        () => null,
        (e: unknown) => e,
      );
    await opened.session.close();
    expect(isTroveError(err, 'GPU_FAILED'), String(err)).toBe(true);
    expect((err as Error).message).toMatch(/lost/);
  }, 60_000);

  it('a local step that finds no usable GPU trains on the CPU and reports why', async () => {
    const table = healthTable(300, 5);
    const step = await runLocalStep({ spec: healthSpec({ epochs: 1 }), data: table.rows, globalWeights: null }, { backend: { nativeLoader: notInstalled } });
    expect(step.backend.backend).toBe('wasm');
    expect(step.backend.reason).toContain('webgpu: only a software adapter');
  }, 60_000);
});

describe('a GPU that does not answer', () => {
  it('counts as hung after the silence limit: the step is skipped with the reason, and the CPU trains', async () => {
    const choice = await selectBackend(mlp, { nativeLoader: notInstalled, webgpu: { allowSoftware: true, silenceLimitMs: 1 } });
    expect(choice.attempts[0]!.detail).toMatch(/^webgpu: no answer from the GPU within/);
    expect(choice).toMatchObject({ backend: 'wasm', engine: 'dense-kernel' });
  }, 60_000);
});

describe('the WGSL kernels', () => {
  it('build and pass Dawn validation for the reference MLP, the example job and a regressor; a broken kernel does not', async () => {
    const opened = await GpuSession.open({ allowSoftware: true });
    if (!opened.ok) throw new Error(opened.reason);
    const adam = { kind: 'adam', learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 } as const;
    try {
      expect(await opened.session.check({ sizes: [32, 64, 64, 2], hidden: ['relu', 'relu'], loss: 'softmax-crossentropy' }, adam, 256)).toEqual([]);
      expect(await opened.session.check({ sizes: [11, 16, 16, 2], hidden: ['relu', 'relu'], loss: 'softmax-crossentropy' }, adam, 64)).toEqual([]);
      expect(await opened.session.check({ sizes: [5, 8, 1], hidden: ['linear'], loss: 'mse' }, { kind: 'sgd', learningRate: 0.1 }, 16)).toEqual([]);
    } finally {
      await opened.session.close();
    }
    // positive control: the same check on kernels with a type error reports it
    const broken = await GpuSession.open({ allowSoftware: true, wgsl: DENSE_MLP_WGSL.replace('acc = 0.0;', 'acc = 0u;') });
    if (!broken.ok) throw new Error(broken.reason);
    try {
      const errors = await broken.session.check({ sizes: [4, 4, 2], hidden: ['relu'], loss: 'softmax-crossentropy' }, adam, 8);
      expect(errors.join(' ')).toMatch(/could not compile/);
    } finally {
      await broken.session.close();
    }
  }, 60_000);
});
