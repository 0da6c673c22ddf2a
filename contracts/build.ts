// Compiles the contracts with solc-js (offline, standard JSON) into contracts/out/artifacts and
// copies the one Semaphore circuit this deployment uses into assets/circuits; then makes the real
// proofs the batch verifier is tested with (proof-fixtures.ts). All outputs are generated, never
// committed. Skips the compile when sources and settings are unchanged.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildProofFixtures } from './proof-fixtures.js';
import { ARTIFACTS_DIR, CIRCUITS_DIR, CONTRACTS_DIR, ENROLLMENT_DEPTH, TREE_DEPTH, type ContractArtifact, type ContractName } from './artifacts.js';

const require = createRequire(import.meta.url);
const ROOT = resolve(CONTRACTS_DIR, '..');
const NODE_MODULES = join(ROOT, 'node_modules');

/** Sources compiled besides contracts/src: the official verifier, the Semaphore baseline and test tokens. */
const EXTRA_SOURCES = [
  'contracts/bench/MerkleAirdrop.sol',
  'contracts/test/mocks/TestToken.sol',
  'contracts/test/mocks/HostileToken.sol',
  '@semaphore-protocol/contracts/base/SemaphoreVerifier.sol',
  '@semaphore-protocol/contracts/Semaphore.sol',
  'poseidon-solidity/PoseidonT3.sol',
];

const WANTED: ContractName[] = [
  'TroveToken',
  'JobRegistry',
  'RoundRewards',
  'ReceiptChallenges',
  'SemaphoreVerifier',
  'SemaphoreBatchVerifier',
  'Semaphore',
  'PoseidonT3',
  'MerkleAirdrop',
  'TestToken',
  'HostileToken',
];

const SETTINGS = {
  optimizer: { enabled: true, runs: 10_000 },
  evmVersion: 'prague',
  outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.bytecode.linkReferences'] } },
};

interface SolcOutput {
  errors?: { severity: string; formattedMessage: string }[];
  contracts: Record<string, Record<string, { abi: unknown[]; evm: { bytecode: { object: string; linkReferences: ContractArtifact['linkReferences'] } } }>>;
}

function readSource(unit: string): string {
  const local = join(ROOT, unit);
  if (existsSync(local)) return readFileSync(local, 'utf8');
  return readFileSync(join(NODE_MODULES, unit), 'utf8');
}

function collectSources(): Record<string, { content: string }> {
  const units = readdirSync(join(CONTRACTS_DIR, 'src'))
    .filter((f) => f.endsWith('.sol'))
    .map((f) => `contracts/src/${f}`)
    .concat(EXTRA_SOURCES);
  const sources: Record<string, { content: string }> = {};
  for (const unit of units) sources[unit] = { content: readSource(unit) };
  return sources;
}

function findImports(path: string): { contents: string } | { error: string } {
  try {
    return { contents: readSource(path) };
  } catch {
    return { error: `not found: ${path}` };
  }
}

interface Solc {
  version(): string;
  compile(input: string, callbacks: { import: typeof findImports }): string;
}

export function buildContracts(log: (line: string) => void = console.log): void {
  const solcVersion = (JSON.parse(readFileSync(require.resolve('solc/package.json'), 'utf8')) as { version: string }).version;
  const sources = collectSources();
  const hash = createHash('sha256')
    .update(solcVersion)
    .update(JSON.stringify(SETTINGS))
    .update(JSON.stringify(sources))
    .digest('hex');
  const stamp = join(ARTIFACTS_DIR, '.inputs-sha256');
  const upToDate = existsSync(stamp) && readFileSync(stamp, 'utf8') === hash && WANTED.every((n) => existsSync(join(ARTIFACTS_DIR, `${n}.json`)));

  if (upToDate) {
    log('contracts: up to date');
  } else {
    const started = Date.now();
    // Loading solc-js alone takes seconds: only when something changed.
    const solc = require('solc') as Solc;
    const output = JSON.parse(solc.compile(JSON.stringify({ language: 'Solidity', sources, settings: SETTINGS }), { import: findImports })) as SolcOutput;
    const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
    if (errors.length > 0) {
      throw new Error(`solc failed:\n${errors.map((e) => e.formattedMessage).join('\n')}`);
    }
    mkdirSync(ARTIFACTS_DIR, { recursive: true });
    for (const name of WANTED) {
      const entry = Object.entries(output.contracts).find(([, byName]) => byName[name] !== undefined);
      if (!entry) throw new Error(`solc produced no ${name}`);
      const [sourceName, byName] = entry;
      const compiled = byName[name]!;
      const artifact: ContractArtifact = {
        contractName: name,
        sourceName,
        abi: compiled.abi,
        bytecode: `0x${compiled.evm.bytecode.object}`,
        linkReferences: compiled.evm.bytecode.linkReferences,
      };
      writeFileSync(join(ARTIFACTS_DIR, `${name}.json`), JSON.stringify(artifact, null, 2));
    }
    writeFileSync(stamp, hash);
    log(`contracts: compiled ${Object.keys(sources).length} sources with solc ${solc.version()} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  // Only the depths this deployment verifies (claims, and enrollments' groups of one): the package
  // ships every depth (~109 MB).
  const artifactsPackage = dirname(require.resolve('@zk-kit/semaphore-artifacts/package.json'));
  mkdirSync(CIRCUITS_DIR, { recursive: true });
  for (const depth of [TREE_DEPTH, ENROLLMENT_DEPTH]) {
    for (const ext of ['wasm', 'zkey']) {
      const from = join(artifactsPackage, `semaphore-${depth}.${ext}`);
      const to = join(CIRCUITS_DIR, `semaphore-${depth}.${ext}`);
      if (!existsSync(to) || readFileSync(to).length !== readFileSync(from).length) copyFileSync(from, to);
    }
  }
  log(`circuits: semaphore-${TREE_DEPTH} and semaphore-${ENROLLMENT_DEPTH} in ${relative(ROOT, CIRCUITS_DIR)}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildContracts();
  await buildProofFixtures();
}
