// Compute-to-data end to end below the coordinator's transport: ten contributors with real
// vaults, the job's statistic computed in a real worker from each vault's granted columns, each
// output noised (its share of the DP noise) and masked by SecAgg+, two contributors dropping out
// of each round after the keys are shared. The unmasked sum must equal the true aggregate of the
// survivors' data within the DP error bar the release states; a built-in histogram job and the
// example module job, two rounds each. Noise and data come from a seed printed for replay.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { analyticsAggregate, analyticsClipRange, privatizeAnalyticsOutput, type AnalyticsNoise } from '../../common/analytics/release.js';
import { outputLength, parseAnalyticsJobSpec, type AnalyticsJobSpec } from '../../common/analytics/spec.js';
import { seededRandom } from '../../common/random.js';
import { recommendedRoundParams } from '../../common/secagg/params.js';
import { runAnalyticsStep } from '../../main/services/analytics/local-step.js';
import { Vault } from '../../main/services/vault/index.js';
import { WorkerSupervisor } from '../../main/services/worker/supervisor.js';
import { assemble, moduleJob, sleepMeanWat } from '../fixtures/analytics-modules.js';
import { makeRound, roundId, runRound, type DropPoint } from '../unit/secagg/harness.js';
import { FAST_KDF, PASSPHRASE } from '../helpers/vault.js';
import { testWorkerLauncher } from '../helpers/worker.js';

const SEED = Number(process.env.TROVE_TEST_SEED ?? 1414);
const CONTRIBUTORS = 10;
const MOODS = ['low', 'okay', 'good', 'great'];
const NOISE: AnalyticsNoise = { noiseMultiplier: 1, minContributors: 6 };

interface Contributor {
  vault: Vault;
  datasetId: string;
  sleep: (number | null)[];
  mood: string[];
}

const dir = mkdtempSync(join(tmpdir(), 'trove-analytics-round-'));
const contributors: Contributor[] = [];
let supervisor: WorkerSupervisor;
const random = seededRandom(SEED);

/** Seeded bytes for the noise, so a failing run can be replayed. */
function seededBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(random() * 256);
  return out;
}

beforeAll(async () => {
  console.log(`analytics round test seed ${SEED} (TROVE_TEST_SEED=${SEED} replays it)`);
  for (let c = 0; c < CONTRIBUTORS; c++) {
    const rows = 20 + Math.floor(random() * 30);
    const sleep = Array.from({ length: rows }, () => (random() < 0.05 ? null : Math.round((4 + random() * 6) * 10) / 10));
    const mood = sleep.map((s) => MOODS[Math.min(3, Math.max(0, Math.floor(((s ?? 7) - 4) / 1.6 + random() - 0.5)))]!);
    const csv = ['sleep_hours,mood', ...sleep.map((s, i) => `${s ?? ''},${mood[i]}`)].join('\n') + '\n';
    writeFileSync(join(dir, `diary-${c}.csv`), csv);
    const vault = await Vault.create(join(dir, `vault-${c}.db`), PASSPHRASE, { kdf: FAST_KDF, autoLockMs: null });
    const report = await vault.importFile(join(dir, `diary-${c}.csv`), { name: 'Sleep diary' });
    contributors.push({ vault, datasetId: report.datasetId!, sleep, mood });
  }
  supervisor = new WorkerSupervisor({ launcher: await testWorkerLauncher(), defaultMemoryLimitMb: 256 });
}, 120_000);

