// Byte damage anywhere in a closed vault file, hundreds of times: every command either returns
// exactly the data that was stored or fails with a typed error. Seeded and replayable: the seed
// is printed, and TROVE_DAMAGE_SEED=<seed> runs the same trials again.
import { readFileSync, writeFileSync } from 'node:fs';
import type Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { TroveError } from '../../../common/errors.js';
import { Vault } from '../../../main/services/vault/index.js';
import { PASSPHRASE, newVault, peopleCsv, useTempDir } from '../../helpers/vault.js';
import { seededRandom } from '../../../common/random.js';

const TRIALS = 300;

describe('a vault file with damaged bytes', () => {
  const t = useTempDir();

  it(`never gives wrong data and never fails untyped (${TRIALS} seeded trials)`, async () => {
    const seed = Number(process.env.TROVE_DAMAGE_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`byte-damage seed: ${seed} (replay with TROVE_DAMAGE_SEED=${seed})`);
    const random = seededRandom(seed);

    const v = await newVault(t, { blockRows: 8 });
    const a = (await v.importFile(t.file('a.csv', peopleCsv(40)), { name: 'a' })).datasetId!;
    const b = (await v.importFile(t.file('b.csv', peopleCsv(12, 'other')), { name: 'b' })).datasetId!;
    await v.setSetting('privacy.ledger', { spent: 0.25 }, 'Privacy budget noted.');
    const truth = {
      datasets: new Map(v.listDatasets().map((d) => [d.id, d])),
      rows: new Map([a, b].map((id) => [id, v.readRows(id, { limit: 1000 })])),
      summaries: new Map([a, b].map((id) => [id, v.summarize(id)])),
      log: v.activity(0, 1000).entries,
    };
    v.close();
    const original = readFileSync(t.file('vault.db'));

    const untyped: string[] = [];
    const wrong: string[] = [];
    const codes = new Map<string, number>();
    const attempt = async <T>(what: string, trial: number, fn: () => T | Promise<T>): Promise<T | undefined> => {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof TroveError) codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
        else untyped.push(`trial ${trial}, ${what}: ${String(err)}`);
        return undefined;
      }
    };

    for (let trial = 0; trial < TRIALS; trial++) {
      const bytes = Buffer.from(original);
      const hits = 1 + Math.floor(random() * 8);
      for (let h = 0; h < hits; h++) {
        const at = Math.floor(random() * bytes.length);
        bytes[at] = (bytes[at]! ^ (1 + Math.floor(random() * 255))) & 0xff;
      }
      const file = t.file(`trial-${trial}.db`);
      writeFileSync(file, bytes);
      const vault = await attempt('open', trial, () => Vault.open(file, { autoLockMs: null }));
      if (!vault) continue;
      try {
        const unlocked = await attempt('unlock', trial, () => vault.unlock(PASSPHRASE).then(() => true));
        if (!unlocked) continue;
        const list = await attempt('list', trial, () => vault.listDatasets());
        for (const d of list ?? []) {
          const want = truth.datasets.get(d.id);
          if (d.damaged) continue;
          if (!want) wrong.push(`trial ${trial}: list shows an unknown dataset ${d.id}`);
          else if (JSON.stringify(d) !== JSON.stringify(want)) wrong.push(`trial ${trial}: list shows ${d.id} differently`);
        }
        for (const id of [a, b]) {
          const page = await attempt('show', trial, () => vault.readRows(id, { limit: 1000 }));
          if (page) expect.soft(page, `trial ${trial}: rows of ${id}`).toEqual(truth.rows.get(id));
          if (page && JSON.stringify(page) !== JSON.stringify(truth.rows.get(id))) wrong.push(`trial ${trial}: rows of ${id}`);
          const summary = await attempt('summary', trial, () => vault.summarize(id));
          if (summary && JSON.stringify(summary) !== JSON.stringify(truth.summaries.get(id))) wrong.push(`trial ${trial}: summary of ${id}`);
        }
        const log = await attempt('log', trial, () => vault.activity(0, 1000));
        for (const e of log?.entries ?? []) {
          const want = truth.log.find((x) => x.seq === e.seq);
          // Entries past the original log are this trial's own unlock.
          if (want && JSON.stringify(want) !== JSON.stringify(e)) wrong.push(`trial ${trial}: log entry #${e.seq}`);
        }
        await attempt('verify', trial, () => vault.checkIntegrity());
        await attempt('setting', trial, () => vault.getSetting('privacy.ledger'));
      } finally {
        await attempt('close', trial, () => vault.close());
      }
    }
    console.log(`typed refusals by code: ${JSON.stringify(Object.fromEntries(codes))}`);
    expect(untyped, `seed ${seed}`).toEqual([]);
    expect(wrong, `seed ${seed}`).toEqual([]);
    // The trials did reach damage: some commands were refused.
    expect([...codes.values()].reduce((x, y) => x + y, 0)).toBeGreaterThan(TRIALS / 10);
  }, 600_000);

  it('lists a damaged dataset as damaged and still shows the others', async () => {
    const v = await newVault(t);
    const a = (await v.importFile(t.file('a.csv', peopleCsv(5)), { name: 'a' })).datasetId!;
    const b = (await v.importFile(t.file('b.csv', peopleCsv(5)), { name: 'b' })).datasetId!;
    const db = (v as unknown as { db: Database.Database }).db;
    const m = (db.prepare('SELECT manifest_sealed AS m FROM datasets WHERE id = ?').get(Buffer.from(a, 'hex')) as { m: Buffer }).m;
    m[40]! ^= 1;
    db.prepare('UPDATE datasets SET manifest_sealed = ? WHERE id = ?').run(m, Buffer.from(a, 'hex'));
    const list = v.listDatasets();
    expect(list.map((d) => [d.id, d.name, d.damaged !== undefined])).toEqual([
      [a, `Damaged dataset ${a.slice(0, 8)}`, true],
      [b, 'b', false],
    ]);
    expect(list[0]!.damaged).toMatch(/failed its integrity check.*Restore from a backup/);
    expect(v.readRows(b).rows).toHaveLength(5);
  });

  it('turns SQLite errors on a damaged schema into typed errors naming the part, and verify reports them', async () => {
    const v = await newVault(t);
    const a = (await v.importFile(t.file('a.csv', peopleCsv(5)), { name: 'a' })).datasetId!;
    const db = (v as unknown as { db: Database.Database }).db;
    db.exec('ALTER TABLE activity RENAME COLUMN sealed TO damaged');
    expect(() => v.activity()).toThrow(expect.objectContaining({ code: 'CORRUPT_DATA', message: expect.stringMatching(/damaged where it keeps its activity log/) }));
    const report = v.checkIntegrity();
    expect(report.ok).toBe(false);
    expect(report.problems.join(' ')).toMatch(/damaged where it keeps its activity log/);
    expect(v.readRows(a).rows).toHaveLength(5); // the data is still there
    await expect(v.recordActivity('settings.changed', 'x')).rejects.toMatchObject({ code: 'CORRUPT_DATA' });
    db.exec('ALTER TABLE segments RENAME COLUMN sealed TO damaged');
    expect(() => v.readRows(a)).toThrow(expect.objectContaining({ code: 'CORRUPT_DATA', message: expect.stringMatching(/damaged where it keeps this dataset/) }));
    expect(() => v.summarize(a)).toThrow(expect.objectContaining({ code: 'CORRUPT_DATA' }));
    expect(v.checkIntegrity().ok).toBe(false);
  });
});
