// Three coordinator processes over one PostgreSQL, with the real contracts on a local chain:
// contributors spread over the three, and in the middle of a round (some masked inputs accepted,
// the others still to come) the process doing the round's work is killed with SIGKILL. Another
// process takes its leases over once they expire and carries the round on from the database's
// log: the model is the one the round gives without the kill, every masked input the coordinator
// acknowledged is in it, and the round is closed on-chain with exactly that group.
import { spawn, type ChildProcess } from 'node:child_process';
import { Group } from '@semaphore-protocol/group';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { ANVIL_KEYS } from '../../contracts/anvil.js';
import { roundVectorLength } from '../../common/jobs/document.js';
import { roundIdFor, roundParamsFor } from '../../common/jobs/rounds.js';
import { initialWeights } from '../../common/model/weights.js';
import { NO_MODEL } from '../../common/secagg/params.js';
import { quantizationErrorBound } from '../../common/secagg/quantize.js';
import { loadSodium } from '../../common/secagg/sodium.js';
import { openCoordinator, publishExampleJob } from '../../main/cli/local-network.js';
import { openStore } from '../../coordinator/database.js';
import type { CoordinatorStore } from '../../coordinator/store.js';
import { mined, startTroveChain, type TroveChain } from '../fixtures/trove-chain.js';
import type { CoordinatorProcessSettings } from '../helpers/coordinator-process.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { Contributor, maskedInputsAccepted, until, expectedModel, updateFor } from './fixtures.js';
import { SMALL_ROUNDS } from '../fixtures/small-rounds.js';

const PROCESSES = 3;
const CONTRIBUTORS = 6;
const LEASE_MS = 5_000;

interface CoordinatorProcess {
  id: string;
  child: ChildProcess;
  url: string;
  stderr: string[];
}

