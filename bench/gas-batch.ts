// Gas per proof of SemaphoreBatchVerifier.verifyProofs at batch sizes 1, 4, 16 and 64 against the
// official SemaphoreVerifier.verifyProof (the baseline, measured in the same run), on a local anvil
// chain with the real depth-20 proofs the build makes. Each verification is a mined transaction;
// per-proof gas leaves out the 21,000 every transaction pays once (a claim transaction pays it
// whatever it verifies) and includes the proof's calldata. Prints ratios and where the gas goes.
//
//   npm run bench:gas:batch
//
// The build runs first (compile, circuit, proof fixtures; each skipped when up to date). Batches
// larger than the fixture set repeat its proofs: a precompile's price does not depend on which
// valid point it is given, so only calldata (zero bytes) can differ, by a few gas.
import { Contract, JsonRpcProvider, NonceManager, Wallet, type TransactionReceipt } from 'ethers';
import { loadArtifact } from '../contracts/artifacts.js';
import { buildContracts } from '../contracts/build.js';
import { deployContract } from '../contracts/deploy.js';
import { buildProofFixtures, loadProofFixtures, type VerifierProof } from '../contracts/proof-fixtures.js';
import { ANVIL_KEYS, startAnvil } from '../contracts/anvil.js';

const SIZES = [1, 4, 16, 64];
const TARGET_PER_PROOF = 70_000n;
const INTRINSIC = 21_000n;
// EIP-1108 prices.
const EC_ADD = 150n;
const EC_MUL = 6_000n;
const PAIRING_BASE = 45_000n;
const PAIRING_EACH = 34_000n;

/** EIP-2028 calldata gas: 4 per zero byte, 16 per non-zero byte. */
function calldataGas(data: string): bigint {
  let gas = 0n;
  for (let i = 2; i < data.length; i += 2) gas += data.slice(i, i + 2) === '00' ? 4n : 16n;
  return gas;
}

interface Measured {
  /** gasUsed of the transaction less the intrinsic 21,000. */
  gas: bigint;
  calldata: bigint;
}

async function mined(send: Promise<{ wait(): Promise<TransactionReceipt | null>; data: string }>): Promise<Measured> {
  const tx = await send;
  const receipt = await tx.wait();
  if (!receipt || receipt.status !== 1) throw new Error('verification transaction failed');
  return { gas: receipt.gasUsed - INTRINSIC, calldata: calldataGas(tx.data) };
}

const ratio = (a: bigint, b: bigint) => (Number(a) / Number(b)).toFixed(3);
const pad = (v: string | bigint | number, n: number) => String(v).padStart(n);

