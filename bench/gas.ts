// Gas of the on-chain reward path against two baselines measured in the same run, on a local
// anvil chain with real depth-20 Semaphore v4 proofs:
//   - a plain (non-anonymous) Merkle airdrop claim with OpenZeppelin MerkleProof;
//   - Semaphore's own Semaphore.validateProof.
// Prints publish, enroll, start and close, then claims at batch sizes 1, 4, 16 and 64 for new
// recipients and for recipients that already hold a credit (each batch sent from the same chain
// snapshot), a claim plus its withdrawal next to a Merkle airdrop claim, where a claim's gas goes,
// and a receipt challenge of a close that left one of 64 out.
//
//   npm run bench:gas          (builds the contracts first; skipped when up to date)
//
// Proof generation dominates the run (~1.6 s per proof, 65 proofs). Set
// TROVE_BENCH_PROOF_CACHE=<dir> to keep proofs between runs: the chain and its addresses are the
// same on every run, so cached proofs stay valid.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Group } from '@semaphore-protocol/group';
import { Identity } from '@semaphore-protocol/identity';
import { generateProof } from '@semaphore-protocol/proof';
import { AbiCoder, Wallet, id, keccak256, toBeHex, type Contract, type ContractTransactionResponse, type TransactionReceipt } from 'ethers';
import { TREE_DEPTH, circuitArtifacts, linkBytecode, loadArtifact } from '../contracts/artifacts.js';
import { claimMessage, claimScope, toRoundClaim, type RoundClaim, type SemaphoreClaimProof } from '../common/jobs/claims.js';
import { buildContracts } from '../contracts/build.js';
import { deployContract } from '../contracts/deploy.js';
import { startTroveChain, type TroveChain } from '../test/fixtures/trove-chain.js';
import { enrollWithProof } from '../test/fixtures/enrollment-proof.js';
import { challengeMessage, challengeScope, maskedInputHash, receiptDomain, signMaskedInputReceipt } from '../common/jobs/masked-input-receipt.js';

const SIZES = [1, 4, 16, 64];
const MEMBERS = 64;
const TARGET = 120_000n;
const TARGET_BATCH = 16;
const INTRINSIC = 21_000n;
// EIP-2929/2200 storage prices: a cold slot written from zero, and a cold non-zero slot rewritten.
const FRESH_SLOT = 22_100n;
const DIRTY_SLOT = 5_000n;

interface CallFrame {
  to: string;
  gasUsed: string;
  calls?: CallFrame[];
}

async function gasOf(tx: Promise<ContractTransactionResponse>): Promise<{ gas: bigint; receipt: TransactionReceipt; data: string }> {
  const sent = await tx;
  const receipt = await sent.wait();
  if (!receipt || receipt.status !== 1) throw new Error('transaction failed');
  return { gas: receipt.gasUsed, receipt, data: sent.data };
}

let proofsMade = 0;

