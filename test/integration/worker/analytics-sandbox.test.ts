// Researchers' WebAssembly modules run in a real worker process on a real vault's granted
// columns. Each hostile module must end in its typed error with no output, the worker replaced
// and the vault unharmed; the honest example module, run the same way, is the positive control
// that shows the path works and each refusal comes from its own check.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnalyticsJobSpec } from '../../../common/analytics/spec.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Vault, type VaultGrant } from '../../../main/services/vault/index.js';
import { runAnalyticsStep } from '../../../main/services/analytics/local-step.js';
import { WorkerSupervisor } from '../../../main/services/worker/supervisor.js';
import { HOSTILE_MODULES, assemble, moduleJob, sleepMeanWat } from '../../fixtures/analytics-modules.js';
import { FAST_KDF, PASSPHRASE } from '../../helpers/vault.js';
import { testWorkerLauncher } from '../../helpers/worker.js';

// one vault for the whole file: every module runs against the same file, checked at the end
const dir = mkdtempSync(join(tmpdir(), 'trove-analytics-'));
const ROWS = 500;
const sleep = Array.from({ length: ROWS }, (_, i) => (i % 7 === 3 ? null : 4 + ((i * 37) % 60) / 10 + (i % 11 === 0 ? 30 : 0)));
const moods = ['low', 'okay', 'good', 'great'];

let vault: Vault;
let datasetId: string;
let supervisor: WorkerSupervisor;

beforeAll(async () => {
  vault = await Vault.create(join(dir, 'vault.db'), PASSPHRASE, { kdf: FAST_KDF, autoLockMs: null });
  const csv = ['sleep_hours,mood,secret', ...sleep.map((s, i) => `${s ?? ''},${moods[i % 4]},${1000 + i}`)].join('\n') + '\n';
  writeFileSync(join(dir, 'diary.csv'), csv);
  const report = await vault.importFile(join(dir, 'diary.csv'), { name: 'Diary' });
  datasetId = report.datasetId!;
  supervisor = new WorkerSupervisor({ launcher: await testWorkerLauncher(), heartbeatTimeoutMs: 10_000, defaultMemoryLimitMb: 256 });
});

afterAll(async () => {
  await supervisor.stop();
  vault.close();
  rmSync(dir, { recursive: true, force: true });
});

function grant(spec: AnalyticsJobSpec): Promise<VaultGrant> {
  const columns = spec.computation.kind === 'module' ? spec.computation.columns : [];
  return vault.grant(datasetId, columns, 'an analytics test');
}

async function outcome(run: Promise<unknown>): Promise<{ code: string } | { output: number[] }> {
  try {
    const r = (await run) as { output: Float64Array };
    return { output: Array.from(r.output) };
  } catch (err) {
    return { code: (err as { code?: string }).code ?? 'untyped' };
  }
}

const trueSum = sleep.reduce<number>((s, v) => (v === null ? s : s + Math.min(24, Math.max(0, v))), 0);
const trueCount = sleep.filter((v) => v !== null).length;

describe('analytics modules in the worker sandbox', () => {
  it('runs the example module on the granted column: the positive control', async () => {
    const bytes = await assemble(sleepMeanWat());
    const spec = moduleJob(bytes);
    const r = await outcome(runAnalyticsStep(supervisor, { spec, module: bytes, approvedModules: [spec.computation.kind === 'module' ? spec.computation.sha256 : ''], data: await grant(spec) }));
    expect(r).toEqual({ output: [expect.closeTo(trueSum, 6), trueCount] });
  });

  for (const hostile of HOSTILE_MODULES) {
    it(`contains ${hostile.name}: ${hostile.code}, nothing returned, the worker replaced`, async () => {
      const bytes = await assemble(hostile.wat);
      const spec = moduleJob(bytes, { timeLimitMs: 1_500 });
      const hash = spec.computation.kind === 'module' ? spec.computation.sha256 : '';
      // a fresh worker for each case, so that "replaced" means this module's worker
      await runAnalyticsStep(supervisor, { spec: { kind: 'federated-analytics', maxRows: 10, computation: { kind: 'count' } }, approvedModules: [], data: { kind: 'inline', rows: { recordIds: new Float64Array(3), columns: [] } } });
      const before = supervisor.workerPid;
      expect(before).toBeDefined();
      const r = await outcome(runAnalyticsStep(supervisor, { spec, module: bytes, approvedModules: [hash], data: await grant(spec) }));
      expect(r).toEqual({ code: hostile.code });
      expect(supervisor.workerPid).toBeUndefined();
      // the next task runs on a new worker
      await runAnalyticsStep(supervisor, { spec: { kind: 'federated-analytics', maxRows: 10, computation: { kind: 'count' } }, approvedModules: [], data: { kind: 'inline', rows: { recordIds: new Float64Array(3), columns: [] } } });
      expect(supervisor.workerPid).not.toBe(before);
    });
  }

  it('refuses a module whose bytes are not the hash the document names, and one the person did not approve', async () => {
    const bytes = await assemble(sleepMeanWat());
    const spec = moduleJob(bytes);
    const hash = spec.computation.kind === 'module' ? spec.computation.sha256 : '';
    const tampered = bytes.slice();
    tampered[tampered.length - 1]! ^= 1;
    expect(await outcome(runAnalyticsStep(supervisor, { spec, module: tampered, approvedModules: [hash], data: await grant(spec) }))).toEqual({ code: 'ANALYTICS_MODULE_REFUSED' });
    expect(await outcome(runAnalyticsStep(supervisor, { spec, module: bytes, approvedModules: [], data: await grant(spec) }))).toEqual({ code: 'ANALYTICS_MODULE_REFUSED' });
    expect(await outcome(runAnalyticsStep(supervisor, { spec, approvedModules: [hash], data: await grant(spec) }))).toEqual({ code: 'ANALYTICS_MODULE_REFUSED' });
  });

  it('cannot reach a column outside the grant: the grant itself refuses to read it', async () => {
    const bytes = await assemble(sleepMeanWat());
    const spec = moduleJob(bytes, { column: 'secret' });
    const hash = spec.computation.kind === 'module' ? spec.computation.sha256 : '';
    const sleepOnly = await vault.grant(datasetId, ['sleep_hours'], 'an analytics test');
    expect(await outcome(runAnalyticsStep(supervisor, { spec, module: bytes, approvedModules: [hash], data: sleepOnly }))).toEqual({ code: 'INVALID_INPUT' });
  });

  it('leaves the vault intact after every hostile module', () => {
    const report = vault.checkIntegrity();
    expect(report.ok).toBe(true);
    expect(report.problems).toEqual([]);
    const page = vault.readRows(datasetId, { limit: ROWS });
    expect(page.rows.length).toBe(ROWS);
  });
});
