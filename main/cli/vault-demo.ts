// The vault on its own, on embedded defaults: a fresh vault in a temporary folder, the sample sleep
// diary imported (its three bad rows reported, then skipped), summaries, a backup restored
// elsewhere and every sealed value verified. Nothing leaves the machine.
//
//   npm run demo:vault [-- --keep DIR]
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ImportReport } from '../../common/dataset.js';
import { isTroveError } from '../../common/errors.js';
import { Vault, backupVault, restoreVault } from '../services/vault/index.js';
import { printReport, printSummary, progressLine } from './vault.js';

const SAMPLE = resolve(dirname(fileURLToPath(import.meta.url)), '../../assets/samples/sleep-diary.csv');
const PASSPHRASE = 'demo: correct horse battery staple';

function step(n: number, text: string): void {
  console.log(`\n${n}. ${text}`);
}

export async function vaultDemo(args: string[]): Promise<void> {
  const keepAt = args.indexOf('--keep');
  const dir = keepAt >= 0 ? resolve(args[keepAt + 1] ?? 'trove-demo') : mkdtempSync(join(tmpdir(), 'trove-demo-'));
  mkdirSync(dir, { recursive: true });
  const vaultPath = join(dir, 'demo.vault');
  const started = Date.now();
  try {
    step(1, 'Creating a vault. Argon2id turns the passphrase into a key (256 MiB, ~2 s on purpose).');
    const vault = await Vault.create(vaultPath, PASSPHRASE, { autoLockMs: null });
    console.log(`   vault ${vault.vaultId.slice(0, 8)}… at ${vaultPath}`);

    step(2, 'Previewing the sample sleep diary: Trove proposes a type for each column.');
    const preview = await vault.previewImport(SAMPLE);
    for (const c of preview.columns) console.log(`   ${c.name.padEnd(15)} ${c.type.padEnd(9)} e.g. ${c.samples.slice(0, 3).map((v) => JSON.stringify(v)).join(', ')}`);

    step(3, 'Importing with the default policy: any bad row stops the import, and nothing is written.');
    try {
      await vault.importFile(SAMPLE);
    } catch (err) {
      if (!isTroveError(err, 'IMPORT_REJECTED')) throw err;
      console.log(`   ${err.message}`);
      printReport(err.details!.report as ImportReport);
    }

    step(4, 'Importing again, skipping the bad rows.');
    const report = await vault.importFile(SAMPLE, { policy: 'skip-rows', name: 'Sleep diary', onProgress: (p) => process.stdout.write(progressLine(p)) });
    process.stdout.write('\n');
    printReport(report);
    const id = report.datasetId!;

    step(5, 'What the data looks like (computed from the sealed columns):');
    vault.summarize(id).forEach(printSummary);

    step(6, 'The file on disk holds no value, dataset name or column name in the clear:');
    const disk = Buffer.concat(['', '-wal'].map((s) => { try { return readFileSync(vaultPath + s); } catch { return Buffer.alloc(0); } }));
    for (const needle of ['Sleep diary', 'sleep_hours', 'late dinner']) console.log(`   "${needle}" found in vault file: ${disk.includes(needle) ? 'YES (bug!)' : 'no'}`);

    step(7, 'Backing up to one encrypted file and restoring it into a new vault.');
    await backupVault(vault, join(dir, 'demo.trovebackup'));
    const restored = await restoreVault(join(dir, 'demo.trovebackup'), join(dir, 'restored.vault'), PASSPHRASE, { autoLockMs: null });
    const check = restored.checkIntegrity();
    console.log(`   restored: ${restored.count(id)} records; ${check.segments} sealed segments and ${check.activity.entries} log entries verified: ${check.ok ? 'OK' : check.problems.join('; ')}`);
    restored.close();

    step(8, 'The activity log (hash-chained, sealed):');
    for (const e of vault.activity().entries.reverse()) console.log(`   #${e.seq} ${e.summary}`);
    console.log(`   verification: ${vault.verifyActivity().ok ? 'intact' : 'BROKEN'}`);

    vault.lock();
    console.log(`\nLocked: keys wiped from memory. Done in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
    vault.close();
  } finally {
    if (keepAt < 0) rmSync(dir, { recursive: true, force: true });
    else console.log(`Files kept in ${dir}`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await vaultDemo(process.argv.slice(2));
