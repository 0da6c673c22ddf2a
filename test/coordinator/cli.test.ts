// The researcher's command line against a local chain: publish a job file that leaves the
// addresses out, read its status and results, and cancel it for the refund.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDeployment } from '../../contracts/deploy.js';
import { JsonRpcProvider, Network, Wallet } from 'ethers';
import { cancelJob, closeRoundOnChain } from '../../coordinator/chain.js';
import { main } from '../../coordinator/cli.js';
import { printed } from '../helpers/printed.js';
import { SqliteStore } from '../../coordinator/store-sqlite.js';
import { RoundRunner } from '../../coordinator/rounds.js';
import { initialWeights } from '../../common/model/weights.js';
import { parseJobDocument } from '../../common/jobs/document.js';
import { ANVIL_KEYS } from '../fixtures/anvil.js';
import { mined, startTroveChain, type TroveChain } from '../fixtures/trove-chain.js';
import { SLEEP_MOOD_JOB, validationCsv } from './fixtures.js';

describe('coordinator CLI', () => {
  let chain: TroveChain;
  let dir: string;
  let args: string[];
  let tokenAddress: string;

  const run = (...argv: string[]) => printed(() => main([...argv, ...args]));

  beforeAll(async () => {
    chain = await startTroveChain();
    dir = mkdtempSync(join(tmpdir(), 'trove-coordinator-cli-'));
    writeDeployment(join(dir, 'deployment.json'), chain.deployment);
    const token = await chain.deploy('TestToken', ['Test Dollar', 'TUSD']);
    tokenAddress = await token.getAddress();
    await mined(token.connect(chain.accounts.researcher).getFunction('mint')(await chain.accounts.researcher.getAddress(), 10n ** 24n));
    // No addresses, chain id or deadline: publish fills them in.
    writeFileSync(join(dir, 'job.json'), JSON.stringify({ ...SLEEP_MOOD_JOB, reward: { ...(SLEEP_MOOD_JOB.reward as object), token: tokenAddress, perRound: '1000' } }));
    writeFileSync(join(dir, 'validation.csv'), validationCsv());
    args = ['--rpc', chain.chain.url, '--deployment', join(dir, 'deployment.json'), '--db', join(dir, 'coordinator.db'), '--url', 'http://127.0.0.1:18787'];
  });
  afterAll(async () => {
    await chain?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('publishes, reports status and results, and cancels with a refund', async () => {
    const published = await run('publish', join(dir, 'job.json'), '--validation', join(dir, 'validation.csv'));
    expect(published).toMatch(/^published job 1: spec 0x[0-9a-f]{64}/);
    expect(published).toContain('document at http://127.0.0.1:18787/v1/specs/0x');

    const store = new SqliteStore(join(dir, 'coordinator.db'));
    const row = (await store.job('1'))!;
    const doc = parseJobDocument((JSON.parse(row.signedJson) as { document: unknown }).document);
    expect(doc.researcher.address).toBe(await chain.accounts.researcher.getAddress());
    expect(doc.coordinator).toEqual({ url: 'http://127.0.0.1:18787', address: await chain.accounts.coordinator.getAddress() });
    expect(doc.chainId).toBe('31337');
    expect(row.validationCsv).toBe(readFileSync(join(dir, 'validation.csv'), 'utf8'));
    await store.close();

    // The job's line, then the coordinator processes on the database with their leases: publish
    // and status are one-shot commands and serve nothing, so neither is listed.
    expect(await run('status', '1')).toMatch(/^job 1 \(0x[0-9a-f]{64}\): enrolling, 0 enrolled, round 0 of 3\ncoordinator processes on .+:\n {2}none is serving \(start one with `serve`\)$/);
    const listed = async () => [...(await run('status', '1')).matchAll(/^ {2}(\S+) \(pid \d+(?:, (\S+))?\): last seen \d+ s ago; /gm)].map((m) => [m[1], m[2]]);
    const shared = new SqliteStore(join(dir, 'coordinator.db'));
    const serving = await RoundRunner.open({ store: shared, timers: false, url: 'http://127.0.0.1:18787', processId: 'serving-1', log: () => undefined });
    try {
      expect(await listed()).toEqual([['serving-1', 'http://127.0.0.1:18787']]);
      // Asking again lists the same one process: status did not add itself.
      expect(await listed()).toEqual([['serving-1', 'http://127.0.0.1:18787']]);
      // Control: a one-shot command that registered as the runner does by default would be listed.
      const registering = await RoundRunner.open({ store: shared, timers: false, processId: 'one-shot', log: () => undefined });
      registering.close();
      expect((await listed()).sort()).toEqual([['one-shot', undefined], ['serving-1', 'http://127.0.0.1:18787']]);
    } finally {
      serving.close();
      await shared.close();
    }
    const out = join(dir, 'results');
    const results = JSON.parse(await run('results', '1', '--out', out)) as { jobId: string; rounds: unknown[] };
    expect(results).toEqual({ jobId: '1', rounds: [] });
    expect(new Uint8Array(readFileSync(join(out, 'model-initial.f32')))).toEqual(new Uint8Array(initialWeights(doc.training.model, doc.training.local.seed).buffer));

    const researcher = await chain.accounts.researcher.getAddress();
    const token = chain.at('TestToken', tokenAddress);
    const before = BigInt(await token.getFunction('balanceOf')(researcher));
    expect(await run('cancel', '1')).toMatch(/^job 1 cancelled: refunded 3000 and the stake 150, tx 0x/);
    expect(BigInt(await token.getFunction('balanceOf')(researcher)) - before).toBe(3150n);
    expect(await run('status', '1')).toMatch(/cancelled/);
    await expect(run('cancel', '1')).rejects.toMatchObject({ code: 'CHAIN_REJECTED', details: { error: 'JobNotActive' } });
    await expect(run('status', '2')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
  });

  it('names the contract error when the chain refuses, and says when the chain cannot be reached', async () => {
    // A job file without a deadline gets now + 30 days in whole seconds, so publishing job.json
    // again within the same second as the first test would be the same document (and refused):
    // this test publishes its own.
    const job = JSON.parse(readFileSync(join(dir, 'job.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'another.json'), JSON.stringify({ ...job, title: 'Sleep and mood, another' }));
    const published = await run('publish', join(dir, 'another.json'));
    const jobId = /published job (\d+)/.exec(published)![1]!;
    // Only the job's coordinator may close its rounds.
    const err = await closeRoundOnChain(chain.accounts.researcher, chain.deployment, jobId, [0]).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'CHAIN_REJECTED', details: { error: 'NotCoordinator' } });
    expect((err as Error).message).toContain('NotCoordinator(');
    const nowhere = new JsonRpcProvider('http://127.0.0.1:9', Network.from(31337n), { staticNetwork: true });
    try {
      const unreachable = await cancelJob(new Wallet(ANVIL_KEYS[1], nowhere), chain.deployment, jobId).catch((e: unknown) => e);
      expect(unreachable).toMatchObject({ code: 'CHAIN_UNREACHABLE' });
    } finally {
      nowhere.destroy();
    }
    writeFileSync(join(dir, 'unpublished.json'), JSON.stringify({ ...job, title: 'Sleep and mood, never published' }));
    const saved = args;
    args = args.map((a) => (a === chain.chain.url ? 'http://127.0.0.1:9' : a));
    try {
      await expect(run('publish', join(dir, 'unpublished.json'))).rejects.toMatchObject({ code: 'CHAIN_UNREACHABLE' });
    } finally {
      args = saved;
    }
    // The same document again would escrow a second reward under the same hash: refused first.
    writeFileSync(join(dir, 'fixed.json'), JSON.stringify({ ...job, deadline: Math.floor(Date.now() / 1000) + 29 * 86_400 }));
    await run('publish', join(dir, 'fixed.json'));
    await expect(run('publish', join(dir, 'fixed.json'))).rejects.toMatchObject({ code: 'INVALID_JOB_SPEC' });
  });
});
