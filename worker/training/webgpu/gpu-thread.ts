/// <reference types="@webgpu/types" />
// The GPU thread: holds the WebGPU device and runs the dense trainer on it, answering the
// training code's messages. It only ever waits on the GPU, never computes, so its event loop
// keeps turning (Dawn for Node needs that; see gpu.ts).
import { parentPort } from 'node:worker_threads';
import { isTroveError } from '../../../common/errors.js';
import { DenseMlpGpu } from './dense-mlp-gpu.js';
import { openGpu } from './gpu.js';
import type { FromGpuThread, GpuOpenOptions, ToGpuThread } from './gpu-messages.js';

const port = parentPort;
if (!port) throw new Error('gpu-thread.ts runs as a worker thread');

let device: GPUDevice | undefined;
let options: GpuOpenOptions = {};
let abort: AbortController | undefined;

const post = (m: FromGpuThread): void => port.postMessage(m);

function fail(id: number, err: unknown): void {
  if (isTroveError(err)) post({ id, kind: 'failed', code: err.code, message: err.message });
  else post({ id, kind: 'failed', code: 'GPU_FAILED', message: `The GPU failed during training: ${(err as Error)?.message ?? String(err)}` });
}

port.on('message', (msg: ToGpuThread) => {
  void handle(msg);
});

async function handle(msg: ToGpuThread): Promise<void> {
  switch (msg.op) {
    case 'open': {
      options = msg.options;
      const found = await openGpu({ allowSoftware: msg.options.allowSoftware === true });
      if (!found.ok) {
        post({ id: msg.id, kind: 'opened', ok: false, reason: found.reason });
        return;
      }
      device = found.device;
      post({ id: msg.id, kind: 'opened', ok: true, adapterName: found.adapterName, software: found.software });
      return;
    }
    case 'check': {
      if (!device) {
        post({ id: msg.id, kind: 'failed', code: 'GPU_FAILED', message: 'No GPU is open.' });
        return;
      }
      device.pushErrorScope('validation');
      let engine: DenseMlpGpu | undefined;
      const errors: string[] = [];
      try {
        engine = await DenseMlpGpu.create(device, msg.shape, msg.batchSize, msg.optimizer, options.wgsl !== undefined ? { wgsl: options.wgsl } : {});
      } catch (err) {
        errors.push((err as Error).message);
      }
      const scoped = await device.popErrorScope();
      if (scoped) errors.push(scoped.message);
      engine?.dispose();
      post({ id: msg.id, kind: 'checked', errors });
      return;
    }
    case 'cancel':
      abort?.abort();
      return;
    case 'lose':
      if (device) {
        device.destroy();
        await device.lost;
      }
      post({ id: msg.id, kind: 'done' });
      return;
    case 'train': {
      if (!device) {
        post({ id: msg.id, kind: 'failed', code: 'GPU_FAILED', message: 'No GPU is open.' });
        return;
      }
      const r = msg.request;
      let engine: DenseMlpGpu | undefined;
      abort = new AbortController();
      try {
        engine = await DenseMlpGpu.create(device, r.shape, r.batchSize, r.optimizer, options.wgsl !== undefined ? { wgsl: options.wgsl } : {});
        engine.setWeights(r.weights);
        await engine.trainRound(r.x, r.y, r.epochs, {
          signal: abort.signal,
          onWorking: () => post({ id: msg.id, kind: 'working' }),
          onEpoch: (epoch, outcome) => post({ id: msg.id, kind: 'epoch', epoch, losses: outcome.losses, correct: outcome.correct }),
        });
        post({ id: msg.id, kind: 'trained', weights: await engine.getWeights() });
      } catch (err) {
        fail(msg.id, err);
      } finally {
        engine?.dispose();
        abort = undefined;
      }
      return;
    }
  }
}
