// IPC fuzzing: thousands of random and malformed requests on every channel of the contract, sent
// to the router the way a compromised or buggy renderer could. Every answer must be a typed result
// (never a thrown exception, never INTERNAL), the process must stay up, and afterwards the vault
// must unlock with its passphrase and pass its integrity check with its data intact.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channels, type Channel } from '../../../common/ipc/contract.js';
import { harness, csv, PASSPHRASE, type Harness } from './helpers.js';
import { NASTY_STRINGS, fuzzer } from './fuzz-values.js';

const KNOWN_CODES = new Set([
  'WRONG_PASSPHRASE', 'WEAK_PASSPHRASE', 'VAULT_LOCKED', 'VAULT_NOT_FOUND', 'VAULT_EXISTS', 'VAULT_BUSY', 'VAULT_TOO_NEW',
  'CORRUPT_DATA', 'INTEGRITY_FAILURE', 'DATASET_NOT_FOUND', 'RECORD_NOT_FOUND', 'COLUMN_NOT_FOUND', 'IMPORT_REJECTED',
  'UNREADABLE_FILE', 'BACKUP_DAMAGED', 'TARGET_EXISTS', 'CANCELLED', 'INVALID_INPUT', 'UNKNOWN_CHANNEL',
]);
const PER_CHANNEL = 160;
const SEED = Number(process.env.TROVE_FUZZ_SEED ?? 0x7a0be);

const { pick, randomValue, mutate } = fuzzer(SEED);

let h: Harness;
let datasetId: string;
let rowCount: number;

beforeAll(async () => {
  h = await harness();
  await h.call('vault.create', { passphrase: PASSPHRASE });
  const token = await h.stage('base.csv', csv(500));
  const report = await h.call<{ datasetId: string; rowsImported: number }>('import.start', { importId: 'fuzz-base-1', file: token, policy: 'skip-rows' });
  datasetId = report.datasetId;
  rowCount = report.rowsImported;
});

afterAll(() => h?.close());

function validRequest(channel: Channel): Record<string, unknown> {
  const id = datasetId;
  const token = 'a'.repeat(32);
  const examples: Partial<Record<Channel, Record<string, unknown>>> = {
    'vault.unlock': { passphrase: 'not the passphrase' },
    'vault.create': { passphrase: 'another passphrase' },
    'vault.changePassphrase': { current: 'wrong current one', next: 'a new passphrase' },
    'vault.setAutoLock': { ms: 60_000 },
    'vault.restore': { file: token, passphrase: PASSPHRASE },
    'files.stagePath': { path: '/etc/hostname' },
    'files.beginUpload': { name: 'f.csv', size: 10 },
    'files.appendUpload': { token, chunk: 'YWJj' },
    'files.finishUpload': { token },
    'files.discard': { token },
    'datasets.get': { id },
    'datasets.rows': { id, offset: 0, limit: 10 },
    'datasets.summary': { id },
    'datasets.delete': { id: 'b'.repeat(32) },
    // Valid shapes aimed at no dataset, so the data the last test counts stays whole.
    'datasets.deleteRecords': { id: 'b'.repeat(32), recordIds: [1, 2] },
    'datasets.editValue': { id: 'b'.repeat(32), recordId: 1, column: 'temp', value: '3.5' },
    'datasets.rename': { id: 'b'.repeat(32), name: 'renamed' },
    'datasets.export': { id, format: 'csv' },
    'import.rejected': { importId: 'fuzz-base-1', offset: 0, limit: 10 },
    'import.preview': { file: token },
    'import.start': { importId: 'fuzz-import-1', file: token, policy: 'skip-rows' },
    'import.cancel': { importId: 'fuzz-import-1' },
    'activity.list': { offset: 0, limit: 10 },
    'jobs.optIn': { jobId: '1', datasetId: id, columns: { sleep_hours: 'temp' } },
    'jobs.optOut': { jobId: '1' },
    'jobs.setRunPolicy': { policy: 'on-power' },
  };
  return examples[channel] ?? {};
}

describe('IPC fuzz', () => {
  it(`answers ${PER_CHANNEL} random and malformed requests on every channel with typed results (seed ${SEED})`, async () => {
    const counts = { ok: 0, errors: 0 };
    const codes = new Map<string, number>();
    const names = Object.keys(channels) as Channel[];
    let sent = 0;
    for (const channel of names) {
      for (let i = 0; i < PER_CHANNEL; i++) {
        // Keep the vault unlocked (a fuzzed vault.lock succeeds), so each channel reaches its service.
        if (h.session.status().vault === 'locked') await h.session.unlock(PASSPHRASE);
        const payload = i % 3 === 0 ? randomValue() : mutate(validRequest(channel));
        let result: Awaited<ReturnType<typeof h.router.handle>>;
        try {
          result = await h.router.handle(channel, payload);
        } catch (err) {
          throw new Error(`${channel} threw instead of answering: ${String(err)}`);
        }
        sent++;
        if (result.ok) {
          counts.ok++;
          continue;
        }
        counts.errors++;
        codes.set(result.error.code, (codes.get(result.error.code) ?? 0) + 1);
        expect(KNOWN_CODES.has(result.error.code), `${channel}: code ${result.error.code} (${result.error.message})`).toBe(true);
        expect(typeof result.error.message).toBe('string');
        expect(result.error.message.length).toBeGreaterThan(0);
        // Errors never echo a stack trace.
        expect(result.error.message).not.toMatch(/\n\s+at /);
      }
    }
    // Channel names themselves.
    for (let i = 0; i < 500; i++) {
      const name = i % 2 ? pick(NASTY_STRINGS) : randomValue();
      const r = await h.router.handle(name, randomValue());
      sent++;
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('UNKNOWN_CHANNEL');
    }
    if (process.env.TROVE_FUZZ_VERBOSE) console.log(sent, counts, Object.fromEntries(codes));
    expect(sent).toBeGreaterThan(4000);
    expect(h.internalErrors).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(counts.errors).toBeGreaterThan(counts.ok);
    // Both valid-but-wrong requests and malformed ones were exercised.
    expect(codes.get('INVALID_INPUT')).toBeGreaterThan(1000);
    expect([...codes.keys()].length).toBeGreaterThan(3);
  });

  it('leaves the vault whole: it unlocks with its passphrase, verifies, and still holds its data', async () => {
    const status = await h.call<{ vault: string }>('app.status');
    if (status.vault === 'locked') await h.call('vault.unlock', { passphrase: PASSPHRASE });
    const integrity = await h.call<{ ok: boolean; problems: string[]; activity: { ok: boolean } }>('vault.checkIntegrity');
    expect(integrity.problems).toEqual([]);
    expect(integrity.ok).toBe(true);
    expect(integrity.activity.ok).toBe(true);
    const info = await h.call<{ rowCount: number }>('datasets.get', { id: datasetId });
    expect(info.rowCount).toBe(rowCount);
    // And the passphrase is still the one it was.
    await h.call('vault.lock');
    await expect(h.call('vault.unlock', { passphrase: 'wrong current one' })).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    await h.call('vault.unlock', { passphrase: PASSPHRASE });
  });
});
