// Training throughput of the reference MLP (32 -> 64 relu -> 64 relu -> 2 softmax, Adam, batch
// 256, 50k rows, 3 epochs) on the backend the worker selects, against numpy/OpenBLAS on one
// thread training the same network on the same data in the same run.
//
//   npm run bench:training                 selected backend vs numpy (+ TensorFlow.js wasm once)
//   npm run bench:training -- --repeats 5  more runs per contender (the median is reported)
//   npm run bench:training -- --no-tfjs    skip the TensorFlow.js wasm reference run
//   npm run bench:training -- --no-webgpu  skip the WebGPU row
//
// The WebGPU row runs in a child process (bench/training-webgpu.ts) on the system's GPU, or, where
// there is none, on SwiftShader's Vulkan driver (a CPU implementation: its rate says nothing
// about GPUs) with a smaller data set; it is named with its adapter.
//
// Every contender gets the same treatment: WARMUP_BATCHES untimed batches first (JIT, wasm
// compile, BLAS start-up; the whole local steps WARMUP_STEPS untimed steps), then REPEATS timed runs, interleaved so all see the same machine load;
// each rate is the median of its runs. The rows that matter most also print the median of each
// repeat's ratio to that repeat's numpy run, which holds better when the machine's load drifts.
//
// The baseline runs twice per repeat: with the environment's OPENBLAS_CORETYPE (when one is set)
// and with OpenBLAS detecting the core itself; the ratio is taken against the faster of the two,
// and the bench prints the core each used.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseTrainingJobSpec, type TrainingJobSpec, type TrainingJobSpecInput } from '../common/jobspec.js';
import { NodeWorkerLauncher } from '../main/services/worker/launcher.js';
import { WorkerSupervisor } from '../main/services/worker/supervisor.js';
import { loadTf, selectBackend, type BackendChoice } from '../worker/training/backend.js';
import { SeededRandom } from '../common/model/random.js';
import { createTrainer, runLocalStep } from '../worker/training/local-step.js';
import { initialWeights } from '../common/model/weights.js';
import { TfjsTrainer, type LocalTrainer } from '../worker/training/trainers.js';
import { median } from './median.js';
import { Vault } from '../main/services/vault/index.js';
import { swiftShaderIcd } from '../test/helpers/webgpu.js';

const ROWS = 50_000;
const FEATURES = 32;
const HIDDEN = 64;
const CLASSES = 2;
const BATCH = 256;
const EPOCHS = 3;
const LR = 0.001;
const SEED = 7;

const args = process.argv.slice(2);
const repeatsArg = args.indexOf('--repeats');
const REPEATS = repeatsArg >= 0 ? Math.max(1, Number(args[repeatsArg + 1])) : 3;
/** Untimed batches each contender trains before its timed runs. */
const WARMUP_BATCHES = 20;
/**
 * Untimed local steps each step contender runs first. A worker settles over its first rounds
 * (JIT of the read and mapping code, the kept arrays and kernel instance); the app's warm worker
 * trains round after round. Their rates are printed too.
 */
const WARMUP_STEPS = 3;
const WITH_TFJS = !args.includes('--no-tfjs');
const WITH_WEBGPU = !args.includes('--no-webgpu');

interface WebGpuRow {
  adapter: string | null;
  reason?: string;
  software?: boolean;
  rows?: number;
  gpuSamplesPerSecond?: number;
  wasmSamplesPerSecond?: number;
  maxWeightDifference?: number;
}

