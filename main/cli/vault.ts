// The vault from a terminal: the same service the app uses, for people who script and for a
// first look without the app. The passphrase is read from the terminal without echo, or from
// TROVE_PASSPHRASE for scripts.
//
//   npm run vault -- <command> [arguments]
import { type WriteStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { COLUMN_TYPES, type ColumnSummary, type ColumnType, type ImportProgress, type ImportReport, type RejectedRow } from '../../common/dataset.js';
import { toCsv } from '../../common/csv-writer.js';
import { TroveError, isTroveError } from '../../common/errors.js';
import { INTERACTIVE_KDF, Vault, backupVault, restoreVault } from '../services/vault/index.js';
import { fileLastSeen, lastSeenFileFor } from '../services/vault/last-seen.js';
import { parseArgs } from 'node:util';

const USAGE = `usage: npm run vault -- <command>

  create <vault> [--kdf interactive]     make a new vault (asks for a passphrase twice); the
                                         lighter key derivation (64 MiB) suits small machines
  import <vault> <file> [--skip-bad-rows] [--name NAME] [--type COLUMN=TYPE ...]
         [--rejected-out FILE.csv]       import a CSV, JSON or JSON Lines file as a dataset;
                                         --rejected-out lists every row not imported
  list <vault>                           datasets with their sizes
  show <vault> <dataset> [--offset N] [--limit N]
                                         <dataset> is its name or its id
  summary <vault> <dataset>              per-column summaries with small histograms
  delete <vault> <dataset>               delete a dataset and destroy its key
  log <vault>                            the activity log, newest first
  verify <vault>                         check every sealed value and the activity log
  passwd <vault>                         change the passphrase (asked twice; for scripts,
                                         TROVE_NEW_PASSPHRASE holds the new one)
  backup <vault> <backup-file>           write an encrypted backup
  restore <backup-file> <new-vault>      restore a backup into a new vault file

The passphrase is asked for on the terminal, or taken from TROVE_PASSPHRASE.`;

export async function askPassphrase(prompt: string): Promise<string> {
  const fromEnv = process.env.TROVE_PASSPHRASE;
  if (fromEnv) return fromEnv;
  if (!process.stdin.isTTY) throw new TroveError('INVALID_INPUT', 'No terminal to ask for the passphrase on: set TROVE_PASSPHRASE.');
  let muted = false;
  const output = new Writable({
    write(chunk: Buffer, _enc, done) {
      if (!muted) process.stdout.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  try {
    return await new Promise<string>((resolve) => {
      rl.question(prompt, (answer) => {
        process.stdout.write('\n');
        resolve(answer);
      });
      muted = true;
    });
  } finally {
    rl.close();
  }
}

/**
 * `--type column=type`, as often as needed: the person's word over the guess, as in the app. An
 * unknown column or type is refused before anything is read.
 */
export function typeOverrides(specs: readonly string[], names: readonly string[]): { type?: ColumnType }[] | undefined {
  const out: { type?: ColumnType }[] = names.map(() => ({}));
  let any = false;
  specs.forEach((spec) => {
    const eq = spec.lastIndexOf('=');
    const column = spec.slice(0, eq);
    const type = spec.slice(eq + 1);
    if (eq <= 0) throw new TroveError('INVALID_INPUT', `--type wants column=type, e.g. --type weight=number (got "${spec}").`);
    const at = names.indexOf(column);
    if (at < 0) throw new TroveError('INVALID_INPUT', `The file has no column "${column}". Its columns are: ${names.join(', ')}.`);
    if (!(COLUMN_TYPES as readonly string[]).includes(type)) throw new TroveError('INVALID_INPUT', `"${type}" is not a column type: use one of ${COLUMN_TYPES.join(', ')}.`);
    out[at] = { type: type as ColumnType };
    any = true;
  });
  return any ? out : undefined;
}

/** The command line, read as the other command lines are: node:util parseArgs, unknown options refused. */
export function parseCommandLine(args: string[]) {
  try {
    return parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        kdf: { type: 'string' },
        name: { type: 'string' },
        type: { type: 'string', multiple: true },
        'skip-bad-rows': { type: 'boolean' },
        'rejected-out': { type: 'string' },
        offset: { type: 'string' },
        limit: { type: 'string' },
      },
    });
  } catch (err) {
    throw new TroveError('INVALID_INPUT', `${(err as Error).message}\n${USAGE}`);
  }
}

/** A whole number option, or its default; anything else is refused before the vault is opened. */
function count(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  if (!/^[0-9]{1,9}$/.test(value)) throw new TroveError('INVALID_INPUT', `--${what} is a whole number, not "${value}".`);
  return Number(value);
}

export function bar(fraction: number, width = 30): string {
  const n = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${'#'.repeat(n)}${'.'.repeat(width - n)}]`;
}

export function progressLine(p: ImportProgress): string {
  const f = p.totalBytes ? p.bytesRead / p.totalBytes : 0;
  return `\r   ${bar(f)} ${Math.round(f * 100)}%  ${p.rowsRead.toLocaleString('en')} rows read, ${p.rowsRejected} with problems`;
}

export function printReport(report: ImportReport): void {
  if (report.datasetId) console.log(`   imported ${report.rowsImported.toLocaleString('en')} records in ${report.durationMs} ms`);
  if (report.rowsRejected > 0) {
    console.log(`   ${report.rowsRejected} ${report.rowsRejected === 1 ? 'row was' : 'rows were'} not imported:`);
    for (const r of report.rejected.slice(0, 20)) console.log(`     line ${r.line}${r.column ? `, column "${r.column}"` : ''}: ${r.reason}`);
    if (report.rowsRejected > 20) console.log(`     ... and ${report.rowsRejected - 20} more (--rejected-out FILE.csv lists them all)`);
  }
}

/** Every rejected row of an import, written as CSV while the import runs (the report keeps the first ones). */
export class RejectedRowsFile {
  private readonly out: WriteStream;
  private rows = 0;
  private failed: Error | null = null;

  constructor(private readonly file: string) {
    this.out = createWriteStream(file, { mode: 0o600 });
    this.out.on('error', (err) => (this.failed = err));
    this.out.write(toCsv([['line', 'column', 'reason']]));
  }

  add(r: RejectedRow): void {
    this.rows++;
    this.out.write(toCsv([[r.line, r.column ?? '', r.reason]]));
  }

  /** Finishes the file; says where the list is, or why it could not be written. */
  async close(): Promise<string> {
    await new Promise<void>((resolve) => this.out.end(() => resolve()));
    if (this.failed) return `The list of rows not imported could not be written to ${this.file} (${this.failed.message}).`;
    return `${this.rows} ${this.rows === 1 ? 'row' : 'rows'} not imported listed in ${this.file}`;
  }
}

const SPARK = ' ▁▂▃▄▅▆▇█';

export function printSummary(s: ColumnSummary): void {
  if (s.kind === 'numeric') {
    const max = Math.max(1, ...s.histogram.map((b) => b.count));
    const spark = s.histogram.map((b) => SPARK[Math.round((b.count / max) * 8)]).join('');
    const fmt = (v: number | null) => (v === null ? '-' : s.type === 'date' ? new Date(v).toISOString().slice(0, 10) : Number(v.toFixed(2)).toString());
    console.log(`   ${s.column.padEnd(16)} ${s.type.padEnd(8)} ${fmt(s.min)} .. ${fmt(s.max)}  mean ${fmt(s.mean)}  ${spark}  (${s.nulls} missing)`);
  } else {
    const top = s.top.slice(0, 4).map((t) => `${t.value || '""'} ×${t.count}`).join(', ');
    console.log(`   ${s.column.padEnd(16)} ${s.type.padEnd(8)} ${s.distinct}${s.distinctCapped ? '+' : ''} distinct: ${top}  (${s.nulls} missing)`);
  }
}

async function unlocked(path: string): Promise<Vault> {
  const vault = await Vault.open(path, { autoLockMs: null, lastSeen: fileLastSeen(lastSeenFileFor(path)) });
  // Each command logs what it does; an unlock line per command would bury that.
  await vault.unlock(await askPassphrase('Passphrase: '), { logUnlock: false });
  announceRollback(vault);
  return vault;
}

/** Said on every command that unlocks, before its own output: the file on disk is an older copy. */
function announceRollback(vault: Vault): void {
  const rollback = vault.fileRollback;
  if (!rollback) return;
  console.error(`\nWARNING: ${rollback.message}\n(To restore: npm run vault -- restore <your latest backup> <new vault file>. "verify" lists this among its findings.)\n`);
}

async function run(args: string[]): Promise<void> {
  const { values, positionals } = parseCommandLine(args);
  const [command, a, b] = positionals;
  if (!command || !a) {
    console.log(USAGE);
    return;
  }
  switch (command) {
    case 'create': {
      const pass = await askPassphrase('New passphrase: ');
      if (!process.env.TROVE_PASSPHRASE && (await askPassphrase('Again: ')) !== pass) throw new TroveError('INVALID_INPUT', 'The two passphrases differ. Nothing was created.');
      const kdf = values.kdf;
      if (kdf !== undefined && kdf !== 'interactive' && kdf !== 'moderate') throw new TroveError('INVALID_INPUT', '--kdf is "moderate" (the default) or "interactive".');
      const vault = await Vault.create(a, pass, { autoLockMs: null, lastSeen: fileLastSeen(lastSeenFileFor(a)), ...(kdf === 'interactive' ? { kdf: INTERACTIVE_KDF } : {}) });
      console.log(`Created vault ${vault.vaultId.slice(0, 8)} at ${a}. Keep the passphrase safe: without it the data cannot be recovered.`);
      vault.close();
      return;
    }
    case 'restore': {
      if (!b) throw new TroveError('INVALID_INPUT', 'Name the backup file and the new vault file.');
      const vault = await restoreVault(a, b, await askPassphrase('Passphrase of the backup: '), {
        autoLockMs: null,
        lastSeen: fileLastSeen(lastSeenFileFor(b)),
        onProgress: (p) => process.stdout.write(`\r  ${bar(p.bytesDone / p.totalBytes)}`),
        onLeftOut: (left) => {
          for (const d of left) console.log(`\nLeft out dataset ${d.id}, which the backup holds damaged: ${d.problem}`);
          process.exitCode = 1;
        },
      });
      console.log(`\nRestored ${vault.listDatasets().length} datasets into ${b}; every sealed value checked.`);
      vault.close();
      return;
    }
  }
  const vault = await unlocked(a);
  try {
    switch (command) {
      case 'import': {
        if (!b) throw new TroveError('INVALID_INPUT', 'Name the file to import.');
        const preview = await vault.previewImport(b);
        console.log(`Columns found in ${b}:`);
        for (const c of preview.columns) console.log(`  ${c.name.padEnd(16)} ${c.type.padEnd(8)} e.g. ${c.samples.slice(0, 3).map((v) => JSON.stringify(v)).join(', ')}`);
        const name = values.name;
        const columns = typeOverrides(values.type ?? [], preview.columns.map((c) => c.name));
        const rejectedOut = values['rejected-out'] ? new RejectedRowsFile(values['rejected-out']) : null;
        let report: ImportReport;
        try {
          report = await vault.importFile(b, {
            policy: values['skip-bad-rows'] ? 'skip-rows' : 'reject-import',
            ...(name ? { name } : {}),
            ...(columns ? { columns } : {}),
            onProgress: (p) => process.stdout.write(progressLine(p)),
            ...(rejectedOut ? { onRejected: (r: RejectedRow) => rejectedOut.add(r) } : {}),
          });
        } finally {
          if (rejectedOut) console.log(`\n   ${await rejectedOut.close()}`);
        }
        process.stdout.write('\n');
        printReport(report);
        return;
      }
      case 'list':
        for (const d of vault.listDatasets()) {
          if (d.damaged) {
            console.log(`${d.id}  DAMAGED: ${d.damaged}`);
            process.exitCode = 1;
          } else console.log(`${d.id}  ${d.name.padEnd(24)} ${String(d.rowCount).padStart(9)} records  ${d.columns.length} columns`);
        }
        return;
      case 'show': {
        const page = vault.readRows(vault.resolveDataset(b ?? ''), { offset: count(values.offset, 0, 'offset'), limit: count(values.limit, 20, 'limit') });
        console.log(['#', ...page.columns.map((c) => c.name)].join('\t'));
        for (const r of page.rows) console.log([r.id, ...r.values.map((v) => (v === null ? '' : String(v)))].join('\t'));
        console.log(`(${page.rows.length} of ${page.total})`);
        return;
      }
      case 'summary':
        vault.summarize(vault.resolveDataset(b ?? '')).forEach(printSummary);
        return;
      case 'delete':
        await vault.deleteDataset(vault.resolveDataset(b ?? ''));
        console.log('Deleted; its key was destroyed.');
        return;
      case 'log':
        for (const e of vault.activity(0, 50).entries) console.log(`#${String(e.seq).padStart(4)}  ${new Date(e.at).toISOString()}  ${e.summary}`);
        return;
      case 'verify': {
        const report = vault.checkIntegrity();
        console.log(report.ok ? `OK: ${report.datasets} datasets, ${report.segments} sealed segments and ${report.activity.entries} log entries verified.` : `PROBLEMS:\n  ${report.problems.join('\n  ')}`);
        if (!report.ok) process.exitCode = 1;
        return;
      }
      case 'passwd': {
        // Asked twice: one typo in a passphrase nobody else knows would lock the person out.
        const fromEnv = process.env.TROVE_NEW_PASSPHRASE;
        if (process.env.TROVE_PASSPHRASE && !fromEnv) throw new TroveError('INVALID_INPUT', 'Set TROVE_NEW_PASSPHRASE to the new passphrase (TROVE_PASSPHRASE is the current one). Nothing was changed.');
        const next = fromEnv ?? (await askPassphrase('New passphrase: '));
        if (!fromEnv && (await askPassphrase('New passphrase again: ')) !== next) throw new TroveError('INVALID_INPUT', 'The two new passphrases differ. Nothing was changed.');
        await vault.changePassphrase(await askPassphrase('Current passphrase, once more: '), next);
        console.log('Passphrase changed.');
        return;
      }
      case 'backup': {
        if (!b) throw new TroveError('INVALID_INPUT', 'Name the backup file.');
        const { bytes, leftOut } = await backupVault(vault, b, (p) => process.stdout.write(`\r  ${bar(p.bytesDone / p.totalBytes)}`));
        console.log(`\nSaved ${b} (${bytes.toLocaleString('en')} bytes, encrypted).`);
        for (const d of leftOut) console.log(`Left out dataset ${d.id}: ${d.problem}`);
        if (leftOut.length) process.exitCode = 1;
        return;
      }
      default:
        console.log(USAGE);
        process.exitCode = 2;
    }
  } finally {
    vault.close();
  }
}

export async function main(args: string[]): Promise<void> {
  try {
    await run(args);
  } catch (err) {
    if (isTroveError(err)) {
      console.error(`\n${err.message}`);
      const report = err.details?.report as ImportReport | undefined;
      if (report) printReport(report);
      process.exitCode = 1;
    } else throw err;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main(process.argv.slice(2));