async function cachedClaim(key: string, generate: () => Promise<RoundClaim>): Promise<RoundClaim> {
  const make = () => generate().then((c) => (++proofsMade, c));
  const dir = process.env.TROVE_BENCH_PROOF_CACHE;
  if (!dir) return make();
  const file = join(dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.json`);
  if (existsSync(file)) {
    const c = JSON.parse(readFileSync(file, 'utf8')) as { recipient: string; relayer: string; fee: string; nullifier: string; points: string[] };
    return { recipient: c.recipient, relayer: c.relayer, fee: BigInt(c.fee), nullifier: BigInt(c.nullifier), points: c.points.map(BigInt) };
  }
  const claim = await make();
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, JSON.stringify({ recipient: claim.recipient, relayer: claim.relayer, fee: claim.fee.toString(), nullifier: claim.nullifier.toString(), points: claim.points.map(String) }));
  return claim;
}

/** EIP-2028 calldata gas: 4 per zero byte, 16 per non-zero byte. */
function calldataGas(data: string): bigint {
  let gas = 0n;
  for (let i = 2; i < data.length; i += 2) gas += data.slice(i, i + 2) === '00' ? 4n : 16n;
  return gas;
}

/** OpenZeppelin-compatible Merkle tree (sorted-pair keccak) over a power-of-two number of leaves. */
function merkleTree(leaves: string[]): { root: string; proof(i: number): string[] } {
  const layers: string[][] = [leaves];
  while (layers[layers.length - 1]!.length > 1) {
    const prev = layers[layers.length - 1]!;
    const next: string[] = [];
    for (let i = 0; i < prev.length; i += 2) {
      const [a, b] = [prev[i]!, prev[i + 1]!].sort();
      next.push(keccak256(`0x${a!.slice(2)}${b!.slice(2)}`));
    }
    layers.push(next);
  }
  return {
    root: layers[layers.length - 1]![0]!,
    proof: (i) => layers.slice(0, -1).map((layer, level) => layer[(i >> level) ^ 1]!),
  };
}

async function main(): Promise<void> {
  buildContracts();
  const t: TroveChain = await startTroveChain();
  try {
    const { researcher, coordinator, relayer, deployer } = t.accounts;
    const usd = await t.deploy('TestToken', ['Test Dollar', 'TUSD']);
    const registry = t.at('JobRegistry', t.deployment.contracts.JobRegistry, researcher);
    const rewards = t.at('RoundRewards', t.deployment.contracts.RoundRewards, relayer);
    const rewardsAddress = t.deployment.contracts.RoundRewards;
    const usdAddress = await usd.getAddress();

    const members = Array.from({ length: MEMBERS }, (_, i) => new Identity(`trove-bench-${i}`));
    const group = new Group(members.map((m) => m.commitment));
    const recipientWallets = Array.from({ length: MEMBERS }, (_, i) => new Wallet(id(`trove-bench-recipient-${i}`), t.provider));
    const recipients = recipientWallets.map((w) => w.address);
    const reward = 1_000_000n * 10n ** 6n;

    // ---- publish (approve is the researcher's separate, ordinary ERC-20 transaction)
    await (await usd.connect(researcher).getFunction('mint')(await researcher.getAddress(), reward * 2n)).wait();
    await (await usd.connect(researcher).getFunction('approve')(await registry.getAddress(), reward * 2n)).wait();
    const now = BigInt((await t.provider.getBlock('latest'))!.timestamp);
    const publish = await gasOf(
      registry.getFunction('publish')({
        specHash: `0x${'ab'.repeat(32)}`,
        specURI: 'ipfs://bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi',
        coordinator: await coordinator.getAddress(),
        rewardToken: usdAddress,
        rewardPerRound: reward / 2n,
        rounds: 2,
        minContributors: 3,
        deadline: now + 30n * 86_400n,
        bondAmount: 10n * 10n ** 6n,
      }),
    );
    const jobId = 1n;

    // ---- enroll every member through one relayer that pays their bonds (the first one is measured)
    const bonder = t.accounts.alice;
    const bondAmount = 10n * 10n ** 6n;
    await (await usd.connect(bonder).getFunction('mint')(await bonder.getAddress(), bondAmount * BigInt(MEMBERS))).wait();
    await (await usd.connect(bonder).getFunction('approve')(rewardsAddress, bondAmount * BigInt(MEMBERS))).wait();
    const bonderAddress = await bonder.getAddress();
    const enrollOne = (i: number) => enrollWithProof(rewards.connect(bonder) as Contract, { chainId: t.chainId, registry: t.deployment.contracts.JobRegistry }, jobId, members[i]!, toBeHex(i + 1, 32), bonderAddress);
    const bond = await gasOf(enrollOne(0));
    for (let i = 1; i < MEMBERS; i++) await (await enrollOne(i)).wait();
    const everyone = members.map((_, i) => i);

    // ---- start (roster of every member frozen) and close (group root built on-chain; first top-up releases emissions)
    const start = await gasOf(rewards.connect(coordinator).getFunction('startRound')(jobId, everyone));
    const close = await gasOf(rewards.connect(coordinator).getFunction('closeRound')(jobId, everyone));

    // ---- proofs: one claim per member, each to a recipient of its own
    const started = Date.now();
    const scope = claimScope(t.chainId, rewardsAddress, jobId, 0n);
    const claims: RoundClaim[] = [];
    for (let i = 0; i < MEMBERS; i++) {
      const recipient = recipients[i]!;
      claims.push(await cachedClaim(`${scope}-${i}-${recipient}`, () => generateProof(members[i]!, group, claimMessage(recipient), scope, TREE_DEPTH, circuitArtifacts()).then((p: SemaphoreClaimProof) => toRoundClaim(recipient, p))));
    }
    const proofTiming = proofsMade > 0 ? `${((Date.now() - started) / 1000 / proofsMade).toFixed(2)} s per proof (mean, this run)` : 'proofs from the cache';

    // Every batch is sent from the same snapshot of the closed round, so each size pays for the same
    // work; `credited` first gives each recipient a credit in the reward token, as a recipient that
    // claimed an earlier round holds.
    const creditsSlot = await findCreditsSlot(t, rewards, claims[0]!, usdAddress);
    const creditSlotOf = (account: string) => keccak256(AbiCoder.defaultAbiCoder().encode(['address', 'bytes32'], [usdAddress, keccak256(AbiCoder.defaultAbiCoder().encode(['address', 'uint256'], [account, creditsSlot]))]));
    interface BatchGas {
      gas: bigint;
      calldata: bigint;
      verifier: bigint;
    }
    async function sendBatch(batch: RoundClaim[], credited: boolean, after?: () => Promise<bigint>): Promise<BatchGas & { after?: bigint }> {
      const snapshot = (await t.provider.send('evm_snapshot', [])) as string;
      try {
        if (credited) for (const c of batch) await t.provider.send('anvil_setStorageAt', [rewardsAddress, creditSlotOf(c.recipient), toBeHex(1n, 32)]);
        const sent = await gasOf(rewards.getFunction('claim')(jobId, 0n, batch, { gasLimit: 30_000_000n }));
        const trace = (await t.provider.send('debug_traceTransaction', [sent.receipt.hash, { tracer: 'callTracer' }])) as CallFrame;
        const verifierCalls = (trace.calls ?? []).filter((c) => c.to.toLowerCase() === t.deployment.contracts.SemaphoreVerifier.toLowerCase());
        if (verifierCalls.length !== 1) throw new Error(`expected one verifier call, traced ${verifierCalls.length}`);
        return { gas: sent.gas, calldata: calldataGas(sent.data), verifier: BigInt(verifierCalls[0]!.gasUsed), after: after ? await after() : undefined };
      } finally {
        await t.provider.send('evm_revert', [snapshot]);
        relayer.reset();
      }
    }
    const measured = new Map<string, BatchGas>();
    for (const size of SIZES) {
      for (const credited of [false, true]) measured.set(`${size}/${credited}`, await sendBatch(claims.slice(0, size), credited));
    }
    // A claim in its own transaction and then its recipient's withdrawal (reward and TROVE top-up),
    // the like-for-like of an airdrop claim that transfers the tokens.
    const recipient0 = recipientWallets[0]!;
    await t.provider.send('anvil_setBalance', [recipient0.address, toBeHex(10n ** 18n)]);
    const withdrawAfter = async () => (await gasOf((rewards.connect(recipient0) as Contract).getFunction('withdraw')(usdAddress))).gas;
    const withdraw = (await sendBatch(claims.slice(0, 1), false, withdrawAfter)).after!;

    // ---- a receipt challenge: round 1 closes with the last member left out although the coordinator
    // acknowledged its masked input; the member's identity names the recipient with a depth-1 proof.
    await (await rewards.connect(coordinator).getFunction('startRound')(jobId, everyone)).wait();
    const omitted = MEMBERS - 1;
    const included = everyone.slice(0, omitted);
    await (await rewards.connect(coordinator).getFunction('closeRound')(jobId, included)).wait();
    const rosterHash = ((await rewards.getFunction('rosterOf')(jobId, 1n)) as { hash: string }).hash;
    const signed = await signMaskedInputReceipt(coordinator, receiptDomain(t.chainId, t.deployment.contracts.ReceiptChallenges), {
      jobId,
      round: 1n,
      rosterHash,
      commitment: members[omitted]!.commitment,
      maskedInputHash: maskedInputHash(new TextEncoder().encode('the masked input of the member left out')),
    });
    const payee = recipients[omitted]!;
    const claimant = await generateProof(members[omitted]!, new Group([members[omitted]!.commitment]), challengeMessage(payee), challengeScope(t.chainId, t.deployment.contracts.ReceiptChallenges, jobId, 1n), 1, circuitArtifacts(1));
    const challenges = t.at('ReceiptChallenges', t.deployment.contracts.ReceiptChallenges, relayer);
    const { signature, ...receipt } = signed;
    const challenge = await gasOf(
      challenges.getFunction('challenge')(jobId, 1n, {
        receipt: { ...receipt, jobId, round: 1n, commitment: BigInt(receipt.commitment) },
        signature,
        position: omitted,
        included,
        recipient: payee,
        proof: { nullifier: BigInt(claimant.nullifier), points: claimant.points.map(BigInt) },
      }, { gasLimit: 2_000_000n }),
    );

    // ---- baseline 1: Merkle airdrop (OpenZeppelin MerkleProof), 16 recipients
    const coder = AbiCoder.defaultAbiCoder();
    const amount = 1_000n * 10n ** 6n;
    const leaves = recipients.slice(0, 16).map((r, i) => keccak256(keccak256(coder.encode(['uint256', 'address', 'uint256'], [i, r, amount]))));
    const tree = merkleTree(leaves);
    const airdrop = await t.deploy('MerkleAirdrop', [usdAddress, tree.root]);
    await (await usd.connect(deployer).getFunction('mint')(await airdrop.getAddress(), amount * 16n)).wait();
    const merkle = await gasOf((airdrop.connect(relayer) as Contract).getFunction('claim')(3, recipients[3], amount, tree.proof(3)));

    // ---- baseline 2: Semaphore.validateProof on the official Semaphore contract
    const poseidon = await deployContract(deployer, 'PoseidonT3');
    const semaphoreCode = linkBytecode(loadArtifact('Semaphore'), { PoseidonT3: await poseidon.getAddress() });
    const semaphoreDeployed = await deployContract(deployer, 'Semaphore', [t.deployment.contracts.SemaphoreVerifier], semaphoreCode);
    const semaphore = t.at('Semaphore', await semaphoreDeployed.getAddress(), deployer);
    await (await semaphore.getFunction('createGroup()')()).wait();
    await (await semaphore.getFunction('addMembers')(0n, members.map((m) => m.commitment))).wait();
    const sp = await generateProof(members[15]!, group, 42n, 7n, TREE_DEPTH, circuitArtifacts());
    const validate = await gasOf(
      (semaphore.connect(relayer) as Contract).getFunction('validateProof')(
        0n,
        { merkleTreeDepth: sp.merkleTreeDepth, merkleTreeRoot: sp.merkleTreeRoot, nullifier: sp.nullifier, message: sp.message, scope: sp.scope, points: sp.points },
        { gasLimit: 1_000_000n },
      ),
    );

    // ---- report
    const at = (size: number, credited: boolean) => measured.get(`${size}/${credited}`)!;
    const single = at(1, false).gas;
    const rows: [string, bigint][] = [
      ['publish job (escrow + stake, 2 rounds)', publish.gas],
      ['enroll (identity proof verified, bond pulled from its owner)', bond.gas],
      [`start round (roster of ${MEMBERS} frozen)`, start.gas],
      [`close round (LeanIMT root of ${MEMBERS} built on-chain, emissions released)`, close.gas],
      ['withdraw credits (reward + TROVE top-up, one recipient)', withdraw],
      [`receipt challenge (1 of ${MEMBERS} left out; receipt, posted list, depth-1 proof, stake paid)`, challenge.gas],
      ['baseline: Merkle airdrop claim (OZ MerkleProof, 16 leaves)', merkle.gas],
      ['baseline: Semaphore.validateProof', validate.gas],
    ];
    const width = Math.max(...rows.map(([name]) => name.length));
    console.log(`\ngas on anvil, Semaphore depth ${TREE_DEPTH}, ${proofTiming}\n`);
    for (const [name, gas] of rows) console.log(`${name.padEnd(width)}  ${gas.toString().padStart(9)}`);

    const ratio = (a: bigint, b: bigint) => (Number(a) / Number(b)).toFixed(2);
    console.log('\nlike for like: an anonymous claim and its withdrawal against an airdrop claim that transfers');
    console.log(`  claim alone + withdraw            ${(single + withdraw).toString().padStart(8)}  ${ratio(single + withdraw, merkle.gas)} x Merkle airdrop claim (${merkle.gas})`);
    const per16 = at(16, false).gas / 16n;
    console.log(`  claim in a batch of 16 + withdraw ${(per16 + withdraw).toString().padStart(8)}  ${ratio(per16 + withdraw, merkle.gas)} x Merkle airdrop claim`);
    console.log(`  (a recipient withdraws once for any number of rounds: one withdrawal over 10 rounds adds ${withdraw / 10n} per claim)`);

    console.log('\nper claim by batch size (transaction gas / claims; a single claim uses the official verifier, a batch one multi-pairing)');
    console.log(`  ${'batch'.padStart(5)}  ${'new recipients'.padStart(14)}  ${'credited'.padStart(9)}  ${'verifier'.padStart(9)}  ${'calldata'.padStart(9)}  ${'vs validateProof'.padStart(16)}`);
    for (const size of SIZES) {
      const n = BigInt(size);
      const fresh = at(size, false);
      const credited = at(size, true);
      console.log(
        `  ${String(size).padStart(5)}  ${(fresh.gas / n).toString().padStart(14)}  ${(credited.gas / n).toString().padStart(9)}  ${(fresh.verifier / n).toString().padStart(9)}  ${(fresh.calldata / n).toString().padStart(9)}  ${ratio(fresh.gas / n, validate.gas).padStart(16)}`,
      );
    }
    const target = at(TARGET_BATCH, false).gas / BigInt(TARGET_BATCH);
    console.log(`  target <= ${TARGET} per claim at batch ${TARGET_BATCH} with new recipients: ${target} (${target <= TARGET ? 'met' : 'missed'})`);

    // Where a claim's gas goes at batch 16. Storage costs are the EIP-2929/2200 constants; the
    // verifier call is traced; the rest is the claim's own work: the round read and counted once
    // per transaction, the checks, the message hashes, building the verifier's input, the event.
    const b = at(TARGET_BATCH, false);
    const n = BigInt(TARGET_BATCH);
    const parts: [string, bigint][] = [
      [`intrinsic ${INTRINSIC} / ${TARGET_BATCH}`, INTRINSIC / n],
      ['calldata (proof points, nullifier, recipient, relayer, fee)', b.calldata / n],
      ['SemaphoreBatchVerifier.verifyEach call (traced)', b.verifier / n],
      ['nullifier slot (cold, zero -> non-zero)', FRESH_SLOT],
      ['credit slot, reward + TROVE top-up packed (cold, zero -> non-zero)', FRESH_SLOT],
    ];
    const rest = b.gas / n - parts.reduce((sum, [, gas]) => sum + gas, 0n);
    parts.push(['everything else (checks, message hash, verifier input, round, event)', rest]);
    console.log(`\nper claim in a batch of ${TARGET_BATCH}, new recipients, ${b.gas / n} gas:`);
    for (const [name, gas] of parts) console.log(`  ${name.padEnd(70)} ${gas.toString().padStart(7)}`);
    console.log(`  a recipient that already holds a credit pays ${DIRTY_SLOT} for its slot instead of ${FRESH_SLOT}`);
  } finally {
    await t.close();
    // snarkjs keeps a pool of curve worker threads alive; without this the process never exits.
    await (globalThis as unknown as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate();
  }
}

/**
 * The storage index of RoundRewards' credits mapping, found rather than assumed: a claim (in a
 * snapshot) credits its recipient, and the index whose mapping slot then holds a value is it.
 */
async function findCreditsSlot(t: TroveChain, rewards: Contract, claim: RoundClaim, token: string): Promise<bigint> {
  const coder = AbiCoder.defaultAbiCoder();
  const snapshot = (await t.provider.send('evm_snapshot', [])) as string;
  try {
    await gasOf(rewards.getFunction('claim')(1n, 0n, [claim], { gasLimit: 1_000_000n }));
    for (let index = 0n; index < 32n; index++) {
      const slot = keccak256(coder.encode(['address', 'bytes32'], [token, keccak256(coder.encode(['address', 'uint256'], [claim.recipient, index]))]));
      if (BigInt(await t.provider.getStorage(await rewards.getAddress(), slot)) !== 0n) return index;
    }
    throw new Error('the credits mapping was not found in the first 32 storage slots');
  } finally {
    await t.provider.send('evm_revert', [snapshot]);
    t.accounts.relayer.reset();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
