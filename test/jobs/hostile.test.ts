// Jobs a hostile researcher publishes, correctly signed and hashed, followed through the real
// discovery and the IPC router of an app session: each is refused with its reason or shown
// safely, and none of them blanks the Jobs screen for the others, joined ones included.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channels, type JobCardValue, type JobsViewValue } from '../../common/ipc/contract.js';
import { Vault } from '../../main/services/vault/index.js';
import { FAST_KDF, PASSPHRASE } from '../helpers/vault.js';
import { DIARY_MAPPING, publishJob, sleepJob, type Published } from './fixtures.js';
import { createWithDiary, hostile, openApp, startHostileRig, type HostileRig } from './hostile-session.js';

describe('hostile job documents through discovery and the IPC router', () => {
  let h: HostileRig;
  let good: { jobId: string };
  let builtins: { jobId: string };
  let noiseless: Published;
  let protoNote: Published;
  let protoColumn: Published;

  beforeAll(async () => {
    h = await startHostileRig();
    good = await h.rig.publish({ rounds: 2, minContributors: 3 });
    // Columns named after what every JavaScript object has; only one of them has a note.
    const renamed = sleepJob({ ...h.base, title: 'Built-in names' });
    const features = renamed.training.features.map((f, i) => (i === 0 ? { ...f, column: 'constructor' } : i === 1 ? { ...f, column: 'toString' } : f));
    const notes = { ...renamed.columnNotes, toString: 'Steps walked that day' } as Record<string, string>;
    delete notes.sleep_hours;
    delete notes.steps;
    builtins = await h.rig.publish({ title: 'Built-in names', training: { ...renamed.training, features }, columnNotes: notes });
    noiseless = await publishJob(h.rig.chain, h.docs, hostile(sleepJob({ ...h.base, title: 'No noise' }), { privacy: { noiseMultiplier: 0, delta: 1e-5 } }));
    const withProto = hostile(sleepJob({ ...h.base, title: 'Prototype note' }), {});
    Object.defineProperty(withProto.columnNotes, '__proto__', { value: 'sets the prototype', enumerable: true, configurable: true, writable: true });
    protoNote = await publishJob(h.rig.chain, h.docs, withProto);
    const protoTraining = JSON.parse(JSON.stringify(sleepJob({ ...h.base }).training)) as { features: { column: string }[] };
    protoTraining.features[0]!.column = '__proto__';
    protoColumn = await publishJob(h.rig.chain, h.docs, hostile(sleepJob({ ...h.base, title: 'Prototype column' }), { training: protoTraining, columnNotes: {} }));
  }, 90_000);

  afterAll(async () => {
    await h?.close();
  });

  it('shows columns named constructor and toString as plain names, and refuses noise 0 and __proto__ with the reason', async () => {
    const app = await openApp(await h.options());
    const datasetId = await createWithDiary(app);
    const view = await app.call<JobsViewValue>('jobs.refresh');
    expect(app.internal).toEqual([]);
    expect(view.jobs.map((j) => j.jobId).sort()).toEqual([good.jobId, builtins.jobId].sort());

    const card = view.jobs.find((j) => j.jobId === builtins.jobId)!;
    expect(card.columns.slice(0, 2)).toEqual([
      { name: 'constructor', note: '', role: 'feature', kind: 'numeric' },
      { name: 'toString', note: 'Steps walked that day', role: 'feature', kind: 'numeric' },
    ]);
    // Positive control: the note a plain lookup finds for `constructor` is a function, which the
    // contract refuses, so without the own-key check jobs.refresh would have answered INTERNAL.
    const naive = { ...card, columns: [{ ...card.columns[0]!, note: ({} as Record<string, unknown>)['constructor'] }, ...card.columns.slice(1)] };
    expect(channels['jobs.refresh'].response.safeParse({ ...view, jobs: [naive] }).success).toBe(false);

    const reasons = new Map(view.hidden.map((x) => [x.jobId, x.reason]));
    expect(reasons.get(noiseless.jobId)).toMatch(/noise/);
    expect(reasons.get(protoNote.jobId)).toMatch(/"__proto__" cannot be a column name/);
    expect(reasons.get(protoColumn.jobId)).toMatch(/"__proto__" cannot be a column name/);

    // A mapping without `constructor` is asked for, not looked up on Object.prototype.
    const { sleep_hours: _s, steps: _st, ...rest } = DIARY_MAPPING;
    await expect(app.call('jobs.optIn', { jobId: builtins.jobId, datasetId, columns: { ...rest, toString: 'steps' } })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: 'Choose which of your columns stands for "constructor".',
    });
    const joined = await app.call<JobCardValue>('jobs.optIn', { jobId: builtins.jobId, datasetId, columns: { ...rest, constructor: 'sleep_hours', toString: 'steps' } });
    expect(joined.participation.mapping?.columns).toMatchObject({ constructor: 'sleep_hours', toString: 'steps' });
    expect((await app.call<JobsViewValue>('jobs.list')).jobs.find((j) => j.jobId === builtins.jobId)!.participation.mapping?.columns.constructor).toBe('sleep_hours');
    expect(app.internal).toEqual([]);
    await app.session.close();
  }, 60_000);

  it('lists a joined job that can no longer be shown as refused, and the other jobs, joined ones included, as before', async () => {
    const options = await h.options();
    const app = await openApp(options);
    const datasetId = await createWithDiary(app, 4);
    await app.call('jobs.refresh');
    await app.call('jobs.optIn', { jobId: good.jobId, datasetId, columns: DIARY_MAPPING });
    await app.session.close();

    // A job joined by an earlier version of the app, whose document asks for no noise at all.
    const vault = await Vault.open(join(options.dataDir, 'trove.vault'), { kdf: FAST_KDF, autoLockMs: null });
    await vault.unlock(PASSPHRASE);
    const setting = `jobs.participation.${options.jobs!.chain.chainId}.${options.jobs!.chain.registry.toLowerCase()}`;
    const records = vault.getSetting<Record<string, { document: { privacy: object } }>>(setting)!;
    const stale = JSON.parse(JSON.stringify(records[good.jobId])) as { document: { privacy: object; title: string } };
    stale.document.privacy = { noiseMultiplier: 0, delta: 1e-5 };
    stale.document.title = 'Joined long ago';
    await vault.setSetting(setting, { ...records, '777': stale });
    vault.close();

    const again = await openApp(options);
    await again.call('vault.unlock', { passphrase: PASSPHRASE });
    const view = await again.call<JobsViewValue>('jobs.list');
    expect(again.internal).toEqual([]);
    expect(view.jobs.find((j) => j.jobId === good.jobId)!.participation.state).not.toBe('available');
    expect(view.jobs.map((j) => j.jobId)).not.toContain('777');
    expect(view.hidden.find((x) => x.jobId === '777')?.reason).toMatch(/cannot show this job: its privacy\.epsilon/);
    const refreshed = await again.call<JobsViewValue>('jobs.refresh');
    expect(refreshed.jobs.map((j) => j.jobId)).toContain(good.jobId);
    expect(refreshed.hidden.map((x) => x.jobId)).toContain('777');
    expect((await again.call<{ ok: boolean }>('vault.checkIntegrity')).ok).toBe(true);
    expect(again.internal).toEqual([]);
    await again.session.close();
  }, 60_000);
});
