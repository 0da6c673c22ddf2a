// The coordinator scores global models without a training engine: its plain forward pass must
// agree with the held-out metrics the contributor's own engine reports for the same weights, and
// its validation CSV reader must refuse malformed files saying where.
import { describe, expect, it } from 'vitest';
import { isTroveError } from '../../common/errors.js';
import { parseJobDocument } from '../../common/jobs/document.js';
import { parseTrainingJobSpec, type TrainingJobSpec, type TrainingJobSpecInput } from '../../common/jobspec.js';
import { parseCsvRecords, readValidationCsv } from '../../common/model/csv.js';
import { evaluateModel } from '../../common/model/evaluate.js';
import { buildTrainingMatrix } from '../../common/model/features.js';
import { SeededRandom } from '../../common/model/random.js';
import { initialWeights } from '../../common/model/weights.js';
import { sleepDiaryCsv } from '../../common/samples/sleep-diary.js';
import { runLocalStep } from '../../worker/training/local-step.js';
import { SLEEP_MOOD_JOB } from './fixtures.js';

const sleepMood = parseJobDocument({
  ...SLEEP_MOOD_JOB,
  researcher: { name: 'r', address: `0x${'11'.repeat(20)}` },
  coordinator: { url: 'http://127.0.0.1:8787', address: `0x${'22'.repeat(20)}` },
  chainId: '31337',
  reward: { ...(SLEEP_MOOD_JOB.reward as object), token: `0x${'33'.repeat(20)}` },
  deadline: 2_000_000_000,
}).training;

function withModel(model: TrainingJobSpecInput['model'], optimizer: TrainingJobSpecInput['optimizer']): TrainingJobSpec {
  return parseTrainingJobSpec({ ...sleepMood, model, optimizer, local: { ...sleepMood.local, clipNorm: 1e6, heldOutFraction: 0.25 } });
}

/** Trains one local step and compares the engine's held-out metrics with evaluateModel's. */
async function agreesWithEngine(spec: TrainingJobSpec, from: 'wasm' | 'cpu'): Promise<void> {
  const data = readValidationCsv(sleepDiaryCsv(4, 300), spec);
  const result = await runLocalStep({ spec, data, globalWeights: null }, { backend: { from }, yieldBetweenBatches: false });
  const global = initialWeights(spec.model, spec.local.seed);
  const local = Float32Array.from(global, (w, i) => w + result.update[i]!);
  const matrix = buildTrainingMatrix(spec, data);
  // The worker holds out the first rows of a permutation seeded with the job's seed.
  const heldOut = Math.floor(matrix.rows * spec.local.heldOutFraction);
  const held = new SeededRandom(spec.local.seed).permutation(matrix.rows).subarray(0, heldOut);
  const ours = evaluateModel(spec.model, local, matrix, held);
  expect(ours.examples).toBe(result.metrics.heldOutExamples);
  expect(Math.abs(ours.loss - result.metrics.heldOutLoss!)).toBeLessThan(1e-4);
  expect(ours.accuracy).toBeCloseTo(result.metrics.heldOutAccuracy!, 6);
  // Training moved the model: the comparison is not between two untouched initial models.
  expect(evaluateModel(spec.model, global, matrix, held).loss).not.toBeCloseTo(ours.loss, 3);
}

describe('model evaluation without an engine', () => {
  it('matches the dense kernel on the sleep-mood softmax model', async () => {
    await agreesWithEngine(withModel(sleepMood.model, sleepMood.optimizer), 'wasm');
  });

  it('matches TensorFlow.js on hidden layers, batch-norm, dropout and activation layers', async () => {
    const spec = withModel(
      {
        inputWidth: 7,
        layers: [
          { type: 'dense', units: 12, activation: 'elu' },
          { type: 'batch-norm' },
          { type: 'dropout', rate: 0.2 },
          { type: 'dense', units: 8, activation: 'linear' },
          { type: 'activation', activation: 'tanh' },
          { type: 'dense', units: 6, activation: 'selu' },
          { type: 'dense', units: 4, activation: 'linear' },
          { type: 'activation', activation: 'softmax' },
        ],
        loss: 'categorical-crossentropy',
      },
      { kind: 'adam', learningRate: 0.01 },
    );
    await agreesWithEngine(spec, 'cpu');
  });
});

describe('validation CSV reader', () => {
  it('reads quoted fields, doubled quotes and line breaks inside quotes', () => {
    const records = parseCsvRecords('a,b,c\r\n"x, y","he said ""hi""","two\nlines"\n1,,3\n');
    expect(records).toEqual([
      { line: 1, fields: ['a', 'b', 'c'] },
      { line: 2, fields: ['x, y', 'he said "hi"', 'two\nlines'] },
      { line: 4, fields: ['1', '', '3'] },
    ]);
  });

  it('reads the job columns with missing numbers as nulls', () => {
    const csv = 'sleep_hours,steps,resting_hr,caffeine_cups,exercised,mood,notes\n7.5,8000,60,1,yes,good,"fine, thanks"\n,5000,65,2,no,low,\n';
    const rows = readValidationCsv(csv, sleepMood);
    expect(rows.recordIds.length).toBe(2);
    const sleep = rows.columns[0] as { values: Float64Array; nulls: Uint8Array };
    expect(Array.from(sleep.nulls)).toEqual([0, 1]);
    expect(rows.columns[4]).toEqual({ type: 'category', values: ['yes', 'no'] });
    expect(rows.columns[5]).toEqual({ type: 'category', values: ['good', 'low'] });
  });

  it.each([
    ['sleep_hours,steps\n1,2\n', 1, 'resting_hr'],
    ['sleep_hours,steps,resting_hr,caffeine_cups,exercised,mood\n7,8000,sixty,1,yes,good\n', 2, 'resting_hr'],
    ['sleep_hours,steps,resting_hr,caffeine_cups,exercised,mood\n7,8000,60,1,yes,good\n7,8000,60,1,yes\n', 3, null],
    ['sleep_hours,steps,resting_hr,caffeine_cups,exercised,mood\n7,8000,60,1,"yes,good\n', 2, null],
    ['sleep_hours,steps,resting_hr,caffeine_cups,exercised,mood\n7,8000,60,1,"yes"x,good\n', 2, null],
    ['sleep_hours,steps,resting_hr,caffeine_cups,exercised,mood\n7,8000,60,1,ye"s,good\n', 2, null],
  ])('refuses %j naming line %i and column %s', (csv, line, column) => {
    let err: unknown;
    try {
      readValidationCsv(csv, sleepMood);
    } catch (e) {
      err = e;
    }
    expect(isTroveError(err, 'INVALID_INPUT')).toBe(true);
    expect((err as { details: Record<string, unknown> }).details).toMatchObject({ line, column });
  });
});
