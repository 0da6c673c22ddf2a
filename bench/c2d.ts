// Benchmark: compute-to-data. Part 1, the sandbox. A researcher's WebAssembly module (the example
// sleep-mean module: sum and count of 1M values held to 0..24, missing values skipped) runs
// through the same host interface and output policy as in the worker, against the same statistic
// written in plain TypeScript over the same Float64Array, in the same run: same warm-up, same
// repeats, medians compared. The module side pays for what the sandbox costs: instantiating,
// copying the column into its memory, the checked output.
// Part 2, the whole analytics round at 10 and 100 contributors in this process: each contributor's
// histogram of sleep hours by mood (60 rows), its noise share, SecAgg+ masking with two dropouts,
// and the unmasked aggregate; the baseline in the same run is the same noised outputs summed in
// the clear, as a coordinator without secure aggregation would.
//
//   npm run bench:c2d               1M values
//   npm run bench:c2d -- 200000     another size
import { performance } from 'node:perf_hooks';
import { checkOutput } from '../common/analytics/output.js';
import { parseAnalyticsJobSpec, type ModuleComputation } from '../common/analytics/spec.js';
import { seededRandom } from '../common/random.js';
import { assemble, moduleJob, sleepMeanWat } from '../test/fixtures/analytics-modules.js';
import { checkModule } from '../worker/analytics/module-check.js';
import { runModule } from '../worker/analytics/sandbox.js';
import { median } from './median.js';
import { analyticsClipRange, privatizeAnalyticsOutput } from '../common/analytics/release.js';
import { outputLength, type AnalyticsJobSpec, type BuiltInComputation } from '../common/analytics/spec.js';
import { recommendedRoundParams } from '../common/secagg/params.js';
import { computeBuiltIn } from '../worker/analytics/built-ins.js';
import { makeRound, roundId, runRound, type DropPoint } from '../test/unit/secagg/harness.js';

const N = Number(process.argv[2] ?? 1_000_000);
const WARMUP = 3;
const REPEATS = 15;
const SEED = 14;

function plainSumCount(values: Float64Array): Float64Array {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === v) {
      sum += Math.min(Math.max(v, 0), 24);
      count++;
    }
  }
  return Float64Array.of(sum, count);
}

function time(fn: () => Float64Array): { ms: number; out: Float64Array } {
  let out: Float64Array = new Float64Array(0);
  for (let i = 0; i < WARMUP; i++) out = fn();
  const runs: number[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    out = fn();
    runs.push(performance.now() - t0);
  }
  return { ms: median(runs), out };
}

const random = seededRandom(SEED);
const values = new Float64Array(N);
for (let i = 0; i < N; i++) values[i] = random() < 0.02 ? NaN : 3 + random() * 7;

const bytes = await assemble(sleepMeanWat());
const spec = parseAnalyticsJobSpec(moduleJob(bytes, { maxRows: N }));
const computation = spec.computation as ModuleComputation;
const mod = await checkModule(bytes, computation, [computation.sha256]);

const sandboxed = time(() => checkOutput(spec, runModule(mod, [values], N)));
const plain = time(() => checkOutput(spec, plainSumCount(values)));

const agree = Math.abs(sandboxed.out[0]! - plain.out[0]!) <= 1e-9 * Math.abs(plain.out[0]!) && sandboxed.out[1] === plain.out[1];
console.log(`compute-to-data: sum and count of ${N.toLocaleString('en-US')} values, seed ${SEED}, median of ${REPEATS} after ${WARMUP} warm-up runs`);
console.log(`  sandboxed module   ${sandboxed.ms.toFixed(2)} ms  (instantiate, copy in, run, checked output)`);
console.log(`  plain TypeScript   ${plain.ms.toFixed(2)} ms`);
console.log(`  results agree: ${agree ? 'yes' : 'NO'} (sum ${sandboxed.out[0]!.toFixed(3)} vs ${plain.out[0]!.toFixed(3)})`);
console.log(`  ratio (TypeScript time / module time): ${(plain.ms / sandboxed.ms).toFixed(2)}  (target >= 0.5)`);
if (!agree) process.exit(1);

const MOODS = ['low', 'okay', 'good', 'great'];
const histogram = parseAnalyticsJobSpec({
  kind: 'federated-analytics',
  maxRows: 60,
  computation: { kind: 'histogram', column: 'sleep_hours', edges: [0, 5, 6, 7, 8, 9, 24], groupBy: { column: 'mood', categories: MOODS } },
}) as AnalyticsJobSpec & { computation: BuiltInComputation };
const ROUND_REPEATS = 3;

console.log(`\nanalytics round: histogram of sleep hours by mood (${outputLength(histogram)} numbers), 2 dropouts, median of ${ROUND_REPEATS}`);
for (const n of [10, 100]) {
  const computeMs: number[] = [];
  const secureMs: number[] = [];
  const plainMs: number[] = [];
  for (let rep = 0; rep < ROUND_REPEATS; rep++) {
    const params = recommendedRoundParams({ roundId: roundId(SEED + rep), clientCount: n, vectorLength: outputLength(histogram), clipRange: analyticsClipRange(histogram) });
    // each share of the noise is sized for the fewest survivors the round reveals a sum of
    const noise = { noiseMultiplier: 1, minContributors: params.minimumSurvivors };
    const t0 = performance.now();
    const inputs: Float64Array[] = [];
    for (let c = 0; c < n; c++) {
      const sleep = Float64Array.from({ length: 60 }, () => 4 + random() * 6);
      const mood = Array.from({ length: 60 }, () => MOODS[Math.floor(random() * 4)]!);
      const out = checkOutput(histogram, computeBuiltIn(histogram, [{ type: 'number', values: sleep, nulls: new Uint8Array(60) }, { type: 'category', values: mood }], 60));
      inputs.push(privatizeAnalyticsOutput(out, histogram, noise));
    }
    computeMs.push((performance.now() - t0) / n);
    const t1 = performance.now();
    const round = await makeRound(params, inputs);
    runRound(round, new Map<number, DropPoint>([[0, 'collect-masked-inputs'], [1, 'collect-masked-inputs']]));
    if (!round.server.result) throw new Error('the round did not produce an aggregate');
    secureMs.push(performance.now() - t1);
    const t2 = performance.now();
    const sum = new Float64Array(outputLength(histogram));
    for (let c = 2; c < n; c++) inputs[c]!.forEach((v, i) => (sum[i]! += v));
    plainMs.push(performance.now() - t2);
  }
  const secure = median(secureMs);
  const plainSum = median(plainMs);
  console.log(`  ${String(n).padStart(3)} contributors: per-contributor statistic ${median(computeMs).toFixed(3)} ms; SecAgg+ round (all parties in one process) ${secure.toFixed(0)} ms; summed in the clear ${plainSum.toFixed(3)} ms; ratio secure / clear ${(secure / plainSum).toFixed(0)}x`);
}
