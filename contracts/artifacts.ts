// Compiled contract artifacts (written by contracts/build.ts into contracts/out/artifacts, never
// committed) and the small amount of linking the Semaphore baseline needs.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TroveError } from '../common/errors.js';

export const CONTRACTS_DIR = dirname(fileURLToPath(import.meta.url));
export const ARTIFACTS_DIR = join(CONTRACTS_DIR, 'out', 'artifacts');
export const CIRCUITS_DIR = join(CONTRACTS_DIR, '..', 'assets', 'circuits');

/** Merkle tree depth of every Semaphore group on this deployment (and of the circuit used). */
export const TREE_DEPTH = 20;
/** Depth of an enrollment proof's group of one (RoundRewards.ENROLLMENT_DEPTH). */
export const ENROLLMENT_DEPTH = 1;

export interface LinkReference {
  start: number;
  length: number;
}

export interface ContractArtifact {
  contractName: string;
  sourceName: string;
  abi: unknown[];
  /** Creation bytecode, 0x-prefixed; may contain library placeholders (see linkReferences). */
  bytecode: string;
  linkReferences: Record<string, Record<string, LinkReference[]>>;
}

export type ContractName =
  | 'TroveToken'
  | 'JobRegistry'
  | 'RoundRewards'
  | 'ReceiptChallenges'
  | 'SemaphoreVerifier'
  | 'SemaphoreBatchVerifier'
  | 'Semaphore'
  | 'PoseidonT3'
  | 'MerkleAirdrop'
  | 'TestToken'
  | 'HostileToken';

export function loadArtifact(name: ContractName): ContractArtifact {
  const file = join(ARTIFACTS_DIR, `${name}.json`);
  if (!existsSync(file)) {
    throw new TroveError('INVALID_INPUT', `Contract artifact ${name} is missing: run \`npm run build:contracts\` first.`, { file });
  }
  return JSON.parse(readFileSync(file, 'utf8')) as ContractArtifact;
}

/** Replaces library placeholders in creation bytecode with deployed library addresses. */
export function linkBytecode(artifact: ContractArtifact, libraries: Record<string, string>): string {
  let code = artifact.bytecode.replace(/^0x/, '');
  for (const [sourceName, byLibrary] of Object.entries(artifact.linkReferences)) {
    for (const [library, refs] of Object.entries(byLibrary)) {
      const address = libraries[library];
      if (!address) {
        throw new TroveError('INVALID_INPUT', `Library ${library} (${sourceName}) must be deployed and linked first.`);
      }
      const hex = address.toLowerCase().replace(/^0x/, '');
      for (const ref of refs) {
        code = code.slice(0, ref.start * 2) + hex + code.slice((ref.start + ref.length) * 2);
      }
    }
  }
  return `0x${code}`;
}

/** The Semaphore circuit of `depth` copied from @zk-kit/semaphore-artifacts at build time (claims: depth 20). */
export function circuitArtifacts(depth: number = TREE_DEPTH): { wasm: string; zkey: string } {
  const wasm = join(CIRCUITS_DIR, `semaphore-${depth}.wasm`);
  const zkey = join(CIRCUITS_DIR, `semaphore-${depth}.zkey`);
  if (!existsSync(wasm) || !existsSync(zkey)) {
    throw new TroveError('INVALID_INPUT', 'Semaphore circuit artifacts are missing: run `npm run build:contracts` first.', { wasm, zkey });
  }
  return { wasm, zkey };
}
