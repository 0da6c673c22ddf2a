// A job's data reaches the worker as a grant (vault file, dataset, data key, columns): the worker
// unseals only those columns itself. The grant is issued here the way the main side would, from
// the vault's master key; the training runs in a real worker process.
import { afterEach, describe, expect, it } from 'vitest';
import { WorkerSupervisor } from '../../../main/services/worker/supervisor.js';
import type { Vault } from '../../../main/services/vault/index.js';
import { VaultGrantReader } from '../../../worker/vault-grant-reader.js';
import { healthSpec, healthTable } from '../../fixtures/training-data.js';
import { newVault, useTempDir } from '../../helpers/vault.js';
import { testWorkerLauncher } from '../../helpers/worker.js';

const t = useTempDir();
const supervisors: WorkerSupervisor[] = [];
afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((s) => s.stop()));
});

function healthCsv(n: number): string {
  const table = healthTable(n, 21);
  const cols = table.rows.columns;
  const lines = [table.columns.join(',')];
  for (let r = 0; r < n; r++) {
    const cell = (c: number): string => {
      const col = cols[c]!;
      if ('nulls' in col) {
        if (col.nulls[r]) return '';
        return col.type === 'boolean' ? (col.values[r] ? 'true' : 'false') : String(col.values[r]);
      }
      return col.values[r] ?? '';
    };
    lines.push(cols.map((_, c) => cell(c)).join(','));
  }
  return lines.join('\n') + '\n';
}

async function importHealth(rows: number): Promise<{ vault: Vault; file: string; datasetId: string }> {
  const vault = await newVault(t);
  const file = t.file('vault.db');
  const report = await vault.importFile(t.file('health.csv', healthCsv(rows)), { name: 'Health' });
  expect(report.rowsImported).toBe(rows);
  return { vault, file, datasetId: report.datasetId! };
}

describe('vault data grants in the worker', () => {
  it('reads exactly the granted columns, as the vault itself reads them', async () => {
    const { vault, datasetId } = await importHealth(5_000);
    const columns = ['sleep_hours', 'region', 'health'];
    const grant = await vault.grant(datasetId, columns, 'a test task');
    expect(vault.activity().entries[0]).toMatchObject({ kind: 'job.data-granted', details: { dataset: datasetId, columns } });
    const data = await new VaultGrantReader().open(grant, columns);
    const blocks = [...vault.scan(datasetId, columns)];
    expect(data.rows.recordIds.length).toBe(5_000);
    expect(blocks.length).toBeGreaterThan(1);
    expect(Array.from(data.rows.recordIds)).toEqual(blocks.flatMap((b) => Array.from(b.recordIds)));
    expect(data.rows.columns.map((c) => c.type)).toEqual(blocks[0]!.columns.map((c) => c.type));
    // every value and every missing mark of every block, decoded straight into the whole column
    data.rows.columns.forEach((col, c) => {
      expect(Array.from<unknown>(col.values)).toEqual(blocks.flatMap((b) => Array.from<unknown>(b.columns[c]!.values)));
      if ('nulls' in col) expect(Array.from(col.nulls)).toEqual(blocks.flatMap((b) => Array.from((b.columns[c] as typeof col).nulls)));
    });
    const sleep = data.rows.columns[0]!;
    expect('nulls' in sleep && sleep.nulls.includes(1)).toBe(true);

    // released, the columns are wiped (they held data before: the control) and their arrays
    // serve the next read, which decodes the same values into them
    const before = data.rows.columns.map((c) => Array.from<unknown>(c.values));
    expect(before[0]!.some((v) => v !== 0)).toBe(true);
    data.release();
    expect(data.rows.columns.every((c) => Array.from<unknown>(c.values).every((v) => v === 0 || v === null))).toBe(true);
    expect(Array.from(data.rows.recordIds).every((v) => v === 0)).toBe(true);
    const again = await new VaultGrantReader().open(await vault.grant(datasetId, columns, 'a test task'), columns);
    const earlier: unknown[] = [data.rows.recordIds, ...data.rows.columns.map((c) => c.values)];
    expect(earlier).toContain(again.rows.columns[0]!.values);
    expect(again.rows.columns.map((c) => Array.from<unknown>(c.values))).toEqual(before);
    again.release();
  });

  it('refuses columns outside the grant and a key that is not the dataset key', async () => {
    const { vault, datasetId } = await importHealth(50);
    const grant = await vault.grant(datasetId, ['age'], 'a test task');
    await expect(new VaultGrantReader().open(grant, ['age', 'health'])).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    const wrongKey = { ...grant, dataKey: new Uint8Array(32).fill(7) };
    await expect(new VaultGrantReader().open(wrongKey, ['age'])).rejects.toMatchObject({ code: 'CORRUPT_DATA' });
  });

  it('trains a local step in the worker process from a grant', async () => {
    const { vault, datasetId } = await importHealth(3_000);
    const spec = healthSpec({ epochs: 2 });
    const grant = await vault.grant(datasetId, ['age', 'resting_heart_rate', 'sleep_hours', 'smoker', 'region', 'health'], 'a test task');
    const s = new WorkerSupervisor({ launcher: await testWorkerLauncher(), defaultMemoryLimitMb: 512 });
    supervisors.push(s);
    const result = await s.run({ kind: 'train-local', spec, globalWeights: null, data: grant });
    expect(result.kind).toBe('train-local');
    if (result.kind !== 'train-local') return;
    expect(result.step.exampleCount + result.step.metrics.heldOutExamples).toBe(3_000 - result.step.metrics.droppedRows);
    expect(result.step.metrics.heldOutAccuracy).toBeGreaterThan(0.6);
  });
});