/** Runs the WebGPU contender in a child process; a crash is reported as what it is. */
function runWebGpu(software: boolean): { row: WebGpuRow | null; failure: string | null } {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'training-webgpu.ts');
  const env: NodeJS.ProcessEnv = { ...process.env };
  const icd = software ? swiftShaderIcd() : null;
  if (icd) env.VK_ICD_FILENAMES = icd;
  // a CPU implementation of a GPU gets a small data set: it is here to show the path works
  const argv = ['--import', 'tsx', script, software ? '4096' : String(ROWS), software ? '1' : String(EPOCHS), ...(software ? ['--software'] : [])];
  const out = spawnSync(process.execPath, argv, { env, encoding: 'utf8', timeout: 300_000 });
  const line = out.stdout.trim().split('\n').pop() ?? '';
  if (out.status === 0 && line.startsWith('{')) return { row: JSON.parse(line) as WebGpuRow, failure: null };
  return { row: null, failure: out.signal ? `the process died (${out.signal})` : `the process exited with code ${out.status}: ${out.stderr.trim().split('\n').filter((l) => !l.includes('XDG_RUNTIME_DIR')).slice(-1)[0] ?? ''}` };
}

export function referenceSpec(): TrainingJobSpecInput {
  return {
    kind: 'federated-training',
    features: Array.from({ length: FEATURES }, (_, i) => ({ column: `f${i}`, kind: 'numeric' as const })),
    label: { column: 'label', kind: 'class', classes: ['0', '1'] },
    model: {
      inputWidth: FEATURES,
      layers: [
        { type: 'dense', units: HIDDEN, activation: 'relu' },
        { type: 'dense', units: HIDDEN, activation: 'relu' },
        { type: 'dense', units: CLASSES, activation: 'softmax' },
      ],
      loss: 'categorical-crossentropy',
    },
    optimizer: { kind: 'adam', learningRate: LR },
    local: { epochs: EPOCHS, batchSize: BATCH, heldOutFraction: 0, clipNorm: 1e6, seed: SEED },
  };
}

function makeData(): { x: Float32Array; y: Float32Array; labels: Int32Array } {
  const rng = new SeededRandom(2024);
  const x = new Float32Array(ROWS * FEATURES);
  for (let i = 0; i < x.length; i++) x[i] = rng.normal();
  const y = new Float32Array(ROWS * CLASSES);
  const labels = new Int32Array(ROWS);
  for (let r = 0; r < ROWS; r++) {
    const o = r * FEATURES;
    const score = x[o]! * x[o + 1]! + 0.5 * x[o + 2]! - 0.3 * x[o + 3]! + 0.2 * rng.normal();
    const c = score > 0 ? 1 : 0;
    labels[r] = c;
    y[r * CLASSES + c] = 1;
  }
  return { x, y, labels };
}

function trainEpochs(trainer: LocalTrainer, x: Float32Array, y: Float32Array, seed: number): { seconds: number; loss: number } {
  const rng = new SeededRandom(seed);
  let loss = 0;
  const t0 = performance.now();
  for (let e = 0; e < EPOCHS; e++) {
    const order = rng.permutation(ROWS);
    for (let s = 0; s < ROWS; s += BATCH) loss = trainer.trainBatch(x, y, order, s, Math.min(ROWS, s + BATCH)).loss;
  }
  return { seconds: (performance.now() - t0) / 1000, loss };
}

interface NumpyRun {
  samplesPerSecond: number;
  seconds: number;
  finalLoss: number;
  blasCore: string | null;
  numpy: string;
}

