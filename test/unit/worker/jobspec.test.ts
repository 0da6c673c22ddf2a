import { describe, expect, it } from 'vitest';
import { isTroveError } from '../../../common/errors.js';
import { columnsReadBy, parameterCountOf, parseTrainingJobSpec, type TrainingJobSpecInput } from '../../../common/jobspec.js';
import { healthSpec } from '../../fixtures/training-data.js';

function rejection(input: unknown): { path: string; message: string } {
  try {
    parseTrainingJobSpec(input);
  } catch (err) {
    expect(isTroveError(err, 'INVALID_JOB_SPEC')).toBe(true);
    return { path: String((err as { details: { path: string } }).details.path), message: (err as Error).message };
  }
  throw new Error('the spec was accepted');
}

function withModel(edit: (spec: TrainingJobSpecInput) => void): TrainingJobSpecInput {
  const spec = structuredClone(healthSpec());
  edit(spec);
  return spec;
}

describe('training job spec', () => {
  it('accepts a well-formed spec and fills the documented defaults', () => {
    const spec = parseTrainingJobSpec(healthSpec());
    expect(spec.model.inputWidth).toBe(11);
    expect(spec.optimizer).toMatchObject({ kind: 'adam', beta1: 0.9, beta2: 0.999, epsilon: 1e-7 });
    expect(columnsReadBy(spec)).toEqual(['age', 'resting_heart_rate', 'sleep_hours', 'smoker', 'region', 'health']);
    expect(parameterCountOf(spec.model)).toBe(11 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2);
  });

  it('rejects a layer that is not on the allowlist', () => {
    const r = rejection(withModel((s) => (s.model.layers[0] = { type: 'lambda', units: 3 } as never)));
    expect(r.path).toBe('model.layers.0.type');
  });

  it('rejects fields a layer does not have (no code smuggled in)', () => {
    const r = rejection(withModel((s) => (s.model.layers[0] = { type: 'dense', units: 16, activation: 'relu', code: 'fetch()' } as never)));
    expect(r.path).toBe('model.layers.0');
  });

  it('rejects an activation that is not on the allowlist', () => {
    expect(rejection(withModel((s) => (s.model.layers[0] = { type: 'dense', units: 16, activation: 'eval' as 'relu' }))).path).toBe('model.layers.0.activation');
  });

  it('rejects a declared input width that does not match the features', () => {
    const r = rejection(withModel((s) => (s.model.inputWidth = 12)));
    expect(r.path).toBe('model.inputWidth');
    expect(r.message).toContain('the features produce 11');
  });

  it('rejects absurd sizes', () => {
    expect(rejection(withModel((s) => (s.model.layers[0] = { type: 'dense', units: 1_000_000 }))).path).toBe('model.layers.0.units');
    expect(rejection(withModel((s) => (s.local.epochs = 10_000))).path).toBe('local.epochs');
    expect(rejection(withModel((s) => (s.local.batchSize = 0))).path).toBe('local.batchSize');
    const huge = withModel((s) => {
      s.model.layers = [
        { type: 'dense', units: 4096, activation: 'relu' },
        { type: 'dense', units: 4096, activation: 'relu' },
        { type: 'dense', units: 2, activation: 'softmax' },
      ];
    });
    expect(rejection(huge).message).toContain('parameters');
  });

  it('rejects an output layer that does not fit the label', () => {
    expect(rejection(withModel((s) => (s.model.layers[2] = { type: 'dense', units: 3, activation: 'softmax' }))).path).toBe('model.layers.2.units');
    expect(rejection(withModel((s) => (s.model.layers[2] = { type: 'dense', units: 2, activation: 'relu' }))).path).toBe('model.layers.2.activation');
    expect(rejection(withModel((s) => (s.model.loss = 'mean-squared-error'))).path).toBe('model.loss');
  });

  it('rejects bad numbers anywhere: learning rate, clip norm, scaling', () => {
    expect(rejection(withModel((s) => (s.optimizer = { kind: 'adam', learningRate: Number.NaN }))).path).toBe('optimizer.learningRate');
    expect(rejection(withModel((s) => (s.local.clipNorm = -1))).path).toBe('local.clipNorm');
    expect(rejection(withModel((s) => (s.features[1] = { column: 'resting_heart_rate', kind: 'numeric', scaling: { kind: 'standard', mean: 60, std: 0 } }))).path).toBe(
      'features.1.scaling.std',
    );
  });

  it('rejects a column used twice, or the label used as a feature', () => {
    expect(rejection(withModel((s) => (s.features[1] = { column: 'age', kind: 'numeric' }))).path).toBe('features.1.column');
    expect(rejection(withModel((s) => (s.label = { column: 'age', kind: 'class', classes: ['a', 'b'] }))).path).toBe('label.column');
  });
});
