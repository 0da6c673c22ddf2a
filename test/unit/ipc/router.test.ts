// The router and the session behind it, as the renderer sees them: typed results for every call.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { channels } from '../../../common/ipc/contract.js';
import { buildTroveApi } from '../../../preload/api.js';
import { harness, csv, PASSPHRASE, type Harness } from './helpers.js';

let h: Harness;
beforeEach(async () => {
  h = await harness();
});
afterEach(async () => {
  await h.close();
  expect(h.internalErrors).toEqual([]);
});

describe('router', () => {
  it('answers an unknown channel with UNKNOWN_CHANNEL, including names from Object.prototype', async () => {
    for (const name of ['nope', '__proto__', 'constructor', 'toString', 'vault', 'vault.', '', 42, null]) {
      const r = await h.router.handle(name, {});
      expect(r).toEqual({ ok: false, error: { code: 'UNKNOWN_CHANNEL', message: expect.any(String) } });
    }
  });

  it('refuses a malformed request with INVALID_INPUT saying where, before any service runs', async () => {
    const r = await h.router.handle('vault.create', { passphrase: 42 });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('INVALID_INPUT');
      expect(r.error.message).toMatch(/passphrase/);
    }
    expect((await h.router.handle('app.status', {})).ok).toBe(true);
    expect((await h.call<{ vault: string }>('app.status')).vault).toBe('none');
    const extra = await h.router.handle('vault.create', { passphrase: PASSPHRASE, admin: true });
    expect(extra.ok).toBe(false);
  });

  it('carries the vault\'s own error codes and messages across', async () => {
    await h.call('vault.create', { passphrase: PASSPHRASE });
    await h.call('vault.lock');
    const r = await h.router.handle('vault.unlock', { passphrase: 'wrong wrong wrong' });
    expect(r).toEqual({ ok: false, error: { code: 'WRONG_PASSPHRASE', message: expect.stringMatching(/does not unlock/) } });
    const locked = await h.router.handle('datasets.list', {});
    expect(locked).toMatchObject({ ok: false, error: { code: 'VAULT_LOCKED' } });
  });

  it('imports through staged uploads and reports rejected rows in the error details', async () => {
    await h.call('vault.create', { passphrase: PASSPHRASE });
    const token = await h.stage('weather.csv', csv(40, [3, 9]));
    const preview = await h.call<{ columns: { name: string; type: string }[] }>('import.preview', { file: token });
    expect(preview.columns.map((c) => c.type)).toEqual(['string', 'number', 'date']);
    const refused = await h.router.handle('import.start', { importId: 'import-0001', file: token, policy: 'reject-import' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'IMPORT_REJECTED', details: { report: { rowsRejected: 2, rejected: [{ line: 3 }, { line: 9 }] } } } });
    const report = await h.call<{ rowsImported: number; datasetId: string }>('import.start', { importId: 'import-0002', file: token, policy: 'skip-rows', name: 'Weather' });
    expect(report.rowsImported).toBe(38);
    const [info] = await h.call<{ name: string; rowCount: number }[]>('datasets.list');
    expect(info).toMatchObject({ name: 'Weather', rowCount: 38 });
    // A staged upload is gone once imported.
    expect((await h.router.handle('import.preview', { file: token })).ok).toBe(false);
  });

  it('sends progress events during an import and can cancel it, adding nothing', async () => {
    await h.call('vault.create', { passphrase: PASSPHRASE });
    const big = csv(120_000);
    const token = await h.stage('big.csv', big);
    const events: { importId: string; bytesRead: number }[] = [];
    h.session.onEvent((name, payload) => {
      if (name !== 'import.progress') return;
      events.push(payload as { importId: string; bytesRead: number });
      // Cancel as soon as the import reports it has started reading.
      void h.call('import.cancel', { importId: 'cancel-me-1' });
    });
    const r = await h.router.handle('import.start', { importId: 'cancel-me-1', file: token, policy: 'skip-rows' });
    expect(r).toMatchObject({ ok: false, error: { code: 'CANCELLED' } });
    expect(events.length).toBeGreaterThan(0);
    expect(events[0]!.importId).toBe('cancel-me-1');
    expect(events[0]!.bytesRead).toBeLessThan(big.length);
    expect(await h.call('datasets.list')).toEqual([]);
  });

  it('backs up and restores over the current vault, keeping the replaced one', async () => {
    await h.call('vault.create', { passphrase: PASSPHRASE });
    const token = await h.stage('a.csv', csv(10));
    await h.call('import.start', { importId: 'import-a-1', file: token, policy: 'skip-rows' });
    const backup = await h.call<{ fileName: string }>('vault.backup');
    expect((await h.call<{ fileName: string }[]>('vault.backups')).map((b) => b.fileName)).toEqual([backup.fileName]);
    const [ds] = await h.call<{ id: string }[]>('datasets.list');
    await h.call('datasets.delete', { id: ds!.id });
    const up = await h.stage(backup.fileName, readFileSync(join(h.session.backupsFolder, backup.fileName)));
    const status = await h.call<{ vault: string }>('vault.restore', { file: up, passphrase: PASSPHRASE });
    expect(status.vault).toBe('unlocked');
    expect((await h.call<{ rowCount: number }[]>('datasets.list')).map((d) => d.rowCount)).toEqual([10]);
    const integrity = await h.call<{ ok: boolean }>('vault.checkIntegrity');
    expect(integrity.ok).toBe(true);
    expect(readdirSync(join(h.dir, 'app')).filter((f) => f.startsWith('trove-replaced-') && f.endsWith('.vault'))).toHaveLength(1);
    expect(existsSync(h.session.vaultFile)).toBe(true);
  });

  it('refuses uploads that do not add up', async () => {
    const { token } = await h.call<{ token: string }>('files.beginUpload', { name: 'x.csv', size: 3 });
    const over = await h.router.handle('files.appendUpload', { token, chunk: Buffer.from('abcd').toString('base64') });
    expect(over).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
    const { token: t2 } = await h.call<{ token: string }>('files.beginUpload', { name: '../../etc/passwd', size: 3 });
    await h.call('files.appendUpload', { token: t2, chunk: Buffer.from('ab').toString('base64') });
    expect(await h.router.handle('files.finishUpload', { token: t2 })).toMatchObject({ ok: false, error: { code: 'UNREADABLE_FILE' } });
    // Staging by path is for the desktop app only.
    expect(await h.router.handle('files.stagePath', { path: '/etc/hostname' })).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
  });
});

