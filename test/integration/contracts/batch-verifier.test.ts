// The batch verifier on a real local chain with real depth-20 Semaphore v4 proofs (made by the
// build): every valid batch passes, and a forged, moved or altered proof is caught, with each
// proof's verdict equal to the official SemaphoreVerifier's on the same chain.
import { AbiCoder, Contract, JsonRpcProvider, NonceManager, Wallet, isCallException } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadArtifact } from '../../../contracts/artifacts.js';
import { deployContract } from '../../../contracts/deploy.js';
import { loadProofFixtures, type VerifierProof } from '../../../contracts/proof-fixtures.js';
import { ANVIL_KEYS, startAnvil, type LocalChain } from '../../fixtures/anvil.js';
import { seededRandom } from '../../../common/random.js';

const R = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
// Explicit: a starved verifier must never look like a rejecting one (see NotEnoughGas).
const GAS = 30_000_000n;

const copy = (p: VerifierProof): VerifierProof => ({ points: [...p.points], publicInputs: [...p.publicInputs] });

describe('SemaphoreBatchVerifier on a local chain with real proofs', () => {
  let chain: LocalChain;
  let provider: JsonRpcProvider;
  let official: Contract;
  let batch: Contract;
  let proofs: VerifierProof[];
  let depth: number;

  const verifyProofs = (b: VerifierProof[]): Promise<boolean> =>
    batch.getFunction('verifyProofs').staticCall(b.map((p) => p.points), b.map((p) => p.publicInputs), depth, { gasLimit: GAS }) as Promise<boolean>;
  const verifyEach = async (b: VerifierProof[]): Promise<boolean[]> =>
    [...((await batch.getFunction('verifyEach').staticCall(b.map((p) => p.points), b.map((p) => p.publicInputs), depth, { gasLimit: GAS })) as boolean[])];
  const officialVerdict = ({ points: p, publicInputs }: VerifierProof): Promise<boolean> =>
    official.getFunction('verifyProof').staticCall([p[0], p[1]], [[p[2], p[3]], [p[4], p[5]]], [p[6], p[7]], publicInputs, depth, { gasLimit: GAS }) as Promise<boolean>;

  /** C + G through the chain's own ecAdd precompile: a forged proof whose points are all on the curve. */
  async function shiftC(p: VerifierProof): Promise<VerifierProof> {
    const coder = AbiCoder.defaultAbiCoder();
    const out = await provider.call({ to: '0x0000000000000000000000000000000000000006', data: coder.encode(['uint256', 'uint256', 'uint256', 'uint256'], [p.points[6], p.points[7], 1n, 2n]) });
    const [x, y] = coder.decode(['uint256', 'uint256'], out) as unknown as [bigint, bigint];
    const forged = copy(p);
    forged.points[6] = x;
    forged.points[7] = y;
    return forged;
  }

  beforeAll(async () => {
    const fixtures = loadProofFixtures();
    proofs = fixtures.proofs;
    depth = fixtures.merkleTreeDepth;
    chain = await startAnvil();
    provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 });
    const deployer = new NonceManager(new Wallet(ANVIL_KEYS[0], provider));
    const at = async (name: 'SemaphoreVerifier' | 'SemaphoreBatchVerifier') =>
      new Contract(await (await deployContract(deployer, name)).getAddress(), loadArtifact(name).abi as never, provider);
    official = await at('SemaphoreVerifier');
    batch = await at('SemaphoreBatchVerifier');
  });

  afterAll(async () => {
    provider?.destroy();
    await chain?.stop();
  });

  it('uses real proofs that the official verifier accepts', async () => {
    expect(proofs.length).toBeGreaterThanOrEqual(16);
    for (const p of proofs) expect(await officialVerdict(p)).toBe(true);
  });

  it('accepts every valid batch of 1, 4, 16 and 64 proofs', async () => {
    for (const size of [1, 4, 16, 64]) {
      const b = Array.from({ length: size }, (_, i) => proofs[i % proofs.length]!);
      expect(await verifyProofs(b), `batch of ${size}`).toBe(true);
      expect(await verifyEach(b)).toEqual(b.map(() => true));
    }
  });

  it('rejects a batch with one forged proof, and names only that proof', async () => {
    const b = proofs.slice(0, 16);
    b[9] = await shiftC(b[9]!);
    expect(await officialVerdict(b[9]!), 'control: the official verifier rejects the forgery').toBe(false);
    expect(await verifyProofs(b)).toBe(false);
    expect(await verifyEach(b)).toEqual(b.map((_, i) => i !== 9));
  });

  it('rejects a proof moved to another slot', async () => {
    const b = proofs.slice(0, 8).map(copy);
    [b[1]!.points, b[6]!.points] = [b[6]!.points, b[1]!.points];
    expect(await verifyProofs(b)).toBe(false);
    expect(await verifyEach(b)).toEqual(b.map((_, i) => i !== 1 && i !== 6));
    // Control: the same proofs moved together with their public inputs are fine.
    [b[1]!.publicInputs, b[6]!.publicInputs] = [b[6]!.publicInputs, b[1]!.publicInputs];
    expect(await verifyProofs(b)).toBe(true);
  });

  it('rejects a proof whose public input was changed (root, nullifier, message or scope)', async () => {
    for (let j = 0; j < 4; j++) {
      const b = proofs.slice(0, 4).map(copy);
      b[2]!.publicInputs[j] = (b[2]!.publicInputs[j]! + 1n) % R;
      expect(await verifyProofs(b), `input ${j}`).toBe(false);
      expect(await verifyEach(b)).toEqual([true, true, false, true]);
    }
  });

  it('gives every proof of a randomly tampered batch the official verdict', async () => {
    const seed = Number(process.env.TROVE_TEST_SEED ?? Date.now() % 2 ** 31);
    console.log(`batch verifier tampering seed: ${seed} (replay with TROVE_TEST_SEED=${seed})`);
    const random = seededRandom(seed);
    const pick = (n: number) => Math.floor(random() * n);
    for (let round = 0; round < 6; round++) {
      const b = Array.from({ length: 1 + pick(8) }, () => copy(proofs[pick(proofs.length)]!));
      for (const p of b) {
        if (random() < 0.5) continue;
        const other = proofs[pick(proofs.length)]!;
        switch (pick(4)) {
          case 0:
            p.points[pick(8)]! ^= 1n << BigInt(pick(250));
            break;
          case 1:
            p.points[0] = other.points[0]!;
            p.points[1] = other.points[1]!;
            break;
          case 2:
            p.publicInputs[pick(4)] = other.publicInputs[pick(4)]!;
            break;
          default:
            p.publicInputs[pick(4)]! += R;
        }
      }
      const expected = await Promise.all(b.map(officialVerdict));
      expect(await verifyEach(b), `seed ${seed}, round ${round}`).toEqual(expected);
      expect(await verifyProofs(b), `seed ${seed}, round ${round}`).toBe(expected.every(Boolean));
    }
  });

  it('refuses a call with too little gas instead of answering false', async () => {
    const b = proofs.slice(0, 16);
    let refused: string | undefined;
    try {
      await batch.getFunction('verifyProofs').staticCall(b.map((p) => p.points), b.map((p) => p.publicInputs), depth, { gasLimit: 600_000n });
    } catch (err) {
      if (!isCallException(err) || !err.data) throw err;
      refused = batch.interface.parseError(err.data)?.name;
    }
    expect(refused).toBe('NotEnoughGas');
  });
});
