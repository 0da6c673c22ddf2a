// Encrypted vault vs plain better-sqlite3 holding the same rows unencrypted, in the same run:
// import and full-scan throughput for 100k rows x 20 columns. Prints rows/s for both and the
// ratio (encrypted / plaintext). Targets: import >= 0.9x, including the sealed record of the
// vault's state written in the same transaction; full scan >= 2x.
//
//   npm run bench:vault [-- --rows 100000 --repeat 5]
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ColumnSchema } from '../common/dataset.js';
import { isTextColumn } from '../common/dataset.js';
import { aead } from '../common/aead.js';
import { Vault } from '../main/services/vault/index.js';
import type { SourceRecord } from '../main/services/vault/import/sources.js';
import { median } from './median.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROWS = arg('rows', 100_000);
const REPEAT = arg('repeat', 5);
// The first round of each warms the JIT and the file system cache; it is not counted.
const WARMUP = 1;

// 20 columns, the mix a personal dataset has: measurements, counts, labels, flags, a date, notes.
const SCHEMA: ColumnSchema[] = [
  ...Array.from({ length: 8 }, (_, i) => ({ name: `measure_${i}`, type: 'number' as const })),
  ...Array.from({ length: 4 }, (_, i) => ({ name: `count_${i}`, type: 'integer' as const })),
  { name: 'label_a', type: 'category' },
  { name: 'label_b', type: 'category' },
  { name: 'flag_a', type: 'boolean' },
  { name: 'flag_b', type: 'boolean' },
  { name: 'when', type: 'date' },
  { name: 'note', type: 'string' },
  { name: 'place', type: 'string' },
  { name: 'code', type: 'string' },
];
const LABELS = ['low', 'medium', 'high', 'very high'];

function makeRows(n: number): unknown[][] {
  let seed = 42;
  const rand = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const rows: unknown[][] = [];
  for (let r = 0; r < n; r++) {
    const row: unknown[] = [];
    for (let i = 0; i < 8; i++) row.push(Math.round(rand() * 1e6) / 1e3);
    for (let i = 0; i < 4; i++) row.push(Math.floor(rand() * 10_000));
    row.push(LABELS[r % 4], LABELS[(r * 7) % 4], r % 2 === 0, r % 3 === 0);
    row.push(new Date(Date.UTC(2024, 0, 1) + r * 60_000).toISOString());
    row.push(`note number ${r} about the day`, `city ${r % 97}`, `C-${(r * 2654435761) % 1_000_000}`);
    rows.push(row);
  }
  return rows;
}


function time(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function timeAsync(fn: () => Promise<void>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

function plaintextDb(dir: string, i: number): Database.Database {
  const db = new Database(join(dir, `plain-${i}.db`));
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('secure_delete = ON');
  const cols = SCHEMA.map((c) => `"${c.name}" ${c.type === 'number' ? 'REAL' : c.type === 'string' || c.type === 'category' ? 'TEXT' : 'INTEGER'}`);
  db.exec(`CREATE TABLE records (id INTEGER PRIMARY KEY, ${cols.join(', ')})`);
  return db;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'trove-bench-'));
  const rows = makeRows(ROWS);
  // The plaintext store gets the same typed values the vault stores: dates as epoch ms, flags as 0/1.
  const plainRows = rows.map((r) => r.map((v, c) => (SCHEMA[c]!.type === 'date' ? Date.parse(v as string) : typeof v === 'boolean' ? (v ? 1 : 0) : v)));
  const batches: SourceRecord[][] = [];
  for (let i = 0; i < rows.length; i += 1000) batches.push(rows.slice(i, i + 1000).map((values, k) => ({ line: i + k + 2, values })));

  const results = { plainImport: [] as number[], vaultImport: [] as number[], plainScan: [] as number[], vaultScan: [] as number[], plainRows: [] as number[], vaultRows: [] as number[] };
  try {
    for (let rep = 0; rep < REPEAT + WARMUP; rep++) {
      // Plaintext: one transaction, one prepared INSERT per row.
      const db = plaintextDb(dir, rep);
      const insert = db.prepare(`INSERT INTO records VALUES (?, ${SCHEMA.map(() => '?').join(', ')})`);
      results.plainImport.push(time(() => db.transaction(() => plainRows.forEach((r, id) => insert.run(id, ...r)))()));

      // Encrypted: the vault's own import pipeline (type checks, column blocks, sealing), one transaction.
      const vault = await Vault.create(join(dir, `vault-${rep}.db`), 'benchmark passphrase', { kdf: { opsLimit: 1, memLimit: 8 << 20 }, autoLockMs: null });
      let id = '';
      results.vaultImport.push(
        await timeAsync(async () => {
          const report = await vault.importRecords({ name: 'bench', columns: SCHEMA.map((c, i) => ({ ...c, source: i })), records: batches });
          id = report.datasetId!;
        }),
      );

      // Full scan, every value of every row touched.
      let check = 0;
      results.plainScan.push(
        time(() => {
          for (const r of db.prepare('SELECT * FROM records').raw().iterate() as Iterable<unknown[]>) check += r.length;
        }),
      );
      results.vaultScan.push(
        time(() => {
          for (const block of vault.scan(id)) {
            for (const col of block.columns) {
              if (isTextColumn(col)) for (let i = 0; i < col.values.length; i++) check += col.values[i] === null ? 0 : 1;
              else for (let i = 0; i < col.values.length; i++) check += col.nulls[i]! ^ 1;
            }
          }
        }),
      );
      // The same scan, as row objects a UI or an export would take.
      results.plainRows.push(time(() => void (check += db.prepare('SELECT * FROM records').all().length)));
      results.vaultRows.push(
        time(() => {
          for (let offset = 0; offset < ROWS; offset += 10_000) check += vault.readRows(id, { offset, limit: 10_000 }).rows.length;
        }),
      );
      if (check <= 0) throw new Error('nothing was read');
      db.close();
      vault.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const rate = (secs: number[]) => ROWS / median(secs.slice(WARMUP));
  const line = (what: string, plain: number[], enc: number[]) => {
    const p = rate(plain);
    const e = rate(enc);
    console.log(`${what.padEnd(26)} plaintext ${Math.round(p).toLocaleString('en').padStart(11)} rows/s   encrypted ${Math.round(e).toLocaleString('en').padStart(11)} rows/s   ratio ${(e / p).toFixed(2)}x`);
  };
  console.log(`vault benchmark: ${ROWS.toLocaleString('en')} rows x ${SCHEMA.length} columns, median of ${REPEAT}`);
  // Segments are sealed natively where the platform has ChaCha20-Poly1305 (Node), with libsodium
  // elsewhere (Electron's BoringSSL); the load says how far other work on the machine skews the run.
  console.log(`sealing: ${aead().name}; load average ${loadavg().map((l) => l.toFixed(2)).join(', ')}`);
  line('import', results.plainImport, results.vaultImport);
  line('full scan (all columns)', results.plainScan, results.vaultScan);
  line('full scan to row objects', results.plainRows, results.vaultRows);
}

await main();