afterAll(async () => {
  await supervisor.stop();
  for (const c of contributors) c.vault.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One round: every contributor computes in the worker, two drop out after sharing keys. */
async function analyticsRound(spec: AnalyticsJobSpec, columns: string[], round: number, module?: Uint8Array) {
  const approved = spec.computation.kind === 'module' ? [spec.computation.sha256] : [];
  const inputs: Float64Array[] = [];
  const outputs: Float64Array[] = [];
  for (const c of contributors) {
    const grant = await c.vault.grant(c.datasetId, columns, 'an analytics round');
    const step = await runAnalyticsStep(supervisor, { spec, ...(module ? { module } : {}), approvedModules: approved, data: grant });
    outputs.push(step.output);
    inputs.push(privatizeAnalyticsOutput(step.output, spec, NOISE, seededBytes));
  }
  const params = recommendedRoundParams({
    roundId: roundId(SEED + round),
    clientCount: CONTRIBUTORS,
    vectorLength: outputLength(spec),
    clipRange: analyticsClipRange(spec),
    minimumSurvivors: NOISE.minContributors,
  });
  const setup = await makeRound(params, inputs);
  const dropped = [(2 * round) % CONTRIBUTORS, (2 * round + 5) % CONTRIBUTORS];
  const drops = new Map<number, DropPoint>(dropped.map((id) => [id, 'collect-masked-inputs']));
  runRound(setup, drops);
  const result = setup.server.result;
  expect(result, 'the round produced an aggregate').toBeDefined();
  expect(result!.contributors).toEqual(Array.from({ length: CONTRIBUTORS }, (_, i) => i).filter((i) => !dropped.includes(i)));
  const truth = new Float64Array(outputLength(spec));
  for (const id of result!.contributors) outputs[id]!.forEach((v, i) => (truth[i]! += v));
  const aggregate = analyticsAggregate(spec, result!.sum, result!.contributors.length, NOISE, result!.errorBound);
  return { aggregate, truth };
}

function survivorsOf(round: number): number[] {
  return Array.from({ length: CONTRIBUTORS }, (_, i) => i).filter((i) => i !== (2 * round) % CONTRIBUTORS && i !== (2 * round + 5) % CONTRIBUTORS);
}

function withinErrorBars(aggregate: ReturnType<typeof analyticsAggregate>, truth: Float64Array): void {
  // 95% bars per coordinate: across the whole vector, allow 4.5 sd (about 1 in 150,000 per coordinate)
  const limit = 4.5 * aggregate.noiseStdDev + aggregate.errorBar - 1.96 * aggregate.noiseStdDev;
  aggregate.value.forEach((v, i) => {
    expect(Math.abs(v - truth[i]!), `${aggregate.labels[i]}: ${v} vs true ${truth[i]} (seed ${SEED})`).toBeLessThanOrEqual(limit);
  });
}

describe('an analytics job through the privacy pipeline', () => {
  it('a built-in histogram of sleep hours by mood: two rounds, two dropouts each, within the stated error', async () => {
    const spec = parseAnalyticsJobSpec({
      kind: 'federated-analytics',
      maxRows: 5,
      computation: { kind: 'histogram', column: 'sleep_hours', edges: [0, 5, 6, 7, 8, 9, 24], groupBy: { column: 'mood', categories: MOODS } },
    });
    for (let round = 0; round < 2; round++) {
      const { aggregate, truth } = await analyticsRound(spec, ['sleep_hours', 'mood'], round);
      // the workers' outputs are the histogram of the survivors' first five rows, counted here apart
      const expected = new Float64Array(24);
      for (const id of survivorsOf(round)) {
        const c = contributors[id]!;
        for (let r = 0; r < 5; r++) {
          const s = c.sleep[r];
          if (s === null || s === undefined) continue;
          const bin = [5, 6, 7, 8, 9].filter((edge) => s >= edge).length;
          expected[MOODS.indexOf(c.mood[r]!) * 6 + bin]!++;
        }
      }
      expect(Array.from(truth)).toEqual(Array.from(expected));
      // the positive control: the noise is really there
      expect(aggregate.value.some((v, i) => Math.abs(v - truth[i]!) > 1e-6)).toBe(true);
      expect(aggregate.noiseStdDev).toBeCloseTo((1 * 5 * Math.sqrt(8)) / Math.sqrt(6));
      withinErrorBars(aggregate, truth);
    }
  }, 120_000);

  it('the example module (sum and count of sleep hours): two rounds, two dropouts each, within the stated error', async () => {
    const bytes = await assemble(sleepMeanWat());
    const spec = parseAnalyticsJobSpec(moduleJob(bytes, { maxRows: 60 }));
    for (let round = 0; round < 2; round++) {
      const { aggregate, truth } = await analyticsRound(spec, ['sleep_hours'], round, bytes);
      const count = survivorsOf(round).reduce((n, i) => n + contributors[i]!.sleep.filter((s) => s !== null).length, 0);
      expect(truth[1]).toBe(count);
      withinErrorBars(aggregate, truth);
    }
  }, 120_000);
});
