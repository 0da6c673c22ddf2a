// The relayer against a real chain with real proofs: it verifies before it spends gas, cannot
// redirect a claim or take more than the fee the proof grants, survives a restart with the claims
// it accepted, and refuses oversized, malformed and too frequent requests with typed errors.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Group } from '@semaphore-protocol/group';
import { Identity } from '@semaphore-protocol/identity';
import { generateProof } from '@semaphore-protocol/proof';
import type { Contract } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TREE_DEPTH, circuitArtifacts } from '../../../contracts/artifacts.js';
import { claimMessage, claimScope } from '../../../common/jobs/claims.js';
import type { RelayedClaim } from '../../../common/claims/relayer-protocol.js';
import { deriveJobIdentity } from '../../../main/services/jobs/identity.js';
import { Vault } from '../../../main/services/vault/index.js';
import { RelayerService } from '../../../relayer/server.js';
import { startTroveChain, type TroveChain } from '../../fixtures/trove-chain.js';
import { FAST_KDF, PASSPHRASE } from '../../helpers/vault.js';
import { publishPaidJob, runRound, shareOf, type PaidJob } from './world.js';

const FEE = 500n;

let t: TroveChain;
let dir: string;
let vault: Vault;
let job: PaidJob;
let me: Identity;
let relayerAddress: string;
let recipient: string;
let rewards: Contract;
const services: RelayerService[] = [];

function relayer(options: { requestsPerMinute?: number } = {}): RelayerService {
  const r = new RelayerService({
    signer: t.accounts.relayer,
    provider: t.provider,
    chainId: t.chainId,
    roundRewards: t.deployment.contracts.RoundRewards,
    fee: FEE,
    storeFile: join(dir, 'relayer.db'),
    batchMs: 60_000,
    ...options,
  });
  services.push(r);
  return r;
}

async function claimFor(to: string, fee = FEE): Promise<RelayedClaim> {
  const group = new Group(job.commitments.slice(0, 2));
  const scope = claimScope(t.chainId, t.deployment.contracts.RoundRewards, job.jobId, 0n);
  const proof = await generateProof(me, group, claimMessage(to, relayerAddress, fee), scope, TREE_DEPTH, circuitArtifacts());
  return { jobId: job.jobId.toString(), round: 0, recipient: to, relayer: relayerAddress, fee: fee.toString(), nullifier: proof.nullifier.toString(), merkleTreeDepth: TREE_DEPTH, points: proof.points.map(String) };
}

async function post(url: string, body: string): Promise<{ status: number; json: { error?: { code: string }; claims?: { status: string; reason: string | null }[] } }> {
  const res = await fetch(new URL('/v1/claims', url), { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  return { status: res.status, json: (await res.json()) as never };
}

const request = (claims: RelayedClaim[]) => JSON.stringify({ chainId: t.chainId.toString(), roundRewards: t.deployment.contracts.RoundRewards, claims });

beforeAll(async () => {
  t = await startTroveChain();
  dir = mkdtempSync(join(tmpdir(), 'trove-relayer-'));
  vault = await Vault.create(join(dir, 'vault.db'), PASSPHRASE, { kdf: FAST_KDF, autoLockMs: null });
  job = await publishPaidJob(t, vault, 1, 1);
  await runRound(t, job, [0, 1]);
  const id = await deriveJobIdentity(vault, job.ref);
  me = id.semaphore;
  relayerAddress = await t.accounts.relayer.getAddress();
  recipient = await t.accounts.alice.getAddress();
  rewards = t.at('RoundRewards', t.deployment.contracts.RoundRewards, t.provider);
}, 120_000);

afterAll(async () => {
  for (const r of services) await r.close().catch(() => undefined);
  vault?.close();
  await t?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('relayer', () => {
  it('refuses a redirected claim or a smaller fee without spending gas, and keeps an accepted claim across a restart', async () => {
    const honest = await claimFor(recipient);
    const lowFee = await claimFor(recipient, FEE - 1n);
    let r = relayer();
    const url = await r.start();
    const eth = await t.provider.getBalance(relayerAddress);
    const bob = await t.accounts.bob.getAddress();
    const answer = await post(url, request([{ ...honest, recipient: bob }, { ...honest, fee: (FEE * 10n).toString() }, lowFee]));
    expect(answer.status).toBe(202);
    expect(answer.json.claims!.map((c) => c.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(answer.json.claims![0]!.reason).toMatch(/does not verify/);
    expect(answer.json.claims![2]!.reason).toMatch(/fee is 500/);
    await r.flush();
    expect(await t.provider.getBalance(relayerAddress)).toBe(eth);

    // positive control: the claim as proved is accepted; the relayer stops before sending it
    expect((await post(url, request([honest]))).json.claims!.map((c) => c.status)).toEqual(['pending']);
    await r.close();
    r = relayer();
    const restarted = await r.start();
    expect(r.status(honest.nullifier)?.status).toBe('pending');
    await r.flush();
    const landed = r.status(honest.nullifier)!;
    expect(landed.status).toBe('claimed');
    expect(landed.tx).toMatch(/^0x[0-9a-f]{64}$/);
    expect(await rewards.getFunction('creditOf')(recipient, await job.token.getAddress())).toBe((await shareOf(t, job, 0)) - FEE);
    expect(await rewards.getFunction('creditOf')(relayerAddress, await job.token.getAddress())).toBe(FEE);
    // offered again: already claimed, nothing sent
    const again = await post(restarted, request([honest]));
    expect(again.json.claims!.map((c) => c.status)).toEqual(['claimed']);
  }, 120_000);

  it('answers oversized, malformed and too frequent requests with typed errors', async () => {
    const r = relayer({ requestsPerMinute: 4 });
    const url = await r.start();
    const big = await post(url, JSON.stringify({ pad: 'x'.repeat(70 * 1024) }));
    expect([big.status, big.json.error?.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);
    const garbage = await post(url, '{"claims": [');
    expect([garbage.status, garbage.json.error?.code]).toEqual([400, 'INVALID_INPUT']);
    const wrongShape = await post(url, JSON.stringify({ chainId: '1', roundRewards: '0x00', claims: [] }));
    expect([wrongShape.status, wrongShape.json.error?.code]).toEqual([400, 'INVALID_INPUT']);
    const info = await fetch(new URL('/v1/info', url));
    expect(info.status).toBe(200);
    const limited = await fetch(new URL('/v1/info', url));
    expect(limited.status).toBe(429);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('RATE_LIMITED');
  }, 60_000);
});
