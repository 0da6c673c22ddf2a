// Discovery on a real local chain with the real contracts: a published job whose signed document
// checks out becomes a consent card; a document changed after publishing, one signed by someone
// else, and one that disagrees with the chain are hidden with the reason. Opting in refuses a bad
// column mapping and a job over the privacy budget before anything reaches the coordinator. On a
// long chain the events are read a page of blocks at a time.
import { JsonRpcProvider, Wallet, toQuantity } from 'ethers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { jobDocumentPrivacyCost } from '../../common/jobs/document.js';
import { JobDiscovery } from '../../main/services/jobs/discovery.js';
import { JobsService } from '../../main/services/jobs/service.js';
import { WorkerSupervisor } from '../../main/services/worker/supervisor.js';
import { openPrivacyLedger } from '../../main/services/privacy/ledger.js';
import type { Vault } from '../../main/services/vault/index.js';
import { startTroveChain, type TroveChain } from '../fixtures/trove-chain.js';
import { newVault, useTempDir } from '../helpers/vault.js';
import { testWorkerLauncher } from '../helpers/worker.js';
import { DIARY_MAPPING, DocumentServer, deployToken, importDiary, publishJob, sleepJob, type Published } from './fixtures.js';
import { enrollmentCircuitFiles } from '../../main/services/jobs/circuits.js';

const t = useTempDir();