describe('three coordinator processes on one PostgreSQL', () => {
  let chain: TroveChain;
  let postgres: PostgresServer;
  let store: CoordinatorStore;
  const processes: CoordinatorProcess[] = [];

  function startProcess(id: string): Promise<CoordinatorProcess> {
    const settings: CoordinatorProcessSettings = {
      database: postgres.url,
      chain: { rpcUrl: chain.chain.url, coordinatorKey: ANVIL_KEYS[2]!, deployment: chain.deployment },
      processId: id,
      groupSize: 3,
      leaseMs: LEASE_MS,
      pollMs: 100,
    };
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/coordinator-process.ts', JSON.stringify(settings)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const stderr: string[] = [];
    child.stderr!.on('data', (b: Buffer) => stderr.push(b.toString()));
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve({ id, child, url: (JSON.parse(line) as { url: string }).url, stderr });
      });
      child.once('exit', (code) => reject(new Error(`coordinator process ${id} exited with ${code}: ${stderr.join('').slice(-2000)}`)));
    });
  }

  beforeAll(async () => {
    await loadSodium();
    chain = await startTroveChain();
    postgres = await startPostgres();
  }, 120_000);

  afterAll(async () => {
    for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGTERM');
    await Promise.all(processes.map((p) => (p.child.exitCode === null && p.child.signalCode === null ? new Promise((r) => p.child.once('exit', r)) : undefined)));
    await store?.close();
    postgres?.stop();
    await chain?.close();
  });

  it('finishes a round whose working process is killed, with the same model, every accepted masked input, and the right on-chain close', { timeout: 240_000 }, async () => {
    // On failure, say what each process logged.
    onTestFailed(() => {
      for (const p of processes) console.log(`--- ${p.id}\n${p.stderr.join('').slice(-4000)}`);
    });
    // The researcher publishes through a coordinator on the same database, which then stops.
    const token = await chain.deploy('TestToken', ['Test Dollar', 'TUSD']);
    await mined(token.connect(chain.accounts.researcher).getFunction('mint')(await chain.accounts.researcher.getAddress(), 10n ** 30n));
    const publisher = await openCoordinator(postgres.url, { chain: { coordinator: chain.accounts.coordinator, provider: chain.provider, deployment: chain.deployment }, timers: false }, { port: 0 });
    const { jobId, document: doc } = await publishExampleJob({
      runner: publisher.runner,
      researcher: chain.accounts.researcher,
      coordinatorAccount: chain.accounts.coordinator,
      coordinatorUrl: publisher.server.url,
      deployment: chain.deployment,
      token: await token.getAddress(),
      tokenSymbol: 'TUSD',
      nowMs: Date.now(),
      overrides: {
        ...SMALL_ROUNDS,
        rounds: 1,
        minContributors: 3,
        deadline: Math.floor(Date.now() / 1000) + 30 * 86_400,
        // A stage closes as soon as everyone answered; these only bound a stage someone missed (processes start slowly on a busy machine).
        aggregation: { clipRange: 4, maxExamples: 366, serverLearningRate: 1, deadlines: { advertiseKeysMs: 120_000, shareKeysMs: 120_000, collectMaskedInputsMs: 120_000, unmaskMs: 120_000 } },
      },
    });
    // Everyone enrolls before the coordinator processes start, so the round invites all six.
    const contributors = Array.from({ length: CONTRIBUTORS }, (_, i) => new Contributor(publisher.server.url, Date.now, { chainId: chain.chainId, registry: chain.deployment.contracts.JobRegistry }, `failover-${i}`));
    for (const c of contributors) await c.enroll(jobId);
    await publisher.close();

    processes.push(...(await Promise.all(Array.from({ length: PROCESSES }, (_, i) => startProcess(`coordinator-${i}`)))));
    store = await openStore(postgres.url);
    const urls = processes.map((p) => p.url);
    // Each contributor starts with a different process and moves to the next when one stops answering.
    contributors.forEach((c, i) => c.useCoordinators([...urls.slice(i % PROCESSES), ...urls.slice(0, i % PROCESSES)]));

    const d = roundVectorLength(doc) - 1;
    // Half the contributors hold their masked inputs until the kill.
    let release = () => undefined as void;
    const gate = new Promise<void>((r) => (release = r));
    const running = contributors.map((c, i) => c.runRound(jobId, doc, updateFor(i + 1, d), 60 + 50 * i, i % 2 === 1 ? { beforeMaskedInput: () => gate } : {}));
    const maskedInputs = () => maskedInputsAccepted(store, jobId, 0);
    await until(async () => (await maskedInputs()) === CONTRIBUTORS / 2, 90_000, 'the first masked inputs');

    // The process holding the round's group leases is the one doing its work: that one is killed.
    const now = Date.now();
    const groupLeases = (await store.leases()).filter((l) => l.name.startsWith(`group/${jobId}/0/`) && l.expiresAt > now);
    expect(groupLeases.length).toBe(2);
    const victim = processes.find((p) => p.id === groupLeases[0]!.holder)!;
    expect(victim).toBeDefined();
    const accepted = await maskedInputs();
    victim.child.kill('SIGKILL');
    await new Promise((r) => victim.child.once('exit', r));
    release();

    const outcomes = await Promise.all(running);
    expect(outcomes.map((o) => o.stage)).toEqual(Array(CONTRIBUTORS).fill('done'));
    await until(async () => (await store.round(jobId, 0))?.stage === 'closed', 90_000, 'the round to close on-chain');

    // No accepted masked input was lost: the ones in before the kill and the ones after are all in the log, once each, and in the sum.
    expect(accepted).toBe(CONTRIBUTORS / 2);
    expect(await maskedInputs()).toBe(CONTRIBUTORS);
    const row = (await store.round(jobId, 0))!;
    expect(row.included).toEqual([0, 1, 2, 3, 4, 5]);
    // The killed process's work was taken over by another, at the lease's expiry.
    const taken = (await store.leases()).filter((l) => l.name.startsWith(`group/${jobId}/0/`) && l.holder !== victim.id && l.takenOver > 0);
    expect(taken.length).toBeGreaterThan(0);

    // The same model as the round gives without the kill: the weighted FedAvg step of all six inputs.
    const start = initialWeights(doc.training.model, doc.training.local.seed);
    const expected = expectedModel(doc, start, outcomes.map((o) => o.input));
    const model = (await store.model(jobId, 1))!;
    const params = roundParamsFor(doc, roundIdFor(doc.chainId, jobId, 0), 3, NO_MODEL);
    const totalWeight = outcomes.reduce((s, o) => s + o.input[d]!, 0) / doc.aggregation.clipRange;
    const eb = 2 * quantizationErrorBound(params, 3);
    const bound = (eb * (1 + 1 / doc.aggregation.clipRange)) / (totalWeight - eb / doc.aggregation.clipRange);
    for (let i = 0; i < d; i++) expect(Math.abs(model[i]! - expected[i]!)).toBeLessThanOrEqual(bound + 1e-6);
    // The control: without the inputs sent after the kill, the model would be far from this one.
    const beforeKillOnly = expectedModel(doc, start, outcomes.filter((_, i) => i % 2 === 0).map((o) => o.input));
    expect(Math.max(...Array.from(model, (w, i) => Math.abs(w - beforeKillOnly[i]!)))).toBeGreaterThan(100 * bound);

    // On-chain: closed once, with the group of all six.
    const onChain = await chain.at('RoundRewards', chain.deployment.contracts.RoundRewards).getFunction('getRound')(BigInt(jobId), 0n);
    expect(BigInt(onChain.root)).toBe(new Group(contributors.map((c) => c.identity.commitment)).root);
    expect(Number(onChain.size)).toBe(CONTRIBUTORS);
  });
});
