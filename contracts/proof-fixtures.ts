// Real depth-20 Semaphore v4 proofs for the batch verifier's tests and benchmark, made by the
// build (never committed) into contracts/out/fixtures: one claim-shaped proof per member of a
// group (same scope, one recipient each). Made once; a proof takes seconds, so they are cached.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Group } from '@semaphore-protocol/group';
import { Identity } from '@semaphore-protocol/identity';
import { generateProof } from '@semaphore-protocol/proof';
import { AbiCoder, getAddress, keccak256, toBeHex } from 'ethers';
import { TroveError } from '../common/errors.js';
import { CONTRACTS_DIR, TREE_DEPTH, circuitArtifacts } from './artifacts.js';

export const FIXTURES_DIR = join(CONTRACTS_DIR, 'out', 'fixtures');
/** Distinct proofs made; larger batches in the benchmark repeat them (gas does not depend on which valid proof). */
export const FIXTURE_PROOFS = 16;
const FORMAT = 2;

/** One proof as the verifiers take it. */
export interface VerifierProof {
  /** [A.x, A.y, B.x1, B.x0, B.y1, B.y0, C.x, C.y], as @semaphore-protocol/proof packs it. */
  points: bigint[];
  /** [merkleTreeRoot, nullifier, hash(message), hash(scope)]. */
  publicInputs: bigint[];
}

export interface ProofFixtures {
  format: number;
  merkleTreeDepth: number;
  /** sha256 of the circuit's proving key the proofs were made with. */
  zkeySha256: string;
  proofs: VerifierProof[];
}

const jsonFile = () => join(FIXTURES_DIR, `semaphore-proofs-${TREE_DEPTH}.json`);
/** abi.encode(uint256[8][] points, uint256[4][] publicInputs) as 0x-hex, for forge's vm.readFile. */
const abiFile = () => join(FIXTURES_DIR, `semaphore-proofs-${TREE_DEPTH}.abi`);

/** The field hash Semaphore applies to message and scope: keccak256 of the 32-byte word, shifted right by 8. */
export function semaphoreHash(value: bigint): bigint {
  return BigInt(keccak256(toBeHex(value, 32))) >> 8n;
}

export function loadProofFixtures(): ProofFixtures {
  if (!existsSync(jsonFile())) {
    throw new TroveError('INVALID_INPUT', 'Proof fixtures are missing: run `npm run build:contracts` first.', { file: jsonFile() });
  }
  const raw = JSON.parse(readFileSync(jsonFile(), 'utf8')) as { format: number; merkleTreeDepth: number; zkeySha256: string; proofs: { points: string[]; publicInputs: string[] }[] };
  return {
    format: raw.format,
    merkleTreeDepth: raw.merkleTreeDepth,
    zkeySha256: raw.zkeySha256,
    proofs: raw.proofs.map((p) => ({ points: p.points.map(BigInt), publicInputs: p.publicInputs.map(BigInt) })),
  };
}

const zkeySha256 = () => createHash('sha256').update(readFileSync(circuitArtifacts().zkey)).digest('hex');

/** Made again when the circuit (a new artifacts package) or this format changes. */
function upToDate(): boolean {
  if (!existsSync(jsonFile()) || !existsSync(abiFile())) return false;
  try {
    const f = loadProofFixtures();
    return f.format === FORMAT && f.merkleTreeDepth === TREE_DEPTH && f.proofs.length === FIXTURE_PROOFS && f.zkeySha256 === zkeySha256();
  } catch {
    return false;
  }
}

export async function buildProofFixtures(log: (line: string) => void = console.log): Promise<void> {
  if (upToDate()) {
    log('proof fixtures: up to date');
    return;
  }
  const started = Date.now();
  const members = Array.from({ length: FIXTURE_PROOFS }, (_, i) => new Identity(`trove-batch-fixture-${i}`));
  const group = new Group(members.map((m) => m.commitment));
  const scope = BigInt(keccak256(AbiCoder.defaultAbiCoder().encode(['string'], ['trove-batch-fixture-round'])));
  const proofs: VerifierProof[] = [];
  try {
    for (const [i, member] of members.entries()) {
      const recipient = BigInt(getAddress(toBeHex(0x7e0000n + BigInt(i), 20)));
      const proof = await generateProof(member, group, recipient, scope, TREE_DEPTH, circuitArtifacts());
      proofs.push({
        points: proof.points.map(BigInt),
        publicInputs: [BigInt(proof.merkleTreeRoot), BigInt(proof.nullifier), semaphoreHash(recipient), semaphoreHash(scope)],
      });
    }
  } finally {
    // snarkjs keeps a worker pool alive otherwise, and the build would never exit.
    await (globalThis as unknown as { curve_bn128?: { terminate(): Promise<void> } | null }).curve_bn128?.terminate();
  }
  mkdirSync(FIXTURES_DIR, { recursive: true });
  const fixtures = { format: FORMAT, merkleTreeDepth: TREE_DEPTH, zkeySha256: zkeySha256(), proofs: proofs.map((p) => ({ points: p.points.map(String), publicInputs: p.publicInputs.map(String) })) };
  const encoded = AbiCoder.defaultAbiCoder().encode(
    ['uint256[8][]', 'uint256[4][]'],
    [proofs.map((p) => p.points), proofs.map((p) => p.publicInputs)],
  );
  writeFileSync(abiFile(), encoded);
  // The JSON is written last: it is what says the fixtures are complete.
  writeFileSync(jsonFile(), JSON.stringify(fixtures, null, 1));
  log(`proof fixtures: ${FIXTURE_PROOFS} depth-${TREE_DEPTH} proofs in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