describe('job discovery on a local chain', () => {
  let chain: TroveChain;
  let enrollRequests = 0;
  const docs = new DocumentServer((req, res) => {
    // A document host that never answers: the fetch must give up on its own.
    if (req.url?.startsWith('/silent/')) return true;
    if (!req.url?.includes('/enroll')) return false;
    enrollRequests++;
    res.writeHead(500).end();
    return true;
  });
  let good: Published;
  let tampered: Published;
  let impostor: Published;
  let disagreeing: Published;
  let costly: Published;
  let oversize: Published;
  let silent: Published;
  let supervisor: WorkerSupervisor;

  beforeAll(async () => {
    chain = await startTroveChain();
    await docs.start();
    supervisor = new WorkerSupervisor({ launcher: await testWorkerLauncher() });
    const token = await (await deployToken(chain)).getAddress();
    const block = await chain.provider.getBlock('latest');
    const base = {
      researcher: await chain.accounts.researcher.getAddress(),
      coordinator: { url: docs.url, address: await chain.accounts.coordinator.getAddress() },
      token,
      chainId: chain.chainId.toString(),
      deadline: block!.timestamp + 30 * 86_400,
    };
    good = await publishJob(chain, docs, sleepJob(base));
    // Served with a changed purpose: no longer the document whose hash is on-chain.
    tampered = await publishJob(chain, docs, sleepJob({ ...base, title: 'Tampered' }), {
      served: (s) => ({ ...s, document: { ...s.document, purpose: 'Something else entirely.' } }),
    });
    // Names another researcher and is signed by them, but published by the researcher's account.
    const stranger = Wallet.createRandom();
    impostor = await publishJob(chain, docs, sleepJob({ ...base, title: 'Impostor', researcher: stranger.address }), { signer: stranger });
    // Signed correctly, but the chain escrows a smaller reward than the document promises.
    disagreeing = await publishJob(chain, docs, sleepJob({ ...base, title: 'Underpaid' }), { chain: { rewardPerRound: 1n } });
    // Little noise over many rounds: far over the default budget.
    costly = await publishJob(chain, docs, sleepJob({ ...base, title: 'Costly', rounds: 200, privacy: { noiseMultiplier: 0.5, delta: 1e-6 } }));
    // A valid signed document padded past the size cap.
    oversize = await publishJob(chain, docs, sleepJob({ ...base, title: 'Oversize' }), { served: (s) => ({ ...s, padding: 'x'.repeat(300 * 1024) }) });
    silent = await publishJob(chain, docs, sleepJob({ ...base, title: 'Silent' }), { uri: (hash) => `${docs.url}/silent/${hash}` });
  }, 60_000);

  afterAll(async () => {
    await supervisor?.stop();
    await docs.close();
    await chain?.close();
  });

  async function service(vault: Vault): Promise<JobsService> {
    const s = new JobsService({
      enrollmentCircuit: enrollmentCircuitFiles(),
      vault,
      supervisor,
      chain: { rpcUrl: chain.chain.url, chainId: chain.chainId.toString(), registry: chain.deployment.contracts.JobRegistry, fromBlock: chain.deployment.blockNumber },
      // Documents and the coordinator are on loopback.
      allowLocalNetwork: true,
      discovery: { documentTimeoutMs: 500 },
    });
    return s;
  }

  it('shows a checked job as a consent card and hides the others with the reason', async () => {
    const vault = await newVault(t);
    const jobs = await service(vault);
    const view = await jobs.refresh();
    expect(view.chain).toMatchObject({ reachable: true, problem: null });
    expect(view.jobs.map((j) => j.title).sort()).toEqual(['Costly', 'Sleep, steps and mood']);
    const card = view.jobs.find((j) => j.jobId === good.jobId)!;
    const cost = jobDocumentPrivacyCost(good.document);
    expect(card).toMatchObject({
      specHash: good.specHash,
      researcher: { name: 'Sleep & Mood Lab', address: good.document.researcher.address },
      coordinator: { url: docs.url },
      vectorLength: 7 * 4 + 4 + 1,
      rounds: 3,
      minContributors: 4,
      // As the token contract says (TestToken 'USD'), not as the document says ('TROVE').
      reward: { symbol: 'USD', decimals: 18, perRound: good.document.reward.perRound, bond: '0' },
      deadline: good.document.deadline * 1000,
      privacy: { epsilon: cost.epsilon, spentEpsilon: 0, fits: true, budget: { epsilon: 10 } },
      participation: { state: 'available', mapping: null, roundsContributed: 0, round: null, waiting: null, problem: null },
    });
    expect(card.columns).toMatchObject([
      { name: 'sleep_hours', note: 'Hours slept the night before', role: 'feature', kind: 'numeric' },
      { name: 'steps', note: 'Steps walked that day', role: 'feature', kind: 'numeric' },
      { name: 'resting_hr', note: 'Resting heart rate', role: 'feature', kind: 'numeric' },
      { name: 'caffeine_cups', note: 'Cups of coffee or tea', role: 'feature', kind: 'numeric' },
      { name: 'exercised', note: 'Whether you exercised (yes, no, sometimes)', role: 'feature', kind: 'categorical' },
      { name: 'mood', note: 'Your mood rating for the day', role: 'label', kind: 'class' },
    ]);
    const reasons = new Map(view.hidden.map((h) => [h.jobId, h.reason]));
    expect(reasons.get(tampered.jobId)).toMatch(/does not match the hash registered on-chain/);
    expect(reasons.get(impostor.jobId)).toMatch(/not signed by the researcher who published it/);
    expect(reasons.get(disagreeing.jobId)).toMatch(/disagree about the reward per round/);
    expect(reasons.get(oversize.jobId)).toMatch(/larger than 256 KB/);
    expect(reasons.get(silent.jobId)).toMatch(/cannot be fetched right now/);
    expect(view.hidden).toHaveLength(5);
    expect(view.runPolicy).toBe('always');
    expect(view.platformReports).toEqual({ power: false, idle: false });
    await jobs.close();
  });

  it('says when the chain cannot be read, and keeps what it had', async () => {
    const vault = await newVault(t);
    const jobs = new JobsService({ vault, supervisor, enrollmentCircuit: enrollmentCircuitFiles(), chain: { rpcUrl: 'http://127.0.0.1:9', chainId: '31337', registry: chain.deployment.contracts.JobRegistry } });
    const view = await jobs.refresh();
    expect(view.chain.reachable).toBe(false);
    expect(view.chain.problem).toMatch(/cannot be reached/);
    expect(view.jobs).toEqual([]);
    await jobs.close();
  });

  it('refuses an opt-in over the privacy budget, or with a bad mapping, before enrolling anything', async () => {
    const vault = await newVault(t);
    const datasetId = await importDiary(vault, t.file('diary.csv'));
    const jobs = await service(vault);
    const view = await jobs.refresh();
    const costlyCard = view.jobs.find((j) => j.jobId === costly.jobId)!;
    expect(costlyCard.privacy.fits).toBe(false);
    expect(costlyCard.privacy.afterEpsilon).toBeGreaterThan(10);
    const before = vault.activity().total;

    await expect(jobs.optIn(costly.jobId, datasetId, DIARY_MAPPING)).rejects.toMatchObject({ code: 'PRIVACY_BUDGET_EXCEEDED' });
    // A numeric column of the job mapped to text, a column left out, and an unknown job.
    await expect(jobs.optIn(good.jobId, datasetId, { ...DIARY_MAPPING, sleep_hours: 'notes' })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    // A number column of the right type that is plainly something else: resting heart rate for hours of sleep.
    await expect(jobs.optIn(good.jobId, datasetId, { ...DIARY_MAPPING, sleep_hours: 'resting_hr', resting_hr: 'sleep_hours' })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
      message: expect.stringMatching(/^The job expects "sleep_hours" to be around 7; "resting_hr" averages 6\d/) as unknown,
    });
    const { mood: _mood, ...withoutLabel } = DIARY_MAPPING;
    await expect(jobs.optIn(good.jobId, datasetId, withoutLabel)).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(jobs.optIn(good.jobId, datasetId, { ...DIARY_MAPPING, mood: 'no such column' })).rejects.toMatchObject({ code: 'COLUMN_NOT_FOUND' });
    await expect(jobs.optIn(tampered.jobId, datasetId, DIARY_MAPPING)).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });

    expect(enrollRequests).toBe(0);
    expect((await openPrivacyLedger(vault)).entries).toEqual([]);
    expect(vault.activity().total).toBe(before);
    expect(jobs.list().jobs.every((j) => j.participation.state === 'available')).toBe(true);
    expect(vault.checkIntegrity()).toMatchObject({ ok: true, problems: [] });
    await jobs.close();
  });
});

