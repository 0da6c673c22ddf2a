// Anonymous claims end to end on a real chain: the app's claims service (real vault, real worker
// proofs) and a real relayer. Every role may cheat here: a coordinator that lies about who was
// included, a relayer that is down, answers garbage or lies about a transaction. Each time nothing
// is claimed twice, no gas is spent on a claim the chain already paid, and the vault stays intact.
// The send delay is seeded: TROVE_TEST_SEED replays a run.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hexlify, randomBytes, type Contract } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { circuitArtifacts } from '../../../contracts/artifacts.js';
import { toRoundClaim } from '../../../common/jobs/claims.js';
import { isTroveError } from '../../../common/errors.js';
import { seededRandom } from '../../../common/random.js';
import { JobIdentities } from '../../../main/services/jobs/identity.js';
import { RelayerClient } from '../../../main/services/rewards/relayer-client.js';
import { RewardsService } from '../../../main/services/rewards/service.js';
import { Vault } from '../../../main/services/vault/index.js';
import { WorkerSupervisor } from '../../../main/services/worker/supervisor.js';
import { RelayerService } from '../../../relayer/server.js';
import { mined, startTroveChain, type TroveChain } from '../../fixtures/trove-chain.js';
import { FAST_KDF, PASSPHRASE } from '../../helpers/vault.js';
import { testWorkerLauncher } from '../../helpers/worker.js';
import { publishPaidJob, runRound, shareOf, type PaidJob } from './world.js';
import { freeLoopbackPort, listenOnLoopback } from '../../helpers/loopback.js';

const SEED = Number(process.env.TROVE_TEST_SEED ?? Date.now() % 2 ** 31);
console.log(`claims test seed ${SEED} (TROVE_TEST_SEED=${SEED} replays it)`);

const FEE = 1_000n;

let t: TroveChain;
let dir: string;
let vault: Vault;
let identities: JobIdentities;
let supervisor: WorkerSupervisor;
let recipient: string;
let rewards: Contract;
let clock = 1_000_000;
const random = seededRandom(SEED);

function relayer(port: number): RelayerService {
  return new RelayerService({
    signer: t.accounts.relayer,
    provider: t.provider,
    chainId: t.chainId,
    roundRewards: t.deployment.contracts.RoundRewards,
    fee: FEE,
    storeFile: join(dir, 'relayer.db'),
    port,
    batchMs: 60_000, // flushed by hand, so each step is deterministic
  });
}

function service(relayerUrl: string): RewardsService {
  return new RewardsService({
    vault,
    identities,
    supervisor,
    chain: { rpcUrl: t.chain.url, chainId: t.chainId.toString(), roundRewards: t.deployment.contracts.RoundRewards, registry: t.deployment.contracts.JobRegistry },
    // generous: the relayer verifies proofs before it answers, and this machine may be busy
    relayer: new RelayerClient({ url: relayerUrl, timeoutMs: 60_000 }),
    artifacts: circuitArtifacts(),
    random,
    sendDelayMs: { min: 1_000, max: 5_000 },
    backoff: { baseMs: 1_000, maxMs: 8_000 },
    now: () => clock,
  });
}

const credit = async (account: string, token: Contract): Promise<bigint> => (await rewards.getFunction('creditOf')(account, await token.getAddress())) as bigint;
const closedRounds = (positions: number[][]) => positions.map((p, round) => ({ round, closed: true, includedPositions: p }));

/** A fake relayer: `answer` decides every response. */
async function fakeRelayer(answer: (method: string, path: string, body: string) => { status: number; body: string }): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const a = answer(req.method ?? '', req.url ?? '', body);
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(a.body);
    });
  });
  return { url: `${await listenOnLoopback(server)}/`, server };
}

beforeAll(async () => {
  t = await startTroveChain();
  dir = mkdtempSync(join(tmpdir(), 'trove-claims-'));
  vault = await Vault.create(join(dir, 'vault.db'), PASSPHRASE, { kdf: FAST_KDF, autoLockMs: null });
  identities = new JobIdentities(vault);
  supervisor = new WorkerSupervisor({ launcher: await testWorkerLauncher(), defaultMemoryLimitMb: 1024 });
  recipient = await t.accounts.alice.getAddress();
  rewards = t.at('RoundRewards', t.deployment.contracts.RoundRewards, t.provider);
}, 120_000);