async function main(): Promise<void> {
  buildContracts();
  await buildProofFixtures();
  const { proofs, merkleTreeDepth } = loadProofFixtures();
  const chain = await startAnvil();
  const provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 });
  try {
    const sender = new NonceManager(new Wallet(ANVIL_KEYS[0], provider));
    const at = async (name: 'SemaphoreVerifier' | 'SemaphoreBatchVerifier') =>
      new Contract(await (await deployContract(sender, name)).getAddress(), loadArtifact(name).abi as never, sender);
    const official = await at('SemaphoreVerifier');
    const batch = await at('SemaphoreBatchVerifier');
    // Gas limits are explicit: a starved official verifier answers false instead of reverting.
    // The verifiers' functions are views: `.send` mines them as transactions to measure their gas.
    const gasLimit = 15_000_000n;

    // Baseline: the official verifier, one transaction per proof, over every fixture proof.
    let officialTotal = 0n;
    let officialCalldata = 0n;
    for (const { points: p, publicInputs } of proofs) {
      if (!(await official.getFunction('verifyProof').staticCall([p[0], p[1]], [[p[2], p[3]], [p[4], p[5]]], [p[6], p[7]], publicInputs, merkleTreeDepth))) {
        throw new Error('a fixture proof is not valid: rebuild the fixtures');
      }
      const m = await mined(official.getFunction('verifyProof').send([p[0], p[1]], [[p[2], p[3]], [p[4], p[5]]], [p[6], p[7]], publicInputs, merkleTreeDepth, { gasLimit }));
      officialTotal += m.gas;
      officialCalldata += m.calldata;
    }
    const officialPerProof = officialTotal / BigInt(proofs.length);
    const officialCalldataPerProof = officialCalldata / BigInt(proofs.length);

    console.log(`Semaphore v4 depth-${merkleTreeDepth} proofs, gas per proof (transaction gas less the 21000 intrinsic, calldata included)`);
    console.log(`baseline: official SemaphoreVerifier.verifyProof, one proof per transaction: ${officialPerProof} (calldata ${officialCalldataPerProof}), mean of ${proofs.length} proofs\n`);
    console.log(`${'batch'.padStart(5)} ${'per proof'.padStart(10)} ${'official'.padStart(9)} ${'ratio'.padStart(6)} ${'pairings'.padStart(9)} ${'vs 4N'.padStart(6)}`);

    const argsOf = (b: VerifierProof[]) => [b.map((p) => p.points), b.map((p) => p.publicInputs), merkleTreeDepth] as const;
    const batchOf = (n: number): VerifierProof[] => Array.from({ length: n }, (_, i) => proofs[i % proofs.length]!);
    const rows: { n: number; gas: bigint; calldata: bigint; each: bigint }[] = [];
    for (const n of SIZES) {
      const args = argsOf(batchOf(n));
      if (!(await batch.getFunction('verifyProofs').staticCall(...args, { gasLimit }))) throw new Error(`the batch of ${n} was not accepted`);
      const m = await mined(batch.getFunction('verifyProofs').send(...args, { gasLimit }));
      const each = await mined(batch.getFunction('verifyEach').send(...args, { gasLimit }));
      rows.push({ n, gas: m.gas, calldata: m.calldata, each: each.gas });
      const perProof = m.gas / BigInt(n);
      console.log(`${pad(n, 5)} ${pad(perProof, 10)} ${pad(officialPerProof, 9)} ${pad(ratio(perProof, officialPerProof), 6)} ${pad(n + 3, 9)} ${pad(4 * n, 6)}`);
    }
    console.log('\nverifyEach (per-proof verdicts), all valid, per proof:');
    for (const { n, gas, each } of rows) console.log(`${pad(n, 5)} ${pad(each / BigInt(n), 10)}  (+${(each - gas) / BigInt(n)} over verifyProofs)`);
    const withBad = batchOf(16);
    withBad[7] = { points: [...withBad[7]!.points], publicInputs: [...withBad[7]!.publicInputs] };
    withBad[7].publicInputs[1]! += 1n;
    const bad = await mined(batch.getFunction('verifyEach').send(...argsOf(withBad), { gasLimit }));
    console.log(`  16 with one invalid proof: ${bad.gas} in all (${ratio(bad.gas, officialPerProof * 16n)} of 16 official checks)`);

    // Where the gas goes: precompile prices are fixed (EIP-1108), calldata is counted from the
    // transaction; the rest is hashing the batch for its weights, copying, the key table and dispatch.
    console.log('\nbreakdown per proof:');
    console.log(`${'batch'.padStart(5)} ${'pairing'.padStart(8)} ${'MSM'.padStart(7)} ${'calldata'.padStart(9)} ${'rest'.padStart(7)} ${'total'.padStart(7)}`);
    const breakdown = (n: number, gas: bigint, calldata: bigint, pairings: bigint, muls: bigint, adds: bigint) => {
      const N = BigInt(n);
      const pairing = PAIRING_BASE + PAIRING_EACH * pairings;
      const msm = EC_MUL * muls + EC_ADD * adds;
      const rest = gas - pairing - msm - calldata;
      console.log(`${pad(n, 5)} ${pad(pairing / N, 8)} ${pad(msm / N, 7)} ${pad(calldata / N, 9)} ${pad(rest / N, 7)} ${pad(gas / N, 7)}`);
    };
    // The official verifier: 4 pairings, 4 ecMul + 4 ecAdd for the public inputs.
    process.stdout.write('  official, one proof:\n');
    breakdown(1, officialPerProof, officialCalldataPerProof, 4n, 4n, 4n);
    process.stdout.write('  batch:\n');
    for (const { n, gas, calldata } of rows) {
      const N = BigInt(n);
      // Proof 0 has weight 1 (one ecAdd for its C); every other proof: two ecMul, one ecAdd; then
      // sum(w) alpha and the five input points IC_0..IC_4 (six ecMul, four ecAdd).
      breakdown(n, gas, calldata, N + 3n, 2n * (N - 1n) + 6n, N + 4n);
    }

    const at16 = rows.find((r) => r.n === 16)!;
    const per16 = at16.gas / 16n;
    console.log(`\ntarget <= ${TARGET_PER_PROOF} gas per proof at batch 16: ${per16} (${per16 <= TARGET_PER_PROOF ? 'met' : 'missed'}), ${ratio(per16, officialPerProof)} of the official verifier's`);
  } finally {
    provider.destroy();
    await chain.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