describe('job discovery on a long chain', () => {
  // Mining thousands of blocks on anvil takes minutes, so the pages here are small; the default
  // (DEFAULT_BLOCKS_PER_QUERY) pages the same way over a real chain's millions.
  const PAGE = 100;

  it('finds jobs published hundreds of blocks apart, searching a page of blocks per query', async () => {
    const chain = await startTroveChain();
    const docs = await new DocumentServer().start();
    const config = { rpcUrl: chain.chain.url, chainId: chain.chainId.toString(), registry: chain.deployment.contracts.JobRegistry, fromBlock: chain.deployment.blockNumber };
    const discovery = new JobDiscovery(config, { blocksPerQuery: PAGE });
    const ranges: [number, number][] = [];
    // Watches the real provider's requests; every one still goes to the chain.
    const send = vi.spyOn(JsonRpcProvider.prototype, 'send');
    try {
      const token = await (await deployToken(chain)).getAddress();
      const block = await chain.provider.getBlock('latest');
      const base = {
        researcher: await chain.accounts.researcher.getAddress(),
        coordinator: { url: docs.url, address: await chain.accounts.coordinator.getAddress() },
        token,
        chainId: chain.chainId.toString(),
        deadline: block!.timestamp + 30 * 86_400,
      };
      const early = await publishJob(chain, docs, sleepJob({ ...base, title: 'Early' }));
      await chain.provider.send('anvil_mine', [toQuantity(2 * PAGE + 17)]);
      const later = await publishJob(chain, docs, sleepJob({ ...base, title: 'Later' }));
      await chain.provider.send('anvil_mine', [toQuantity(PAGE + 3)]);
      const latest = await chain.provider.getBlockNumber();

      send.mockClear();
      const found = await discovery.discover();
      for (const [method, params] of send.mock.calls) {
        if (method !== 'eth_getLogs') continue;
        const range = (params as [{ fromBlock: string; toBlock: string }])[0];
        ranges.push([Number(range.fromBlock), Number(range.toBlock)]);
      }
      expect(found.jobs.map((j) => [j.event.jobId, j.document.title])).toEqual([
        [early.jobId, 'Early'],
        [later.jobId, 'Later'],
      ]);
      // Contiguous pages of at most PAGE blocks, from the deployment to the latest.
      const from = chain.deployment.blockNumber ?? 0;
      expect(ranges.length).toBe(Math.ceil((latest - from + 1) / PAGE));
      expect(ranges.length).toBeGreaterThanOrEqual(4);
      expect(ranges[0]![0]).toBe(from);
      expect(ranges.at(-1)![1]).toBe(latest);
      ranges.forEach(([a, b], i) => {
        expect(b - a + 1).toBeLessThanOrEqual(PAGE);
        if (i > 0) expect(a).toBe(ranges[i - 1]![1] + 1);
      });
    } finally {
      send.mockRestore();
      discovery.close();
      await docs.close();
      await chain.close();
    }
  });
});
