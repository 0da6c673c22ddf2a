// Benchmark: compute-to-data in the sandbox. A researcher's WebAssembly module (the example
// sleep-mean module: sum and count of 1M values held to 0..24, missing values skipped) runs
// through the same host interface and output policy as in the worker, against the same statistic
// written in plain TypeScript over the same Float64Array, in the same run: same warm-up, same
// repeats, medians compared. The module side pays for what the sandbox costs: instantiating,
// copying the column into its memory, the checked output.
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
