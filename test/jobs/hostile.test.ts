// Jobs a hostile researcher publishes, correctly signed and hashed, followed through the real
// discovery and the IPC router of an app session: each is refused with its reason or shown
// safely, and none of them blanks the Jobs screen for the others, joined ones included.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { channels, type JobCardValue, type JobsViewValue } from '../../common/ipc/contract.js';
import { jobDocumentPrivacyCost, jobDocumentWorstCaseCost } from '../../common/jobs/document.js';
import { Vault } from '../../main/services/vault/index.js';
import { FAST_KDF, PASSPHRASE } from '../helpers/vault.js';
import { mined } from '../fixtures/trove-chain.js';
import { attestationMessage } from '../../common/jobs/attestations.js';
import { loadSodium, sodiumNow } from '../../common/secagg/sodium.js';
import { DIARY_MAPPING, publishJob, recordingFetch, sleepJob, type Published } from './fixtures.js';
import { createWithDiary, hostile, importCsv, openApp, startHostileRig, type HostileRig } from './hostile-session.js';

describe('hostile job documents through discovery and the IPC router', () => {
  let h: HostileRig;
  let good: { jobId: string };
  let builtins: { jobId: string };
  let noiseless: Published;
  let protoNote: Published;
  let protoColumn: Published;
  const floors: Record<string, Published> = {};
  let costly: Published;
  let tricks: Published;
  let hiddenColumn: Published;
  let lookAlike: Published;

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
    // Each signed and agreeing with the chain; each outside one privacy floor.
    const outside: Record<string, Record<string, unknown>> = {
      'little noise': { privacy: { noiseMultiplier: 0.2, delta: 1e-5 } },
      'loose delta': { privacy: { noiseMultiplier: 1, delta: 1e-3 } },
      'tiny delta': { privacy: { noiseMultiplier: 1, delta: 1e-15 } },
      'huge group': { minContributors: 5000 },
      // Shows epsilon 9.01 like the example, but each contributor adds 1/sqrt(1000) of the noise.
      'thin own share': { minContributors: 1000 },
    };
    for (const [title, over] of Object.entries(outside)) floors[title] = await publishJob(h.rig.chain, h.docs, hostile(sleepJob({ ...h.base, title }), over));
    costly = await publishJob(h.rig.chain, h.docs, sleepJob({ ...h.base, title: 'Costly', rounds: 200, privacy: { noiseMultiplier: 0.5, delta: 1e-6 } }));
    tricks = await publishJob(
      h.rig.chain,
      h.docs,
      sleepJob({
        ...h.base,
        title: 'Sleep study \u202Egnp.exe\u202C',
        researcher: h.base.researcher,
        purpose: 'Line one.\nLine two\u0007 with a bell and a \u200Bzero-width space.',
      }),
    );
    // The researcher's name is set after the fact: sleepJob keeps the example's name.
    const renamedResearcher = sleepJob({ ...h.base, title: 'Look-alike lab' });
    renamedResearcher.researcher = { ...renamedResearcher.researcher, name: 'Sleep & Mood L\u0430b\u2066' };
    renamedResearcher.columnNotes = { ...renamedResearcher.columnNotes, mood: 'Your mood\u001b[2J rating' };
    lookAlike = await publishJob(h.rig.chain, h.docs, renamedResearcher);
    const invisible = JSON.parse(JSON.stringify(sleepJob({ ...h.base }).training)) as { features: { column: string }[] };
    invisible.features[0]!.column = 'sleep\u200B_hours';
    hiddenColumn = await publishJob(h.rig.chain, h.docs, hostile(sleepJob({ ...h.base, title: 'Hidden column' }), { training: invisible, columnNotes: {} }));
  }, 90_000);

  afterAll(async () => {
    await h?.close();
  });

  it('shows columns named constructor and toString as plain names, and refuses noise 0 and __proto__ with the reason', async () => {
    const app = await openApp(await h.options());
    const datasetId = await createWithDiary(app);
    const view = await app.call<JobsViewValue>('jobs.refresh');
    expect(app.internal).toEqual([]);
    const shown = view.jobs.map((j) => j.jobId);
    expect(shown).toEqual(expect.arrayContaining([good.jobId, builtins.jobId]));
    for (const refused of [noiseless, protoNote, protoColumn]) expect(shown).not.toContain(refused.jobId);

    const card = view.jobs.find((j) => j.jobId === builtins.jobId)!;
    expect(card.columns.slice(0, 2)).toMatchObject([
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

  it('refuses jobs outside the privacy floors, shows the worst-case cost, and says why a job over the budget cannot be joined', async () => {
    const app = await openApp(await h.options());
    await createWithDiary(app, 5);
    const view = await app.call<JobsViewValue>('jobs.refresh');
    const reasons = new Map(view.hidden.map((x) => [x.jobId, x.reason]));
    expect(reasons.get(floors['little noise']!.jobId)).toMatch(/noise multiplier 0\.2 is outside what Trove accepts \(0\.3 to 100\)/);
    expect(reasons.get(floors['loose delta']!.jobId)).toMatch(/delta 0\.001 is outside what Trove accepts/);
    expect(reasons.get(floors['tiny delta']!.jobId)).toMatch(/delta 1e-15 is outside what Trove accepts/);
    expect(reasons.get(floors['huge group']!.jobId)).toMatch(/group of at least 5000 is outside what Trove accepts \(2 to 1000\)/);
    expect(reasons.get(floors['thin own share']!.jobId)).toMatch(/your own share of the noise \(0\.032\) is below 0\.1/);
    // Positive control: by the usual reckoning the thin-share job costs what the example costs and
    // fits the budget, so only the floor stops it from being offered.
    const thin = floors['thin own share']!.document;
    expect(jobDocumentPrivacyCost(thin).epsilon).toBeCloseTo(jobDocumentPrivacyCost(sleepJob({ ...h.base })).epsilon, 6);
    expect(jobDocumentPrivacyCost(thin).epsilon).toBeLessThan(10);
    expect(jobDocumentWorstCaseCost(thin).epsilon).toBeGreaterThan(1000);
    for (const p of Object.values(floors)) expect(view.jobs.map((j) => j.jobId)).not.toContain(p.jobId);

    const card = view.jobs.find((j) => j.jobId === good.jobId)!;
    expect(card.privacy.worstCaseEpsilon).toBeCloseTo(jobDocumentWorstCaseCost(sleepJob({ ...h.base, rounds: 2, minContributors: 3 })).epsilon, 9);
    expect(card.privacy.worstCaseEpsilon).toBeGreaterThan(card.privacy.epsilon);
    expect(card.privacy.problem).toBeNull();
    const over = view.jobs.find((j) => j.jobId === costly.jobId)!;
    expect(over.privacy.fits).toBe(false);
    expect(over.privacy.problem).toMatch(/^Joining would take your privacy spending from 0\.00 to \d+\.\d\d, over your budget of 10, so Trove will not join it\./);
    expect(app.internal).toEqual([]);
    await app.session.close();
  }, 60_000);

  it('shows hidden characters in the researcher’s words as code points, flags look-alike letters and a job that reads every column', async () => {
    const app = await openApp(await h.options());
    await createWithDiary(app, 6);
    const view = await app.call<JobsViewValue>('jobs.refresh');
    // Positive control: the signed documents do hold the characters.
    expect(tricks.document.title).toContain('\u202E');
    expect(lookAlike.document.researcher.name).toContain('\u0430');

    const t = view.jobs.find((j) => j.jobId === tricks.jobId)!;
    expect(t.title).toBe('Sleep study [U+202E]gnp.exe[U+202C]');
    expect(t.purpose).toBe('Line one.\nLine two[U+0007] with a bell and a [U+200B]zero-width space.');
    // (these documents call the reward TROVE, which the token contract does not: a warning of its own)
    const aboutText = (w: string[]) => w.filter((x) => !x.includes('the token contract says'));
    expect(aboutText(t.warnings)).toEqual([expect.stringMatching(/invisible or direction-changing characters/)]);
    const l = view.jobs.find((j) => j.jobId === lookAlike.jobId)!;
    expect(l.researcher.name).toBe('Sleep & Mood L\u0430b[U+2066]');
    expect(l.columns.find((c) => c.name === 'mood')!.note).toBe('Your mood[U+001B][2J rating');
    expect(aboutText(l.warnings)).toEqual([
      expect.stringMatching(/invisible or direction-changing/),
      'The researcher’s name mixes letters of different alphabets (Latin, Cyrillic), which can imitate another name.',
    ]);
    // No card anywhere carries a hidden character.
    const hidden = (text: string) => [...text].some((ch) => /[\p{Cc}\p{Cf}]/u.test(ch) && ch !== '\n');
    for (const card of view.jobs) expect([card.title, card.purpose, card.researcher.name, ...card.columns.flatMap((c) => [c.name, c.note])].filter(hidden)).toEqual([]);
    expect(view.hidden.find((x) => x.jobId === hiddenColumn.jobId)?.reason).toMatch(/column name "sleep\[U\+200B\]_hours" holds invisible or direction-changing characters/);
    // The example reads 6 of the diary's 9 columns: no flag. A dataset of exactly those 6 is flagged.
    expect(view.jobs.find((j) => j.jobId === good.jobId)!.warnings).toEqual([]);
    const csv = ['sleep_hours,steps,resting_hr,caffeine_cups,exercised,mood', '7,8000,60,1,yes,good', '6,5000,62,2,no,low'].join('\n') + '\n';
    await importCsv(app, 'just-these.csv', csv, 'just-these-1');
    const again = await app.call<JobsViewValue>('jobs.list');
    expect(again.jobs.find((j) => j.jobId === good.jobId)!.warnings).toEqual(['This job reads every column of your dataset "just-these". Check that it needs all of them.']);
    expect(app.internal).toEqual([]);
    await app.session.close();
  }, 60_000);

  it('sends nothing to a document host on loopback, in any spelling, unless a local network is allowed', async () => {
    const arrived: string[] = [];
    const listener = createServer((req, res) => {
      arrived.push(`${req.method} ${req.url}`);
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const port = (listener.address() as AddressInfo).port;
    const spellings = ['127.0.0.1', 'localhost', '[::ffff:127.0.0.1]', '2130706433', '0177.0.0.1'];
    const jobs: Published[] = [];
    for (const host of spellings) jobs.push(await publishJob(h.rig.chain, h.docs, sleepJob({ ...h.base, title: `At ${host}` }), { uri: (hash) => `http://${host}:${port}/${hash}` }));
    try {
      const app = await openApp(await h.options({ allowLocalNetwork: false }));
      await createWithDiary(app, 7);
      const view = await app.call<JobsViewValue>('jobs.refresh');
      const reasons = new Map(view.hidden.map((x) => [x.jobId, x.reason]));
      for (const [i, host] of spellings.entries()) {
        // Named as the URL parser writes the host: [::ffff:7f00:1], and 127.0.0.1 for 2130706433.
        const shown = new URL(`http://${host}:${port}/`).host;
        expect(reasons.get(jobs[i]!.jobId)).toBe(`Trove did not contact the job’s document at ${shown}: it is on this computer, a local network or a reserved range. A job may only use public internet addresses.`);
      }
      // The example job's document and coordinator are on loopback too: refused, not shown.
      expect(reasons.get(good.jobId)).toMatch(/^Trove did not contact the job’s document/);
      expect(view.jobs).toEqual([]);
      expect(arrived).toEqual([]);
      expect(app.internal).toEqual([]);
      await app.session.close();

      // Positive control: with the developer setting the same documents are requested.
      const dev = await openApp(await h.options({ allowLocalNetwork: true }));
      await createWithDiary(dev, 8);
      await dev.call<JobsViewValue>('jobs.refresh');
      expect(arrived.length).toBeGreaterThanOrEqual(spellings.length);
      await dev.session.close();
    } finally {
      listener.closeAllConnections();
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    }
  }, 60_000);

  it('answers the jobs list within 2 s with eight silent document hosts on-chain, and shows the jobs whose documents did arrive', async () => {
    const silent: Server[] = [];
    const asked: string[] = [];
    const jobs: Published[] = [];
    try {
      for (let i = 0; i < 8; i++) {
        // Accepts the request and never answers.
        const s = createServer((req) => asked.push(req.url ?? ''));
        await new Promise<void>((resolve) => s.listen(0, `127.0.0.${i + 2}`, resolve));
        silent.push(s);
        const at = s.address() as AddressInfo;
        jobs.push(await publishJob(h.rig.chain, h.docs, sleepJob({ ...h.base, title: `Silent ${i}` }), { uri: (hash) => `http://${at.address}:${at.port}/${hash}` }));
      }
      const app = await openApp(await h.options({ discovery: { documentTimeoutMs: 10_000 } }));
      await createWithDiary(app, 9);
      const started = performance.now();
      const view = await app.call<JobsViewValue>('jobs.refresh');
      const list = await app.call<JobsViewValue>('jobs.list');
      const took = performance.now() - started;
      console.log(`jobs.refresh + jobs.list with 8 silent document hosts: ${Math.round(took)} ms`);
      expect(took).toBeLessThan(2_000);
      expect(asked).toHaveLength(8);
      expect(view.jobs.map((j) => j.jobId)).toContain(good.jobId);
      expect(list.jobs.map((j) => j.jobId)).toContain(good.jobId);
      const reasons = new Map(view.hidden.map((x) => [x.jobId, x.reason]));
      for (const j of jobs) expect(reasons.get(j.jobId)).toMatch(/has not arrived yet\. Trove keeps trying/);
      // A second refresh does not ask the silent hosts again while their first fetch is under way.
      await app.call<JobsViewValue>('jobs.refresh');
      expect(asked).toHaveLength(8);
      expect(app.internal).toEqual([]);
      await app.session.close();
    } finally {
      for (const s of silent) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    }
  }, 60_000);

  it('shows the reward token as its contract describes itself, not as the document says', async () => {
    const misnamed = await publishJob(h.rig.chain, h.docs, sleepJob({ ...h.base, title: 'Misnamed token', reward: { token: h.base.token, symbol: 'USDC', decimals: 6, perRound: '100000000000000000000', bond: '0' } }));
    const app = await openApp(await h.options());
    await createWithDiary(app, 10);
    const view = await app.call<JobsViewValue>('jobs.refresh');
    // Positive control: the signed document does say USDC with 6 decimals.
    expect(misnamed.document.reward).toMatchObject({ symbol: 'USDC', decimals: 6 });
    const card = view.jobs.find((j) => j.jobId === misnamed.jobId)!;
    expect(card.reward).toMatchObject({ symbol: 'TUSD', decimals: 18 });
    expect(card.warnings).toContain('The job’s document calls the reward USDC with 6 decimals; the token contract says TUSD with 18. Trove shows what the contract says.');
    const honest = view.jobs.find((j) => j.jobId === good.jobId)!;
    expect(honest.reward).toMatchObject({ symbol: 'TUSD', decimals: 18 });
    expect(honest.warnings).toEqual([]);
    await app.session.close();
  }, 60_000);

  it('refuses to join a job settled on-chain since it was discovered, sending nothing', async () => {
    const settled = await h.rig.publish({ title: 'Settled soon', rounds: 1, minContributors: 3 });
    const requests: string[] = [];
    const app = await openApp(await h.options({ fetch: recordingFetch(requests) }));
    const datasetId = await createWithDiary(app, 11);
    const view = await app.call<JobsViewValue>('jobs.refresh');
    // Positive control: at discovery the job was open and could be joined.
    expect(view.jobs.find((j) => j.jobId === settled.jobId)!.participation.state).toBe('available');
    const registry = h.rig.chain.at('JobRegistry', h.rig.chain.deployment.contracts.JobRegistry, h.rig.chain.accounts.researcher);
    await mined(registry.getFunction('settle')(settled.jobId));
    const before = await app.call<{ total: number }>('activity.list', { offset: 0, limit: 1 });
    await expect(app.call('jobs.optIn', { jobId: settled.jobId, datasetId, columns: DIARY_MAPPING })).rejects.toMatchObject({
      code: 'JOB_NOT_ACTIVE',
      message: 'The job has ended on-chain. It can no longer be joined; nothing was sent.',
    });
    expect(requests.filter((r) => r.includes(`/v1/jobs/${settled.jobId}/`))).toEqual([]);
    expect((await app.call<{ total: number }>('activity.list', { offset: 0, limit: 1 })).total).toBe(before.total);
    expect((await app.call<{ ok: boolean }>('vault.checkIntegrity')).ok).toBe(true);
    await app.session.close();
  }, 60_000);

  it('joins once when the same job is joined twice at the same moment, and refuses an oversized mapping at the contract', async () => {
    const twice = await h.rig.publish({ title: 'Joined twice', rounds: 1, minContributors: 3 });
    const requests: string[] = [];
    const app = await openApp(await h.options({ fetch: recordingFetch(requests) }));
    const datasetId = await createWithDiary(app, 12);
    await app.call<JobsViewValue>('jobs.refresh');

    const huge = Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`c${i}`, 'steps']));
    await expect(app.call('jobs.optIn', { jobId: twice.jobId, datasetId, columns: huge })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/a column mapping has at most 256 entries/),
    });
    // Positive control: the contract accepts the job's own mapping.
    expect(channels['jobs.optIn'].request.safeParse({ jobId: twice.jobId, datasetId, columns: DIARY_MAPPING }).success).toBe(true);

    const [a, b] = await Promise.all([
      app.call<JobCardValue>('jobs.optIn', { jobId: twice.jobId, datasetId, columns: DIARY_MAPPING }),
      app.call<JobCardValue>('jobs.optIn', { jobId: twice.jobId, datasetId, columns: DIARY_MAPPING }),
    ]);
    expect(a.participation.mapping).toEqual(b.participation.mapping);
    expect(requests.filter((r) => r === `POST /v1/jobs/${twice.jobId}/enroll`)).toHaveLength(1);
    const consents = await app.call<{ entries: { kind: string; details?: { job?: string } }[] }>('activity.list', { offset: 0, limit: 100 });
    expect(consents.entries.filter((e) => e.kind === 'job.consent' && e.details?.job === twice.jobId)).toHaveLength(1);
    // Joining again once joined is refused as before.
    await expect(app.call('jobs.optIn', { jobId: twice.jobId, datasetId, columns: DIARY_MAPPING })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    expect(app.internal).toEqual([]);
    await app.session.close();
  }, 60_000);

  it('estimates what training takes on this computer, and refuses memory and time bombs before anything runs', async () => {
    const example = sleepJob({ ...h.base });
    const dense = (units: number, activation = 'relu') => ({ type: 'dense', units, activation });
    const memoryBomb = sleepJob({
      ...h.base,
      title: 'Memory bomb',
      training: { ...example.training, model: { ...example.training.model, layers: [dense(2048), dense(2048), dense(4, 'softmax')] }, local: { ...example.training.local, batchSize: 8192 } },
      aggregation: { ...example.aggregation, maxExamples: 20_000_000 },
    } as never);
    const timeBomb = sleepJob({
      ...h.base,
      title: 'Time bomb',
      training: { ...example.training, model: { ...example.training.model, layers: [dense(4096), dense(256), dense(4, 'softmax')] }, local: { ...example.training.local, epochs: 100 } },
      aggregation: { ...example.aggregation, maxExamples: 10_000 },
    } as never);
    // Positive control: both pass every check of the document and its training spec.
    expect(memoryBomb.training.model.layers).toHaveLength(3);
    expect(timeBomb.training.local.epochs).toBe(100);
    const published = { memory: await publishJob(h.rig.chain, h.docs, memoryBomb), time: await publishJob(h.rig.chain, h.docs, timeBomb) };

    const app = await openApp(await h.options({ discovery: { documentTimeoutMs: 1_000, flopsPerSecond: 1e9 } }));
    await createWithDiary(app, 13);
    const view = await app.call<JobsViewValue>('jobs.refresh');
    const reasons = new Map(view.hidden.map((x) => [x.jobId, x.reason]));
    expect(reasons.get(published.memory.jobId)).toMatch(/^The job would need about [\d.]+ GB of memory to train, more than the 1\.0 GB Trove allows, so it was refused\.$/);
    expect(reasons.get(published.time.jobId)).toMatch(/^The job would train for about \d+ minutes a round on this computer, more than the 15 minutes Trove allows, so it was refused\.$/);
    const card = view.jobs.find((j) => j.jobId === good.jobId)!;
    expect(card.resources).toMatchObject({ parameters: 32, uploadBytes: 4 * card.vectorLength });
    expect(card.resources.summary).toMatch(/^A model of 32 numbers\. Training uses up to [\d.]+ MB of memory and takes under a second a round on this computer; each round sends 132 B\.$/);
    expect(app.internal).toEqual([]);
    await app.session.close();
  }, 60_000);

  it("refuses a job beyond the person's own limits set in Settings, and says so on its card", async () => {
    const example = sleepJob({ ...h.base });
    // About 400 MB to train (ten million rows may count toward a round): within Trove's hard limit.
    const big = await publishJob(h.rig.chain, h.docs, sleepJob({ ...h.base, title: 'Big but allowed', aggregation: { ...example.aggregation, maxExamples: 10_000_000 } } as never));
    const app = await openApp(await h.options({ discovery: { documentTimeoutMs: 1_000, flopsPerSecond: 1e9 } }));
    const datasetId = await createWithDiary(app, 17);
    const cardOf = (v: JobsViewValue) => v.jobs.find((j) => j.jobId === big.jobId)!;

    // Positive control: with the default limits the job is offered with no warning about them.
    let view = await app.call<JobsViewValue>('jobs.refresh');
    // Every job on this chain was published by the same researcher account: all earlier ones count.
    expect(cardOf(view).researcher.history?.earlierJobs).toBe(Number(big.jobId) - 1);
    expect(view.limits).toEqual({ maxMemoryMb: 1024, maxMinutesPerRound: 15 });
    expect(cardOf(view).warnings.join(' ')).not.toMatch(/you allow in Settings/);

    view = await app.call<JobsViewValue>('jobs.setLimits', { limits: { maxMemoryMb: 256, maxMinutesPerRound: 5 } });
    expect(view.limits).toEqual({ maxMemoryMb: 256, maxMinutesPerRound: 5 });
    expect(cardOf(view).warnings).toContainEqual(expect.stringMatching(/more than the 256 MB you allow in Settings: Trove will not join it\. Raise the limit in Settings to allow it\.$/));
    await expect(app.call('jobs.optIn', { jobId: big.jobId, datasetId, columns: DIARY_MAPPING })).rejects.toMatchObject({
      code: 'INVALID_JOB_SPEC',
      message: expect.stringMatching(/more than the 256 MB you allow in Settings, so it was refused\.$/),
    });
    // A limit that is not one of the choices is refused by the IPC contract.
    await expect(app.call('jobs.setLimits', { limits: { maxMemoryMb: 4096, maxMinutesPerRound: 5 } })).rejects.toMatchObject({ code: 'INVALID_INPUT' });

    view = await app.call<JobsViewValue>('jobs.setLimits', { limits: { maxMemoryMb: 512, maxMinutesPerRound: 5 } });
    expect(cardOf(view).warnings.join(' ')).not.toMatch(/you allow in Settings/);
    expect(app.internal).toEqual([]);
    await app.session.close();
  }, 60_000);

  it('names a researcher from a signed list of known researchers, and warns when another account uses a known name', async () => {
    await loadSodium();
    const sodium = sodiumNow();
    const seed = 20;
    console.log(`attestation key seed: ${seed}`);
    const keys = sodium.crypto_sign_seed_keypair(new Uint8Array(32).fill(seed));
    const sign = (list: { version: 1; researchers: { name: string; address: string }[] }) => ({
      list,
      signature: sodium.to_hex(sodium.crypto_sign_detached(sodium.from_string(attestationMessage(list)), keys.privateKey)),
    });
    const elsewhere = '0x' + '42'.repeat(20);
    // The example's researcher calls itself "Sleep & Mood Lab"; the list gives that name to another account.
    const list = sign({ version: 1, researchers: [{ name: 'Sleep & Mood Lab', address: elsewhere }, { name: 'Trusted Lab', address: h.base.researcher }] });
    const requests: string[] = [];
    const app = await openApp(await h.options({ fetch: recordingFetch(requests), attestations: { signed: list, publicKey: sodium.to_hex(keys.publicKey) } }));
    const datasetId = await createWithDiary(app, 14);
    const view = await app.call<JobsViewValue>('jobs.refresh');
    const card = view.jobs.find((j) => j.jobId === good.jobId)!;
    expect(card.researcher).toMatchObject({ name: 'Sleep & Mood Lab', address: h.base.researcher, attestedName: 'Trusted Lab' });
    expect(card.warnings[0]).toBe(
      `The job calls its researcher "Sleep & Mood Lab", the name of a known researcher, but it comes from another account (${h.base.researcher}, not ${elsewhere}). It may be someone else using their name.`,
    );
    const joinable = await h.rig.publish({ title: 'Attested join', rounds: 1, minContributors: 3 });
    await app.call<JobsViewValue>('jobs.refresh');
    await app.call('jobs.optIn', { jobId: joinable.jobId, datasetId, columns: DIARY_MAPPING });
    const activity = await app.call<{ entries: { kind: string; details?: Record<string, unknown> }[] }>('activity.list', { offset: 0, limit: 20 });
    expect(activity.entries.find((e) => e.kind === 'job.consent')!.details).toMatchObject({ researcher: { address: h.base.researcher, name: 'Sleep & Mood Lab', attestedName: 'Trusted Lab' } });
    await app.session.close();

    // Positive control: a list signed by another key attests nothing, so neither the name nor the warning appear.
    const forged = { ...list, list: { ...list.list, researchers: [...list.list.researchers, { name: 'Extra', address: elsewhere }] } };
    const other = await openApp(await h.options({ attestations: { signed: forged, publicKey: sodium.to_hex(keys.publicKey) } }));
    await createWithDiary(other, 15);
    const plain = (await other.call<JobsViewValue>('jobs.refresh')).jobs.find((j) => j.jobId === good.jobId)!;
    expect(plain.researcher.attestedName).toBeNull();
    expect(plain.warnings).toEqual([]);
    await other.session.close();
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
