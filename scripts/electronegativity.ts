// Runs @doyensec/electronegativity over the project and fails on any high-severity finding.
// Lower findings are printed for review; the ones that remain are explained in README.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
const electronVersion = pkg.devDependencies.electron!.replace(/^[^\d]*/, '');
const out = mkdtempSync(join(tmpdir(), 'trove-electronegativity-'));
const report = join(out, 'findings.csv');

const run = spawnSync(join(root, 'node_modules', '.bin', 'electronegativity'), ['-i', root, '-r', '-o', report, '-e', electronVersion, '-v', 'false'], {
  encoding: 'utf8',
  timeout: 180_000,
});
if (run.status !== 0) {
  console.error(run.stdout, run.stderr);
  throw new Error(`electronegativity exited with ${run.status}`);
}

/** Parses the CSV electronegativity writes (quoted fields may hold commas). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const fields: string[] = [];
    let field = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i]!;
      if (quoted) {
        if (ch === '"' && line[i + 1] === '"') {
          field += '"';
          i++;
        } else if (ch === '"') quoted = false;
        else field += ch;
      } else if (ch === '"') quoted = true;
      else if (ch === ',') {
        fields.push(field.trim());
        field = '';
      } else field += ch;
    }
    fields.push(field.trim());
    rows.push(fields);
  }
  return rows;
}

const [, ...findings] = parseCsv(readFileSync(report, 'utf8'));
rmSync(out, { recursive: true, force: true });
// Built copies of sources say the same as the sources.
const relevant = findings.filter(([, , , file]) => !file?.startsWith('dist/') && !file?.startsWith('node_modules/'));
for (const [issue, severity, confidence, file, location, , description] of relevant) {
  console.log(`${severity?.padEnd(8)} ${confidence?.padEnd(10)} ${issue} ${file}:${location} — ${description}`);
}
const high = relevant.filter(([, severity]) => severity === 'HIGH' || severity === 'CRITICAL');
if (high.length > 0) {
  console.error(`electronegativity: ${high.length} high-severity finding(s)`);
  process.exit(1);
}
console.log(`electronegativity: ${relevant.length} finding(s), none high-severity`);