function runNumpy(dir: string, coreType: string | undefined): NumpyRun {
  const script = join(dirname(fileURLToPath(import.meta.url)), 'training_numpy.py');
  const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: '1', OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  if (coreType === undefined) delete env.OPENBLAS_CORETYPE;
  else env.OPENBLAS_CORETYPE = coreType;
  const argv = [script, join(dir, 'x.f32'), join(dir, 'y.i32'), ROWS, FEATURES, CLASSES, HIDDEN, BATCH, EPOCHS, LR, SEED, WARMUP_BATCHES].map(String);
  const out = spawnSync('python3', argv, { env, encoding: 'utf8' });
  if (out.status !== 0) throw new Error(`numpy baseline failed: ${out.stderr || out.error?.message}`);
  return JSON.parse(out.stdout.trim().split('\n').pop()!) as NumpyRun;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const spec: TrainingJobSpec = parseTrainingJobSpec(referenceSpec());
  const { x, y, labels } = makeData();
  const dir = mkdtempSync(join(tmpdir(), 'trove-bench-'));
  try {
    writeFileSync(join(dir, 'x.f32'), x);
    writeFileSync(join(dir, 'y.i32'), labels);

    // the CPU contenders; the GPU has its own row below
    const choice: BackendChoice = await selectBackend(spec, { from: 'tensorflow-gpu' });
    console.log(`backend: ${choice.backend} (${choice.engine})`);
    console.log(`reason:  ${choice.reason}`);
    console.log(`reference MLP ${FEATURES}-${HIDDEN}-${HIDDEN}-${CLASSES}, Adam, batch ${BATCH}, ${ROWS} rows, ${EPOCHS} epochs, ${WARMUP_BATCHES} warm-up batches (local steps: ${WARMUP_STEPS} warm-up steps) then ${REPEATS} runs each (median)\n`);

    const envCore = process.env.OPENBLAS_CORETYPE || undefined;
    const selected: number[] = [];
    const numpy: number[] = [];
    const numpyEnv: number[] = [];
    let npEnv: NumpyRun | undefined;
    let lastLoss = 0;
    let np: NumpyRun | undefined;
    // TensorFlow.js's wasm backend is a contender like the others (the reference row for the kernel).
    const tfjsWasm = WITH_TFJS && choice.engine === 'dense-kernel' ? await (async () => {
      const tf = await loadTf();
      await import('@tensorflow/tfjs-backend-wasm');
      await tf.setBackend('wasm');
      return tf;
    })() : null;
    const tfjsRates: number[] = [];
    const warmUp = (trainer: LocalTrainer) => {
      trainer.setWeights(initialWeights(spec.model, SEED));
      const order = new SeededRandom(1).permutation(ROWS);
      for (let s = 0; s < WARMUP_BATCHES * BATCH; s += BATCH) trainer.trainBatch(x, y, order, s, s + BATCH);
    };
    // The whole local step as the app runs it: in process (feature mapping, seeded split, yielding
    // to the event loop between batches, update and clipping), and in a warm worker process (task
    // sent over IPC, rows read and decrypted from the vault file, progress sent back), the worker kept between
    // rounds as the supervisor keeps it. Each gets WARMUP_STEPS untimed steps first (backend
    // selection, JIT, the worker's kept arrays), as the kernel gets its warm-up batches, then the
    // same interleaved runs.
    const columns = [
      ...Array.from({ length: FEATURES }, (_, f) => {
        const values = new Float64Array(ROWS);
        for (let r = 0; r < ROWS; r++) values[r] = x[r * FEATURES + f]!;
        return { type: 'number' as const, values, nulls: new Uint8Array(ROWS) };
      }),
      { type: 'category' as const, values: Array.from(labels, (l) => String(l)) },
    ];
    const rows = { recordIds: Float64Array.from({ length: ROWS }, (_, i) => i), columns };
    // The worker reads its rows from the vault file under a grant, as in the app (no rows cross the process boundary).
    const vault = await Vault.create(join(dir, 'bench-vault.db'), 'benchmark passphrase', { kdf: { opsLimit: 1, memLimit: 8 << 20 }, autoLockMs: null });
    const names = [...spec.features.map((f) => f.column), spec.label.column];
    // The import's records (1.6 M boxed values) are made and dropped inside this call: kept alive,
    // they made every full garbage collection of this process mark them, which the app does not.
    const { datasetId } = await vault.importRecords({
      name: 'bench',
      columns: names.map((name, i) => ({ source: i, name, type: i < FEATURES ? ('number' as const) : ('category' as const) })),
      records: [Array.from({ length: ROWS }, (_, r) => ({ line: r + 2, values: [...Array.from({ length: FEATURES }, (_, f) => x[r * FEATURES + f]!), String(labels[r])] }))],
    });
    const supervisor = new WorkerSupervisor({ launcher: new NodeWorkerLauncher() });
    const stepRates: number[] = [];
    const workerRates: number[] = [];
    let stepBackend = '';
    let workerBackend = '';
    const inProcessStep = async (): Promise<number> => {
      const step = await runLocalStep({ spec: referenceSpec(), data: rows, globalWeights: null });
      stepBackend = `${step.backend.backend}/${step.backend.engine}`;
      return (step.exampleCount * EPOCHS) / (step.durationMs / 1000);
    };
    const workerStep = async (): Promise<number> => {
      const t0 = performance.now();
      const res = await supervisor.run({ kind: 'train-local', spec: referenceSpec(), globalWeights: null, data: await vault.grant(datasetId!, names, 'the training bench') });
      const seconds = (performance.now() - t0) / 1000;
      if (res.kind !== 'train-local') throw new Error('the worker answered with something other than a training step');
      workerBackend = `${res.step.backend.backend}/${res.step.backend.engine}`;
      return (res.step.exampleCount * EPOCHS) / seconds;
    };
    const warmSteps: number[] = [];
    const warmWorker: number[] = [];
    for (let i = 0; i < WARMUP_STEPS; i++) {
      warmSteps.push(await inProcessStep());
      warmWorker.push(await workerStep());
    }
    {
      const trainer = await createTrainer(spec, choice);
      warmUp(trainer);
      trainer.dispose();
      if (tfjsWasm) {
        const tfjs = new TfjsTrainer(tfjsWasm, spec);
        warmUp(tfjs);
        tfjs.dispose();
      }
    }
    for (let r = 0; r < REPEATS; r++) {
      np = runNumpy(dir, undefined);
      numpy.push(np.samplesPerSecond);
      if (envCore) {
        npEnv = runNumpy(dir, envCore);
        numpyEnv.push(npEnv.samplesPerSecond);
      }
      const trainer = await createTrainer(spec, choice);
      trainer.setWeights(initialWeights(spec.model, SEED));
      const run = trainEpochs(trainer, x, y, SEED + r);
      trainer.dispose();
      selected.push((ROWS * EPOCHS) / run.seconds);
      lastLoss = run.loss;
      if (tfjsWasm) {
        const tfjs = new TfjsTrainer(tfjsWasm, spec);
        tfjs.setWeights(initialWeights(spec.model, SEED));
        tfjsRates.push((ROWS * EPOCHS) / trainEpochs(tfjs, x, y, SEED + r).seconds);
        tfjs.dispose();
      }
      stepRates.push(await inProcessStep());
      workerRates.push(await workerStep());
    }
    await supervisor.stop();
    vault.close();
    // Each repeat's rate against the baseline of the same repeat (the faster numpy run in it):
    // load on a shared machine drifts between repeats more than within one.
    const paired = (rates: number[]): string => {
      const ratios = rates.map((r, i) => r / Math.max(numpy[i]!, numpyEnv[i] ?? 0));
      return `per repeat ${median(ratios).toFixed(3)}x [${ratios.map((q) => q.toFixed(3)).join(', ')}]`;
    };
    const sel = median(selected);
    const auto = median(numpy);
    const forced = numpyEnv.length > 0 ? median(numpyEnv) : 0;
    const base = Math.max(auto, forced);
    console.log(`numpy/OpenBLAS 1 thread, core detected (${np?.blasCore ?? 'unknown'}, numpy ${np?.numpy}): ${fmt(auto)} samples/s  [${numpy.map(fmt).join(', ')}]  final loss ${np?.finalLoss.toFixed(4)}`);
    if (envCore) console.log(`numpy/OpenBLAS 1 thread, OPENBLAS_CORETYPE=${envCore} (${npEnv?.blasCore ?? 'unknown'}): ${fmt(forced)} samples/s  [${numpyEnv.map(fmt).join(', ')}]`);
    console.log(`baseline: the faster numpy, ${fmt(base)} samples/s`);
    console.log(`selected (${choice.backend}/${choice.engine}): ${fmt(sel)} samples/s  [${selected.map(fmt).join(', ')}]  final loss ${lastLoss.toFixed(4)}`);
    console.log(`ratio selected / numpy: ${(sel / base).toFixed(3)}x; ${paired(selected)}`);
    const stepRate = median(stepRates);
    const workerRate = median(workerRates);
    console.log(`full local step in process (${stepBackend}): ${fmt(stepRate)} samples/s  [${stepRates.map(fmt).join(', ')}]  including data mapping (${(stepRate / base).toFixed(3)}x numpy; ${paired(stepRates)}; untimed warm-up steps [${warmSteps.map(fmt).join(', ')}])`);
    console.log(`local step in a warm worker process reading the vault (${workerBackend}): ${fmt(workerRate)} samples/s  [${workerRates.map(fmt).join(', ')}]  end to end (${(workerRate / base).toFixed(3)}x numpy; ${paired(workerRates)}; untimed warm-up steps [${warmWorker.map(fmt).join(', ')}])`);

    let tfjsRate: number | null = null;
    if (tfjsRates.length > 0) {
      tfjsRate = median(tfjsRates);
      console.log(
        `TensorFlow.js wasm (same model, same warm-up and runs): ${fmt(tfjsRate)} samples/s  [${tfjsRates.map(fmt).join(', ')}]  (${(tfjsRate / base).toFixed(3)}x numpy; selected is ${(sel / tfjsRate).toFixed(1)}x tfjs-wasm)`,
      );
    }
    let webgpu: WebGpuRow | null = null;
    let webgpuFailure: string | null = null;
    if (WITH_WEBGPU) {
      let run = runWebGpu(false);
      let where = "this machine's GPU";
      if (run.row && run.row.adapter === null) {
        console.log(`WebGPU: ${run.row.reason}; trying SwiftShader's Vulkan driver (a CPU implementation)`);
        run = runWebGpu(true);
        where = 'SwiftShader (software adapter)';
      }
      webgpu = run.row;
      webgpuFailure = run.failure ? `${where}: ${run.failure}` : null;
      if (webgpu?.adapter) {
        const kind = webgpu.software ? 'a software adapter (a CPU running GPU code), not a GPU' : 'a GPU';
        console.log(
          `WebGPU on ${webgpu.adapter} [${kind}], ${webgpu.rows} rows: ${fmt(webgpu.gpuSamplesPerSecond!)} samples/s vs the wasm kernel ${fmt(webgpu.wasmSamplesPerSecond!)} in the same process (${(webgpu.gpuSamplesPerSecond! / webgpu.wasmSamplesPerSecond!).toFixed(3)}x wasm, ${(webgpu.gpuSamplesPerSecond! / base).toFixed(4)}x numpy); largest weight difference ${webgpu.maxWeightDifference!.toExponential(1)}`,
        );
      } else console.log(`WebGPU: not measured (${webgpu?.reason ?? webgpuFailure})`);
    }
    console.log(
      JSON.stringify({
        bench: 'training',
        webgpuAdapter: webgpu?.adapter ?? null,
        webgpuSamplesPerSecond: webgpu?.gpuSamplesPerSecond ?? null,
        webgpuFailure: webgpu?.adapter ? null : (webgpu?.reason ?? webgpuFailure),
        backend: choice.backend,
        engine: choice.engine,
        samplesPerSecond: Math.round(sel),
        numpySamplesPerSecond: Math.round(base),
        ratio: Number((sel / base).toFixed(3)),
        localStepSamplesPerSecond: Math.round(stepRate),
        workerProcessSamplesPerSecond: Math.round(workerRate),
        tfjsWasmSamplesPerSecond: tfjsRate === null ? null : Math.round(tfjsRate),
        numpyDetectedCore: np?.blasCore ?? null,
        numpyDetectedSamplesPerSecond: Math.round(auto),
        numpyEnvCore: envCore ?? null,
        numpyEnvSamplesPerSecond: envCore ? Math.round(forced) : null,
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
