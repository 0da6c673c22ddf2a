// A relayer's batch of claims on a real local chain with real depth-20 Semaphore proofs: a batch
// is checked with one multi-pairing, and a forged, moved or altered proof in it is skipped while
// the valid claims still pay, each claim's fate matching the official verifier's verdict.
import { closeRoundOnChain } from '../../../coordinator/chain.js';
import { Group } from '@semaphore-protocol/group';
import { Identity } from '@semaphore-protocol/identity';
import { generateProof } from '@semaphore-protocol/proof';
import { AbiCoder, Wallet, id, keccak256, toBeHex, type Contract } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TREE_DEPTH, circuitArtifacts } from '../../../contracts/artifacts.js';
import { claimMessage, claimScope, toRoundClaim, type RoundClaim } from '../../../common/jobs/claims.js';
import { seededRandom } from '../../../common/random.js';
import { mined, startTroveChain, type TroveChain } from '../../fixtures/trove-chain.js';
import { enrollWithProof } from '../../fixtures/enrollment-proof.js';

const MEMBERS = 6;
const REWARD = 600n * 10n ** 6n;
const FEE = 10n ** 6n;
const GAS = 12_000_000n;

interface CallFrame {
  to: string;
  input: string;
  calls?: CallFrame[];
}

/** Semaphore's field hash of a message or scope. */
const fieldHash = (x: bigint): bigint => BigInt(keccak256(toBeHex(x, 32))) >> 8n;

