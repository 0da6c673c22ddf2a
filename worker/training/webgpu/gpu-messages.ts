// The messages between the training code and the GPU thread, declared once for both sides.
import type { DenseMlpShape, DenseOptimizer } from '../kernel/dense-mlp.js';

export interface GpuOpenOptions {
  /** Accept a CPU implementation of WebGPU (SwiftShader): tests and the benchmark. */
  allowSoftware?: boolean;
  /** WGSL to compile instead of the built-in kernels (a test's deliberately wrong kernel). */
  wgsl?: string;
}

export interface GpuTrainRequest {
  shape: DenseMlpShape;
  optimizer: DenseOptimizer;
  batchSize: number;
  weights: Float32Array;
  x: Float32Array;
  y: Float32Array;
  /** Row order of each epoch (indices into x / y). */
  epochs: Uint32Array[];
}

export type ToGpuThread =
  | { id: number; op: 'open'; options: GpuOpenOptions }
  | { id: number; op: 'train'; request: GpuTrainRequest }
  | { id: number; op: 'cancel' }
  /** Builds the kernels and buffers for a network without running them: what Dawn's validation says. */
  | { id: number; op: 'check'; shape: DenseMlpShape; optimizer: DenseOptimizer; batchSize: number }
  /** Destroys the device, as a driver reset or an unplugged GPU would (tests). */
  | { id: number; op: 'lose' };

export type FromGpuThread =
  | { id: number; kind: 'opened'; ok: true; adapterName: string; software: boolean }
  | { id: number; kind: 'opened'; ok: false; reason: string }
  /** A command buffer of batches finished: the thread is alive and the GPU is working. */
  | { id: number; kind: 'working' }
  | { id: number; kind: 'epoch'; epoch: number; losses: Float32Array; correct: Float32Array }
  | { id: number; kind: 'trained'; weights: Float32Array }
  | { id: number; kind: 'done' }
  | { id: number; kind: 'checked'; errors: string[] }
  | { id: number; kind: 'failed'; code: string; message: string };
