// Makes the Semaphore v4 proof of an anonymous reward claim. The circuit is loaded once per worker
// and kept: its WebAssembly witness calculator compiled, its proving key parsed, snarkjs's curve
// alive, and the prover's sums for the last witness remembered (groth16-prover.ts). A bare
// generateProof call reads both files, compiles the circuit, parses the key and sums the whole
// witness every time. The circuit inputs are exactly those @semaphore-protocol/proof builds, so the proof
// verifies with the official verifier.
import { readFile } from 'node:fs/promises';
import { Group } from '@semaphore-protocol/group';
import { Identity } from '@semaphore-protocol/identity';
import { packGroth16Proof } from '@semaphore-protocol/proof';
import { WitnessCalculatorBuilder, type WitnessCalculator } from 'circom_runtime';
import { keccak256, toBeHex } from 'ethers';
import { TroveError } from '../../common/errors.js';
import { Groth16Prover } from './groth16-prover.js';
import type { ClaimProof, ProofProgress, WorkerTask } from '../../common/worker-protocol.js';

type ProveClaimTask = Extract<WorkerTask, { kind: 'prove-claim' }>;

interface LoadedCircuit {
  witness: WitnessCalculator;
  prover: Groth16Prover;
}

const circuits = new Map<string, Promise<LoadedCircuit>>();

async function loadCircuit(wasmPath: string, zkeyPath: string): Promise<LoadedCircuit> {
  const [wasm, zkey] = await Promise.all([readFile(wasmPath), readFile(zkeyPath)]);
  return { witness: await WitnessCalculatorBuilder(new Uint8Array(wasm)), prover: await Groth16Prover.load(new Uint8Array(zkey)) };
}

/** The circuit for these files, loaded on first use; `warm` says whether it already was. */
function circuitFor(artifacts: ProveClaimTask['artifacts']): { circuit: Promise<LoadedCircuit>; warm: boolean } {
  const key = `${artifacts.wasm}\n${artifacts.zkey}`;
  const held = circuits.get(key);
  if (held) return { circuit: held, warm: true };
  const circuit = loadCircuit(artifacts.wasm, artifacts.zkey);
  circuits.set(key, circuit);
  // A circuit that failed to load is tried again next time.
  circuit.catch(() => circuits.delete(key));
  return { circuit, warm: false };
}

/** Semaphore's hash of a message or scope into the field (@semaphore-protocol/proof's own). */
function fieldHash(value: bigint): bigint {
  return BigInt(keccak256(toBeHex(value, 32))) >> 8n;
}

function decimal(value: string, what: string): bigint {
  if (!/^[0-9]{1,80}$/.test(value)) throw new TroveError('INVALID_INPUT', `The claim's ${what} is not a decimal number.`);
  return BigInt(value);
}

export async function proveClaim(task: ProveClaimTask, onProgress: (p: ProofProgress) => void): Promise<{ proof: ClaimProof; warm: boolean; durationMs: number }> {
  const started = performance.now();
  if (!Number.isInteger(task.depth) || task.depth < 1 || task.depth > 32) throw new TroveError('INVALID_INPUT', 'The claim names a tree depth outside 1..32.');
  let identity: Identity;
  try {
    identity = Identity.import(task.identity);
  } catch (err) {
    throw new TroveError('INVALID_INPUT', 'The claim carries no usable identity.', undefined, { cause: err });
  }
  const group = new Group(task.group.map((c, i) => decimal(c, `group member ${i}`)));
  const leafIndex = group.indexOf(identity.commitment);
  if (leafIndex < 0) throw new TroveError('INVALID_INPUT', "This identity is not in the round's group: there is nothing to claim.");
  const merkleProof = group.generateMerkleProof(leafIndex);
  const message = decimal(task.message, 'message');
  const scope = decimal(task.scope, 'scope');

  const { circuit, warm } = circuitFor(task.artifacts);
  if (!warm) onProgress({ kind: 'proof', stage: 'loading-circuit' });
  const { witness, prover } = await circuit;

  onProgress({ kind: 'proof', stage: 'witness' });
  const siblings = [...merkleProof.siblings];
  while (siblings.length < task.depth) siblings.push(0n);
  const wtns = await witness.calculateWTNSBin({
    secret: identity.secretScalar,
    merkleProofLength: merkleProof.siblings.length,
    merkleProofIndex: merkleProof.index,
    merkleProofSiblings: siblings,
    scope: fieldHash(scope),
    message: fieldHash(message),
  });

  onProgress({ kind: 'proof', stage: 'proving' });
  const { proof, publicSignals } = await prover.prove(wtns);
  return {
    proof: {
      merkleTreeDepth: task.depth,
      merkleTreeRoot: merkleProof.root.toString(),
      nullifier: String(publicSignals[1]),
      message: message.toString(),
      scope: scope.toString(),
      points: packGroth16Proof(proof).map(String),
    },
    warm,
    durationMs: performance.now() - started,
  };
}