describe('batched claims on a local chain with real Semaphore proofs', () => {
  let t: TroveChain;
  let rewards: Contract;
  let official: Contract;
  let jobId: bigint;
  let root: bigint;
  let scope: bigint;
  let relayer: string;
  const members = Array.from({ length: MEMBERS }, (_, i) => new Identity(`trove-batch-claim-${i}`));
  const group = new Group(members.map((m) => m.commitment));
  const recipients = Array.from({ length: MEMBERS }, (_, i) => new Wallet(id(`trove-batch-claim-recipient-${i}`)).address);
  const claims: RoundClaim[] = [];

  /** Sends a batch from a snapshot and rolls the chain back: each test starts from the same closed round. */
  async function trial(batch: RoundClaim[]): Promise<{ verifierCalls: CallFrame[]; paid: bigint[]; skipped: [bigint, string][] }> {
    const snapshot = (await t.provider.send('evm_snapshot', [])) as string;
    try {
      const receipt = await mined(rewards.getFunction('claim')(jobId, 0n, batch, { gasLimit: GAS }));
      const events = receipt.logs.map((l) => rewards.interface.parseLog(l));
      const paid = [...(events.find((e) => e?.name === 'Claimed')!.args.getValue('nullifiers') as bigint[])];
      const skipped = events.filter((e) => e?.name === 'ClaimSkipped').map((e) => [e!.args.getValue('nullifier') as bigint, e!.args.getValue('reason') as string] as [bigint, string]);
      // The calls RoundRewards made into the verifier, traced before the chain rolls back.
      const trace = (await t.provider.send('debug_traceTransaction', [receipt.hash, { tracer: 'callTracer' }])) as CallFrame;
      const verifier = t.deployment.contracts.SemaphoreVerifier.toLowerCase();
      return { verifierCalls: (trace.calls ?? []).filter((c) => c.to.toLowerCase() === verifier), paid, skipped };
    } finally {
      await t.provider.send('evm_revert', [snapshot]);
      t.accounts.relayer.reset(); // its local nonce count went back with the chain
    }
  }

  /** The official SemaphoreVerifier's verdict on a claim's proof against this round. */
  function officialVerdict(c: RoundClaim): Promise<boolean> {
    const p = c.points;
    const inputs = [root, c.nullifier, fieldHash(claimMessage(c.recipient, c.relayer, c.fee)), fieldHash(scope)];
    return official.getFunction('verifyProof').staticCall([p[0], p[1]], [[p[2], p[3]], [p[4], p[5]]], [p[6], p[7]], inputs, TREE_DEPTH, { gasLimit: GAS }) as Promise<boolean>;
  }

  /** C + G through the chain's ecAdd precompile: a forged proof whose points are all on the curve. */
  async function forged(c: RoundClaim): Promise<RoundClaim> {
    const coder = AbiCoder.defaultAbiCoder();
    const out = await t.provider.call({ to: '0x0000000000000000000000000000000000000006', data: coder.encode(['uint256', 'uint256', 'uint256', 'uint256'], [c.points[6], c.points[7], 1n, 2n]) });
    const [x, y] = coder.decode(['uint256', 'uint256'], out) as unknown as [bigint, bigint];
    return { ...c, points: [...c.points.slice(0, 6), x, y] };
  }

  /** The official single-proof checks a verifier call made (calls into itself; precompiles aside). */
  const selfCalls = (call: CallFrame): number => (call.calls ?? []).filter((c) => c.to.toLowerCase() === call.to.toLowerCase()).length;

  const invalidProof = () => rewards.interface.getError('InvalidProof')!.selector;

  beforeAll(async () => {
    t = await startTroveChain();
    rewards = t.at('RoundRewards', t.deployment.contracts.RoundRewards, t.accounts.relayer);
    relayer = await t.accounts.relayer.getAddress();
    official = await t.deploy('SemaphoreVerifier');
    const usd = await t.deploy('TestToken', ['Test Dollar', 'TUSD']);
    const researcher = t.accounts.researcher;
    const registry = t.at('JobRegistry', t.deployment.contracts.JobRegistry, researcher);
    const total = REWARD + (REWARD * 500n) / 10_000n;
    await mined((usd.connect(researcher) as Contract).getFunction('mint')(await researcher.getAddress(), total));
    await mined((usd.connect(researcher) as Contract).getFunction('approve')(await registry.getAddress(), total));
    const now = BigInt((await t.provider.getBlock('latest'))!.timestamp);
    const receipt = await mined(
      registry.getFunction('publish')({
        specHash: `0x${'cd'.repeat(32)}`,
        specURI: 'ipfs://batch-claims',
        coordinator: await t.accounts.coordinator.getAddress(),
        rewardToken: await usd.getAddress(),
        rewardPerRound: REWARD,
        rounds: 1,
        minContributors: 1,
        deadline: now + 86_400n,
        bondAmount: 0n,
      }),
    );
    jobId = registry.interface.parseLog(receipt.logs.find((l) => registry.interface.parseLog(l)?.name === 'JobPublished')!)!.args.getValue('jobId') as bigint;
    for (let i = 0; i < MEMBERS; i++) await mined(enrollWithProof(rewards, { chainId: t.chainId, registry: t.deployment.contracts.JobRegistry }, jobId, members[i]!, toBeHex(i + 1, 32)));
    const coordinator = rewards.connect(t.accounts.coordinator) as Contract;
    const everyone = members.map((_, i) => i);
    await mined(coordinator.getFunction('startRound')(jobId, everyone));
    await closeRoundOnChain(t.accounts.coordinator, t.deployment, jobId.toString(), everyone);
    root = ((await rewards.getFunction('getRound')(jobId, 0n)) as { root: bigint }).root;
    expect(root).toBe(group.root);
    scope = claimScope(t.chainId, t.deployment.contracts.RoundRewards, jobId, 0n);
    // Every second claim pays its relayer a fee, bound into its proof.
    for (let i = 0; i < MEMBERS; i++) {
      const [via, fee] = i % 2 ? [relayer, FEE] : [undefined, 0n];
      const proof = await generateProof(members[i]!, group, claimMessage(recipients[i]!, via, fee), scope, TREE_DEPTH, circuitArtifacts());
      claims.push(toRoundClaim(recipients[i]!, proof, via, fee));
    }
  }, 240_000);

  afterAll(async () => {
    await t?.close();
  });

  it('a valid batch pays every claim with one multi-pairing and no single-proof check', async () => {
    const { verifierCalls: calls, paid, skipped } = await trial(claims);
    expect(paid).toEqual(claims.map((c) => c.nullifier));
    expect(skipped).toEqual([]);
    expect(calls.map((c) => c.input.slice(0, 10))).toEqual([id('verifyEach(uint256[8][],uint256[4][],uint256)').slice(0, 10)]);
    expect(selfCalls(calls[0]!), 'the batch verifier checked no proof on its own').toBe(0);
  });

  it('a forged proof, a proof moved between slots and a changed public input are skipped; the valid claims pay', async () => {
    const batch = [
      claims[0]!,
      await forged(claims[1]!),
      { ...claims[2]!, points: claims[3]!.points },
      { ...claims[3]!, points: claims[2]!.points },
      { ...claims[4]!, recipient: recipients[0]! },
      claims[5]!,
    ];
    const { verifierCalls, paid, skipped } = await trial(batch);
    expect(paid).toEqual([claims[0]!.nullifier, claims[5]!.nullifier]);
    expect(skipped).toEqual([1, 2, 3, 4].map((i) => [batch[i]!.nullifier, invalidProof()]));
    // The failed batch fell back to the official check of each proof in it.
    expect(verifierCalls.length).toBe(1);
    expect(selfCalls(verifierCalls[0]!)).toBe(batch.length);
  });

  it('every claim of a randomly tampered batch is paid exactly when the official verifier accepts its proof', async () => {
    const seed = Number(process.env.TROVE_TEST_SEED ?? Date.now() % 2 ** 31);
    console.log(`batch claim tampering seed: ${seed} (replay with TROVE_TEST_SEED=${seed})`);
    const random = seededRandom(seed);
    const pick = (n: number) => Math.floor(random() * n);
    for (let trialNo = 0; trialNo < 6; trialNo++) {
      const batch: RoundClaim[] = [];
      for (let i = 0; i < MEMBERS; i++) {
        const c = claims[i]!;
        switch (pick(6)) {
          case 0:
            batch.push(await forged(c));
            break;
          case 1:
            batch.push({ ...c, points: claims[(i + 1 + pick(MEMBERS - 1)) % MEMBERS]!.points });
            break;
          case 2:
            batch.push({ ...c, fee: c.fee + 1n, relayer });
            break;
          case 3:
            batch.push({ ...c, recipient: recipients[(i + 1) % MEMBERS]! });
            break;
          default:
            batch.push(c);
        }
      }
      const verdicts = await Promise.all(batch.map(officialVerdict));
      const expected = batch.filter((_, i) => verdicts[i]).map((c) => c.nullifier);
      if (expected.length === 0) continue; // nothing would pay: the whole batch reverts, tested in claims.test.ts
      const { paid, skipped } = await trial(batch);
      expect(paid, `seed ${seed}, trial ${trialNo}`).toEqual(expected);
      expect(skipped.map(([n]) => n), `seed ${seed}, trial ${trialNo}`).toEqual(batch.filter((_, i) => !verdicts[i]).map((c) => c.nullifier));
    }
  });
});
