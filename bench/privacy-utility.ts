// What a job's privacy costs in accuracy: the example job's rounds simulated in one process with
// the mechanism a real round runs (each contributor's local step on its own diary, clipping,
// weighting, the integer noise calibrated to the round's minimum survivors, FedAvg on the sum),
// for several noise levels and numbers of contributors. Prints, per setting, the ε the ledger
// charges for the whole job and the accuracy on held-out diaries before and after, over several
// noise seeds. The secure-aggregation masks cancel exactly, so they are left out here; the noise
// is drawn as the Gaussian of the same variance as the sum of the contributors' shares.
//
//   npm run bench:privacy [-- --job coordinator/jobs/sleep-mood.json --seeds 20 --settings '[{...}]']
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { jobDocumentPrivacyCost, type JobDocument } from '../common/jobs/document.js';
import { roundParamsFor } from '../common/jobs/rounds.js';
import { roundShareVariance } from '../common/dp/integer-noise.js';
import { jobNoise } from '../common/jobs/rounds.js';
import { quantizationStep } from '../common/secagg/quantize.js';
import { clipL2 } from '../common/dp/noise.js';
import { weightedInput, weightedMeanFromSum, fedAvgStep } from '../common/secagg/fedavg.js';
import { loadSodium } from '../common/secagg/sodium.js';
import { sleepDiaryCsv, sleepDiariesCsv } from '../common/samples/sleep-diary.js';
import { readValidationCsv } from '../common/model/csv.js';
import { buildTrainingMatrix } from '../common/model/features.js';
import { evaluateModel } from '../common/model/evaluate.js';
import { initialWeights } from '../common/model/weights.js';
import { parseTrainingJobSpec } from '../common/jobspec.js';
import { runLocalStep } from '../worker/training/local-step.js';
import { seededRandom } from '../common/random.js';

const { values } = parseArgs({
  options: {
    job: { type: 'string', default: 'coordinator/jobs/sleep-mood.json' },
    seeds: { type: 'string', default: '20' },
    settings: { type: 'string' },
  },
});

interface Setting {
  contributors: number;
  days: number;
  noiseMultiplier: number;
  rounds: number;
  minContributors: number;
  clipNorm?: number;
  clipRange?: number;
  serverLearningRate?: number;
  maxExamples?: number;
  epochs?: number;
}

function withSetting(base: JobDocument, s: Setting): JobDocument {
  const pick = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
  return {
    ...base,
    rounds: s.rounds,
    minContributors: s.minContributors,
    privacy: { ...base.privacy, noiseMultiplier: s.noiseMultiplier },
    training: parseTrainingJobSpec({ ...base.training, local: { ...base.training.local, ...pick({ clipNorm: s.clipNorm, epochs: s.epochs }) } }),
    aggregation: { ...base.aggregation, ...pick({ clipRange: s.clipRange, serverLearningRate: s.serverLearningRate, maxExamples: s.maxExamples }) },
  };
}