afterAll(async () => {
  identities?.close();
  vault?.close();
  await supervisor?.stop();
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('claims through a relayer', () => {
  let job: PaidJob;
  let port: number;

  beforeAll(async () => {
    // Two rounds: all three of us in round 0; round 1 includes me (position 0) and position 2.
    job = await publishPaidJob(t, vault, 2, 2);
    await runRound(t, job, [0, 1, 2]);
    await runRound(t, job, [0, 2]);
    port = await freeLoopbackPort();
  }, 120_000);

  it('refuses a coordinator list that does not give the group closed on-chain, and trusts the one that does', async () => {
    const up = relayer(port);
    await up.start();
    const s = service(`http://127.0.0.1:${port}/`);
    try {
      for (const lie of [[[0, 1], [0, 2]], [[0, 1, 2], [0, 1]], [[0, 1, 2], [0, 1, 2]], [[0, 1, 2], [2, 0, 7]]]) {
        const err = await s.prepareClaims(job.jobId.toString(), closedRounds(lie), recipient).catch((e: unknown) => e);
        expect(isTroveError(err, 'INCLUDED_LIST_MISMATCH'), `list ${JSON.stringify(lie)} gave ${String(err)}`).toBe(true);
      }
      expect(s.claims()).toEqual([]);
      // positive control: the honest list passes the same check and queues both rounds
      const report = await s.prepareClaims(job.jobId.toString(), closedRounds([[0, 1, 2], [0, 2]]), recipient);
      expect(report.queued).toEqual([0, 1]);
      const claims = s.claims();
      expect(claims.map((c) => [c.round, c.state, c.amount])).toEqual([
        [0, 'queued', ((await shareOf(t, job, 0)) - FEE).toString()],
        [1, 'queued', ((await shareOf(t, job, 1)) - FEE).toString()],
      ]);
      // one send time for both rounds: they leave as one batch, within the delay range
      expect(claims[0]!.notBefore).toBe(claims[1]!.notBefore);
      expect(claims[0]!.notBefore - clock).toBeGreaterThanOrEqual(1_000);
      expect(claims[0]!.notBefore - clock).toBeLessThan(5_000);
      // preparing again adds nothing
      expect((await s.prepareClaims(job.jobId.toString(), closedRounds([[0, 1, 2], [0, 2]]), recipient)).queued).toEqual([]);
    } finally {
      s.close();
      await up.close();
    }
  }, 120_000);

  it('keeps claims queued while the relayer is down, resumes after a restart, and lands each once when it returns', async () => {
    let s = service(`http://127.0.0.1:${port}/`);
    clock += 10_000;
    await s.send();
    const waiting = s.claims();
    expect(waiting.map((c) => c.state)).toEqual(['queued', 'queued']);
    expect(waiting[0]!.attempts).toBe(1);
    expect(waiting[0]!.lastError).toMatch(/cannot be reached/);
    expect(waiting[0]!.notBefore).toBe(clock + 1_000);
    for (const c of waiting) expect(await rewards.getFunction('isNullifierUsed')(BigInt(c.proof.nullifier))).toBe(false);

    // the app quits and starts again: the queue comes back from the vault
    s.close();
    identities.close();
    vault.close();
    vault = await Vault.open(join(dir, 'vault.db'));
    await vault.unlock(PASSPHRASE);
    identities = new JobIdentities(vault);
    s = service(`http://127.0.0.1:${port}/`);
    expect(s.claims().map((c) => [c.round, c.state, c.proof.nullifier])).toEqual(waiting.map((c) => [c.round, 'queued', c.proof.nullifier]));

    const up = relayer(port);
    await up.start();
    try {
      clock += 2_000;
      await s.send();
      expect(s.claims().map((c) => c.state), JSON.stringify(s.claims().map((c) => c.lastError))).toEqual(['submitted', 'submitted']);
      await up.flush();
      await s.send();
      const landed = s.claims();
      expect(landed.map((c) => c.state)).toEqual(['claimed', 'claimed']);
      for (const c of landed) expect(c.tx).toMatch(/^0x[0-9a-f]{64}$/);
      expect(await credit(recipient, job.token)).toBe((await shareOf(t, job, 0)) + (await shareOf(t, job, 1)) - 2n * FEE);
      expect(await credit(await t.accounts.relayer.getAddress(), job.token)).toBe(2n * FEE);
      // sending again changes nothing
      await s.send();
      expect(await credit(recipient, job.token)).toBe((await shareOf(t, job, 0)) + (await shareOf(t, job, 1)) - 2n * FEE);
      const kinds = vault.activity(0, 1000).entries.map((e) => e.kind);
      expect(kinds.filter((k) => k === 'claim.landed')).toHaveLength(2);
    } finally {
      s.close();
      await up.close();
    }
  }, 120_000);
});

describe('claims the chain or a relayer already settled', () => {
  let job: PaidJob;

  beforeAll(async () => {
    job = await publishPaidJob(t, vault, 1, 1);
    await runRound(t, job, [0, 1]);
  }, 120_000);

  it('shows a round claimed elsewhere as claimed and spends no gas on it', async () => {
    const port = await freeLoopbackPort();
    const up = relayer(port);
    await up.start();
    const s = service(`http://127.0.0.1:${port}/`);
    try {
      await s.prepareClaims(job.jobId.toString(), closedRounds([[0, 1]]), recipient);
      const [queued] = s.claims().filter((c) => c.jobId === job.jobId.toString());
      // another copy of this vault (a restored backup) submits the same claim first
      const submitter = t.at('RoundRewards', t.deployment.contracts.RoundRewards, t.accounts.bob);
      await mined(submitter.getFunction('claim')(job.jobId, 0, [toRoundClaim(queued!.recipient, queued!.proof, queued!.relayer, BigInt(queued!.fee))], { gasLimit: 1_000_000n }));
      await up.flush(); // nothing of earlier tests left to send: the balance below moves only for this claim
      const relayerEth = await t.provider.getBalance(await t.accounts.relayer.getAddress());
      clock += 10_000;
      await s.send();
      await up.flush();
      const after = s.claims().find((c) => c.jobId === job.jobId.toString())!;
      expect(after.state).toBe('claimed');
      expect(after.tx).toBeNull();
      expect(up.status(after.proof.nullifier)).toBeUndefined();
      expect(await t.provider.getBalance(await t.accounts.relayer.getAddress())).toBe(relayerEth);
      expect(await credit(recipient, job.token)).toBe((await shareOf(t, job, 0)) - FEE);
    } finally {
      s.close();
      await up.close();
    }
  }, 120_000);
});

describe('a relayer that answers garbage or lies', () => {
  let job: PaidJob;

  beforeAll(async () => {
    job = await publishPaidJob(t, vault, 1, 1);
    await runRound(t, job, [0, 1]);
  }, 120_000);

  it('is caught, the claim waits, and it lands exactly once through an honest relayer', async () => {
    const port = await freeLoopbackPort();
    const honest = relayer(port);
    await honest.start();
    const info = honest.info();
    const fakeTx = hexlify(randomBytes(32));
    let lying = true;
    const liar = await fakeRelayer((method, path, body) => {
      if (path === '/v1/info') return { status: 200, body: JSON.stringify(info) };
      if (!lying) return { status: 200, body: '<html>surprise</html>' };
      if (method === 'POST') {
        const n = (JSON.parse(body) as { claims: { nullifier: string }[] }).claims.map((c) => ({ nullifier: c.nullifier, status: 'claimed', tx: fakeTx, reason: null }));
        return { status: 202, body: JSON.stringify({ claims: n }) };
      }
      return { status: 200, body: JSON.stringify({ nullifier: path.split('/').pop(), status: 'claimed', tx: fakeTx, reason: null }) };
    });
    const mine = () => s.claims().find((c) => c.jobId === job.jobId.toString())!;
    let s = service(liar.url);
    try {
      await s.prepareClaims(job.jobId.toString(), closedRounds([[0, 1]]), recipient);
      clock += 10_000;
      await s.send();
      expect(mine().state).toBe('queued');
      expect(mine().lastError).toMatch(/chain shows no such payment/);
      expect(vault.activity(0, 1000).entries.some((e) => e.kind === 'claim.relayer-misreported')).toBe(true);

      lying = false; // now it answers garbage
      clock += 10_000;
      await s.send();
      expect(mine().state).toBe('queued');
      expect(mine().lastError).toMatch(/not JSON/);
      expect(await credit(recipient, job.token)).toBe(0n);
      s.close();

      s = service(`http://127.0.0.1:${port}/`);
      clock += 60_000;
      await s.send();
      await honest.flush();
      await s.send();
      expect(mine().state).toBe('claimed');
      expect(await credit(recipient, job.token)).toBe((await shareOf(t, job, 0)) - FEE);
      const report = vault.checkIntegrity();
      expect(report.ok, JSON.stringify(report.problems)).toBe(true);
      expect(vault.verifyActivity().ok).toBe(true);
    } finally {
      s.close();
      liar.server.close();
      await honest.close();
    }
  }, 120_000);
});
