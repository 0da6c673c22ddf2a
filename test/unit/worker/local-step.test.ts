import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { isTroveError } from '../../../common/errors.js';
import type { TrainingProgress } from '../../../common/worker-protocol.js';
import { l2Norm, runLocalStep } from '../../../worker/training/local-step.js';
import { healthSpec, healthTable } from '../../fixtures/training-data.js';

const table = healthTable(1_500, 11);

async function failure(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isTroveError(err), String(err)).toBe(true);
  return err as { code: string; message: string };
}

describe('federated local step', () => {
  it('returns a clipped update, the example count and held-out metrics', async () => {
    const r = await runLocalStep({ spec: healthSpec({ epochs: 4 }), data: table.rows, globalWeights: null });
    expect(r.update).toBeInstanceOf(Float32Array);
    expect(r.update.length).toBe(11 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2);
    // 1500 rows, 20% held out
    expect(r.exampleCount).toBe(1_200);
    expect(r.metrics.heldOutExamples).toBe(300);
    expect(r.metrics.heldOutAccuracy).toBeGreaterThan(0.75);
    expect(r.metrics.heldOutLoss).toBeLessThan(0.6);
    expect(r.backend).toMatchObject({ backend: 'wasm', engine: 'dense-kernel' });
    expect(r.clipping.scale).toBe(1);
    expect(l2Norm(r.update)).toBeCloseTo(r.clipping.norm, 3);
  });

  it('is deterministic under a seed, and the seed matters', async () => {
    const a = await runLocalStep({ spec: healthSpec({ seed: 9 }), data: table.rows, globalWeights: null });
    const b = await runLocalStep({ spec: healthSpec({ seed: 9 }), data: table.rows, globalWeights: null });
    const c = await runLocalStep({ spec: healthSpec({ seed: 10 }), data: table.rows, globalWeights: null });
    expect(Buffer.from(a.update.buffer).equals(Buffer.from(b.update.buffer))).toBe(true);
    expect(a.metrics).toEqual(b.metrics);
    expect(Buffer.from(a.update.buffer).equals(Buffer.from(c.update.buffer))).toBe(false);
  });

  it('is deterministic on TensorFlow.js too (dropout and batch-norm)', async () => {
    const layers = [
      { type: 'dense' as const, units: 16, activation: 'relu' as const },
      { type: 'batch-norm' as const },
      { type: 'dropout' as const, rate: 0.3 },
      { type: 'dense' as const, units: 2, activation: 'softmax' as const },
    ];
    const run = () => runLocalStep({ spec: healthSpec({ layers, epochs: 2, seed: 4 }), data: table.rows, globalWeights: null });
    const a = await run();
    const b = await run();
    expect(a.backend).toMatchObject({ backend: 'wasm', engine: 'tfjs' });
    expect(Buffer.from(a.update.buffer).equals(Buffer.from(b.update.buffer))).toBe(true);
  });

  it('clips the update to the spec L2 norm', async () => {
    const r = await runLocalStep({ spec: healthSpec({ clipNorm: 0.5 }), data: table.rows, globalWeights: null });
    expect(r.clipping.norm).toBeGreaterThan(0.5);
    expect(r.clipping.scale).toBeLessThan(1);
    expect(l2Norm(r.update)).toBeCloseTo(0.5, 4);
  });

  it('starts from the global weights it is given', async () => {
    const first = await runLocalStep({ spec: healthSpec(), data: table.rows, globalWeights: null });
    const global = new Float32Array(first.update.length).fill(0.01);
    const second = await runLocalStep({ spec: healthSpec(), data: table.rows, globalWeights: global });
    expect(Buffer.from(second.update.buffer).equals(Buffer.from(first.update.buffer))).toBe(false);
    await expect(runLocalStep({ spec: healthSpec(), data: table.rows, globalWeights: new Float32Array(3) })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
  });

  it('reports progress for every batch and every epoch', async () => {
    const events: TrainingProgress[] = [];
    await runLocalStep({ spec: healthSpec({ epochs: 3, batchSize: 100 }), data: table.rows, globalWeights: null }, { onProgress: (p) => events.push(p) });
    // 1200 training rows in batches of 100
    expect(events.filter((e) => e.kind === 'batch')).toHaveLength(36);
    expect(events.filter((e) => e.kind === 'epoch').map((e) => e.epoch)).toEqual([0, 1, 2]);
  });

  it('stops within one batch of a cancel', async () => {
    const abort = new AbortController();
    let after = 0;
    const err = await failure(
      runLocalStep(
        { spec: healthSpec({ epochs: 50, batchSize: 16 }), data: table.rows, globalWeights: null },
        {
          signal: abort.signal,
          onProgress: (p) => {
            if (abort.signal.aborted) after++;
            if (p.kind === 'batch' && p.batch === 5) abort.abort();
          },
        },
      ),
    );
    expect(err.code).toBe('CANCELLED');
    expect(after).toBe(0);
  });

  it('rejects a bad spec before any training starts', async () => {
    let trained = false;
    const spec = healthSpec();
    spec.model.inputWidth = 40;
    const err = await failure(
      runLocalStep({ spec, data: table.rows, globalWeights: null }, { onBackend: () => (trained = true), onProgress: () => (trained = true) }),
    );
    expect(err.code).toBe('INVALID_JOB_SPEC');
    expect(trained).toBe(false);
  });

  it('leaks no tensors across rounds on TensorFlow.js', async () => {
    const layers = [
      { type: 'dense' as const, units: 16, activation: 'tanh' as const },
      { type: 'batch-norm' as const },
      { type: 'dense' as const, units: 2, activation: 'softmax' as const },
    ];
    const spec = healthSpec({ layers, epochs: 1 });
    let global: Float32Array | null = null;
    const counts: number[] = [];
    for (let round = 0; round < 3; round++) {
      const r = await runLocalStep({ spec, data: table.rows, globalWeights: global });
      global = r.update;
      counts.push(tf.memory().numTensors);
    }
    expect(counts[1]).toBe(counts[0]);
    expect(counts[2]).toBe(counts[0]);
  });
});