describe('preload builder', () => {
  it('makes one function per contract channel, grouped by namespace, forwarding to the transport', async () => {
    const calls: [string, unknown][] = [];
    const api = buildTroveApi({
      invoke: (channel, request) => {
        calls.push([channel, request]);
        return Promise.resolve({ ok: true, value: null });
      },
      subscribe: () => () => undefined,
    }) as unknown as Record<string, Record<string, (r?: unknown) => Promise<unknown>>>;
    for (const name of Object.keys(channels)) {
      const [ns, method] = name.split('.') as [string, string];
      expect(typeof api[ns]?.[method]).toBe('function');
      await api[ns]![method]!({ probe: name });
    }
    expect(calls.map(([c]) => c)).toEqual(Object.keys(channels));
    expect(Object.isFrozen(api)).toBe(true);
  });

  it('delivers only well-formed events of the asked kind', () => {
    let deliver: (e: string, p: unknown) => void = () => undefined;
    const api = buildTroveApi({ invoke: () => Promise.resolve({ ok: true, value: null }), subscribe: (l) => ((deliver = l), () => undefined) });
    const got: unknown[] = [];
    api.on('import.progress', (p) => got.push(p));
    deliver('import.progress', { importId: 'abcdefgh', bytesRead: 1, totalBytes: 2, rowsRead: 3, rowsRejected: 0 });
    deliver('import.progress', { importId: 'abcdefgh', bytesRead: 'x' });
    deliver('vault.state', { status: {} });
    expect(got).toEqual([{ importId: 'abcdefgh', bytesRead: 1, totalBytes: 2, rowsRead: 3, rowsRejected: 0 }]);
  });
});

describe('router answers that fail the contract', () => {
  it('says the request was carried out, not that nothing changed, when only the answer is malformed', async () => {
    const { createRouter, ANSWER_UNREADABLE } = await import('../../../main/ipc/router.js');
    const seen: string[] = [];
    let ran = 0;
    const handlers = { 'app.status': () => (ran++, { vault: 'not-a-state' }) } as unknown as Parameters<typeof createRouter>[0];
    const router = createRouter(handlers, { onInternalError: (channel) => seen.push(channel) });
    const r = await router.handle('app.status', {});
    expect(ran).toBe(1);
    expect(r).toEqual({ ok: false, error: { code: 'INTERNAL', message: ANSWER_UNREADABLE } });
    expect(ANSWER_UNREADABLE).not.toMatch(/not changed/);
    expect(seen).toEqual(['app.status']);
    // A handler that throws before doing anything keeps the "not changed" message.
    const throwing = createRouter({ 'app.status': () => { throw new Error('boom'); } } as unknown as Parameters<typeof createRouter>[0]);
    const t = await throwing.handle('app.status', {});
    expect(t).toMatchObject({ ok: false, error: { code: 'INTERNAL', message: expect.stringMatching(/was not changed/) } });
  });
});

describe('activity.list filters', () => {
  it('narrows the whole log by group and words, counting only the matches, and refuses unknown groups', async () => {
    await h.call('vault.create', { passphrase: PASSPHRASE });
    for (const name of ['Morning steps', 'Sleep diary', 'Evening steps']) {
      const token = await h.stage(`${name}.csv`, csv(4));
      await h.call('import.start', { importId: `import-${name.length}${name[0]}`, file: token, policy: 'skip-rows', name });
    }
    const all = await h.call<{ total: number }>('activity.list', { offset: 0, limit: 50 });
    expect(all.total).toBe(4);
    const steps = await h.call<{ total: number; entries: { summary: string }[] }>('activity.list', { offset: 0, limit: 1, group: 'data', text: 'steps' });
    expect(steps.total).toBe(2);
    expect(steps.entries.map((e) => e.summary)).toEqual([expect.stringContaining('Evening steps')]);
    const older = await h.call<{ entries: { summary: string }[] }>('activity.list', { offset: 1, limit: 1, group: 'data', text: 'steps' });
    expect(older.entries.map((e) => e.summary)).toEqual([expect.stringContaining('Morning steps')]);
    expect((await h.call<{ total: number }>('activity.list', { offset: 0, limit: 50, group: 'vault' })).total).toBe(1);
    expect((await h.call<{ total: number }>('activity.list', { offset: 0, limit: 50, group: 'sent' })).total).toBe(0);
    const bad = await h.router.handle('activity.list', { offset: 0, limit: 50, group: 'secrets' });
    expect(bad).toMatchObject({ ok: false, error: { code: 'INVALID_INPUT' } });
  });
});
