// The commands a new user runs, as they run them: the demo of the main job, the vault demo, and
// the vault CLI end to end.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { useTempDir } from '../../helpers/vault.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const sample = join(root, 'assets/samples/sleep-diary.csv');

function cli(script: string, args: string[], passphrase = 'a passphrase for the cli') {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'main/cli', script), ...args], {
    encoding: 'utf8',
    env: { ...process.env, TROVE_PASSPHRASE: passphrase },
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('command line', () => {
  const t = useTempDir();

  it('runs the main job end to end on embedded defaults', () => {
    const r = cli('demo.ts', []);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('checked: the document matches the hash published on-chain');
    expect(r.out).toContain('leaves this computer: a masked vector of 33 numbers per round, never a row');
    // The example job spends at most epsilon 2 (two rounds at noise multiplier 3.1), which the card says in words.
    expect(r.out).toContain('after this you can join 4 more jobs like it; the budget does not renew');
    // Each round's group holds at least the job's minimum of 16 of the 32 contributors.
    for (const round of [1, 2]) expect(r.out).toMatch(new RegExp(`round ${round} closed on-chain: (1[6-9]|2\\d|3[0-2]) contributors in the group`));
    expect(r.out).toMatch(/Sent a masked list of 33 numbers \(\d+ B\) to the job's coordinator for round 2/);
    expect(r.out).toContain('log verification: intact');
    expect(r.out).toContain('privacy budget: epsilon 1.96 of 10 spent (1.96 by this job); rounds you contributed to: 2');
  }, 360_000);

  it('runs the vault demo on its embedded sample data', () => {
    const r = cli('vault-demo.ts', []);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toContain('2 rows have problems, so nothing was imported.');
    expect(r.out).toContain('line 42, column "sleep_hours": "seven" is not a number.');
    expect(r.out).toContain('imported 363 records');
    expect(r.out).not.toContain('YES (bug!)');
    expect(r.out).toMatch(/restored: 363 records; \d+ sealed segments and \d+ log entries verified: OK/);
    expect(r.out).toContain('verification: intact');
  }, 120_000);

  it('creates, imports, verifies, backs up and restores, and says what went wrong', () => {
    const vault = t.file('my.vault');
    expect(cli('vault.ts', ['create', vault, '--kdf', 'interactive']).out).toContain('Created vault');
    const imported = cli('vault.ts', ['import', vault, sample, '--skip-bad-rows', '--name', 'Sleep']);
    expect(imported.out).toContain('imported 363 records');
    expect(cli('vault.ts', ['list', vault]).out).toMatch(/^[0-9a-f]{32} {2}Sleep +363 records {2}9 columns$/m);
    expect(cli('vault.ts', ['verify', vault]).out).toMatch(/^OK: 1 datasets/);
    expect(cli('vault.ts', ['backup', vault, t.file('b.trovebackup')]).code).toBe(0);
    expect(cli('vault.ts', ['restore', t.file('b.trovebackup'), t.file('r.vault')]).out).toContain('Restored 1 datasets');

    // The log shows what each command did, not an unlock line per command; the failed attempt
    // below is reported at the next unlock.
    const log = cli('vault.ts', ['log', vault]).out;
    expect(log).toMatch(/Imported .*363/);
    expect(log).not.toContain('Vault unlocked.');

    const wrong = cli('vault.ts', ['list', vault], 'not the passphrase');
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain('That passphrase does not unlock this vault.');
    const rejected = cli('vault.ts', ['import', vault, sample]);
    expect(rejected.code).toBe(1);
    expect(rejected.err).toContain('2 rows have problems');

    // Every rejected row, not only the first ones printed, in a CSV the person can open.
    const many = t.file('many-bad.csv', ['n,x', ...Array.from({ length: 40 }, (_, i) => `${i},1`), ...Array.from({ length: 30 }, (_, i) => `${i},1,extra`)].join('\n'));
    const listed = cli('vault.ts', ['import', vault, many, '--skip-bad-rows', '--rejected-out', t.file('rejected.csv')]);
    expect(listed.code).toBe(0);
    expect(listed.out).toContain('... and 10 more (--rejected-out FILE.csv lists them all)');
    expect(listed.out).toContain(`30 rows not imported listed in ${t.file('rejected.csv')}`);
    const lines = readFileSync(t.file('rejected.csv'), 'utf8').trimEnd().split('\r\n');
    expect(lines[0]).toBe('line,column,reason');
    expect(lines.slice(1)).toEqual(Array.from({ length: 30 }, (_, i) => `${42 + i},,"Expected 2 fields, found 3."`));
    expect(cli('vault.ts', ['log', vault]).out).toContain('1 failed attempt to unlock with a wrong passphrase');
    const wrongRestore = cli('vault.ts', ['restore', t.file('b.trovebackup'), t.file('x.vault')], 'not the passphrase');
    expect(wrongRestore.err).toContain('That passphrase does not open this backup.');
    expect(existsSync(t.file('x.vault'))).toBe(false);
  }, 120_000);
});