function normal(next: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

/** The fewest survivors whose sum a round of this size reveals: what each share's noise is calibrated to. */
function survivorsFloor(doc: JobDocument, contributors: number): number {
  return roundParamsFor(doc, new Uint8Array(16), contributors, new Uint8Array(32)).minimumSurvivors;
}

async function runJob(doc: JobDocument, s: Setting, noiseSeed: number): Promise<number[]> {
  const spec = parseTrainingJobSpec(doc.training);
  const held = buildTrainingMatrix(spec, readValidationCsv(sleepDiariesCsv([9001, 9002, 9003], 150), spec));
  const data = Array.from({ length: s.contributors }, (_, i) => readValidationCsv(sleepDiaryCsv(500 + i, s.days), spec));
  const next = seededRandom(noiseSeed);
  let model: Float64Array = Float64Array.from(initialWeights(spec.model, spec.local.seed));
  const accuracy = [evaluateModel(spec.model, model, held).accuracy ?? 0];
  for (let round = 0; round < doc.rounds; round++) {
    const global = Float32Array.from(model);
    const inputs: Float64Array[] = [];
    for (const rows of data) {
      const step = await runLocalStep({ spec: doc.training, data: rows, globalWeights: global }, { backend: { gpu: false }, yieldBetweenBatches: false });
      const examples = Math.min(step.exampleCount, doc.aggregation.maxExamples);
      inputs.push(weightedInput(clipL2(step.update, doc.training.local.clipNorm).clipped, examples, doc.aggregation.maxExamples, doc.aggregation.clipRange));
    }
    const params = roundParamsFor(doc, new Uint8Array(16), s.contributors, new Uint8Array(32));
    const stddev = Math.sqrt(s.contributors * roundShareVariance(params, jobNoise(doc))) * quantizationStep(params);
    const sum = new Float64Array(inputs[0]!.length);
    for (const v of inputs) for (let i = 0; i < sum.length; i++) sum[i]! += v[i]!;
    for (let i = 0; i < sum.length; i++) sum[i]! += stddev * normal(next);
    const { mean } = weightedMeanFromSum(sum, doc.aggregation.maxExamples, doc.aggregation.clipRange);
    model = fedAvgStep(model, mean, doc.aggregation.serverLearningRate);
    accuracy.push(evaluateModel(spec.model, model, held).accuracy ?? 0);
  }
  return accuracy;
}

await loadSodium();
// The example as written (publish fills in the addresses, which the arithmetic here does not use).
const base = JSON.parse(readFileSync(values.job, 'utf8')) as JobDocument;
const seeds = Number(values.seeds);
// By default: the example job at the demo's scale (32 people), without noise (what privacy costs),
// and at smaller scales, and the job as it
// was before (noise multiplier 1 over three rounds, minimum 4, epsilon 9) at the old demo's 8.
const example: Setting = { contributors: 32, days: 240, noiseMultiplier: base.privacy.noiseMultiplier, rounds: base.rounds, minContributors: base.minContributors };
const settings: Setting[] = values.settings
  ? (JSON.parse(values.settings) as Setting[])
  : [
      example,
      { ...example, noiseMultiplier: 0 },
      { ...example, contributors: 24, minContributors: 12 },
      { ...example, contributors: 16, minContributors: 8 },
      { ...example, contributors: 8, minContributors: 4 },
      { contributors: 8, days: 240, noiseMultiplier: 1, rounds: 3, minContributors: 4, clipNorm: 4, clipRange: 4, maxExamples: 366, serverLearningRate: 1 },
    ];
console.log(`job ${values.job}; accuracy on 450 held-out diary days; ${seeds} noise seeds (1..${seeds}) per setting`);
console.log('contributors days rounds min  m   z     C    R    lr  |  ε (charged)  |  start -> after each round (mean over seeds; worst final)');
for (const s of settings) {
  const doc = withSetting(base, s);
  const epsilon = jobDocumentPrivacyCost(doc).epsilon;
  const runs: number[][] = [];
  for (let seed = 1; seed <= seeds; seed++) runs.push(await runJob(doc, s, seed));
  const meanAt = (r: number): number => runs.reduce((a, run) => a + run[r]!, 0) / runs.length;
  const worst = Math.min(...runs.map((run) => run.at(-1)!));
  const curve = Array.from({ length: doc.rounds + 1 }, (_, r) => `${(meanAt(r) * 100).toFixed(1)}%`).join(' -> ');
  console.log(
    `${String(s.contributors).padStart(12)} ${String(s.days).padStart(4)} ${String(doc.rounds).padStart(6)} ${String(doc.minContributors).padStart(3)} ${String(survivorsFloor(doc, s.contributors)).padStart(3)}  ${doc.privacy.noiseMultiplier.toFixed(2).padStart(4)} ${String(doc.training.local.clipNorm).padStart(4)} ${String(doc.aggregation.clipRange).padStart(4)} ${String(doc.aggregation.serverLearningRate).padStart(3)}  |  ${epsilon.toFixed(2).padStart(6)}       |  ${curve}  (worst ${(worst * 100).toFixed(1)}%)`,
  );
}
