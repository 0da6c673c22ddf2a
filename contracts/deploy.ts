// Deploys the Trove contracts to any JSON-RPC endpoint and writes their addresses to a JSON file
// that the app and the coordinator read.
//
//   npm run deploy:contracts -- --rpc http://127.0.0.1:8545 --out deployments/local.json
//
// The deployer key comes from TROVE_DEPLOYER_KEY; on a local anvil chain (id 31337) it defaults to
// anvil's first well-known development account.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ContractFactory, JsonRpcProvider, getCreateAddress, NonceManager, Wallet, type BaseContract, type Signer } from 'ethers';
import { TroveError } from '../common/errors.js';
import { TREE_DEPTH, linkBytecode, loadArtifact, type ContractName } from './artifacts.js';

export interface TroveDeployOptions {
  /** Researcher stake, basis points of a job's total reward. */
  stakeBps: number;
  /** Protocol fee on each paid round's reward, basis points; burned, and what earns TROVE emissions. */
  feeBps: number;
  /** The most of one epoch's emissions a single job can earn, basis points. */
  jobEpochCapBps: number;
  /** Shortest round, start to close, in seconds. */
  minRoundSeconds: number;
  /** A round not closed this long after its start can be expired (the stake pays its contributors). */
  roundTimeoutSeconds: number;
  /** How long members may claim a paid round after its close; what is left then is burned. */
  claimWindowSeconds: number;
  /** How long after a close a contributor holding a receipt for an omitted masked input may challenge it (at most the round timeout). */
  challengeWindowSeconds: number;
  tokenCap: bigint;
  epochSeconds: bigint;
  initialEpochEmission: bigint;
  halvingIntervalEpochs: bigint;
}

export interface TroveDeployment {
  chainId: string;
  deployer: string;
  blockNumber: number;
  treeDepth: number;
  contracts: {
    TroveToken: string;
    JobRegistry: string;
    RoundRewards: string;
    /** Pays contributors whose acknowledged masked input a close omitted, from the researcher's stake. */
    ReceiptChallenges: string;
    /** SemaphoreBatchVerifier: the official verifier (same keys, same verifyProof) plus batch checks. */
    SemaphoreVerifier: string;
    /** The Poseidon library RoundRewards is linked against (it builds each round's group root). */
    PoseidonT3: string;
  };
  parameters: Record<keyof TroveDeployOptions, string>;
  /** On a development chain only: a reward token anyone can mint (see `coordinator -- chain`). */
  testToken?: { address: string; symbol: string; decimals: number };
}

const E18 = 10n ** 18n;

/** 100M cap; ~0.96M per weekly epoch, halving yearly: the whole schedule stays just under the cap. */
export const DEFAULT_DEPLOY_OPTIONS: TroveDeployOptions = {
  stakeBps: 500,
  feeBps: 200,
  jobEpochCapBps: 1_000,
  // A local chain's rounds take seconds; a public deployment sets minutes to hours.
  minRoundSeconds: 0,
  roundTimeoutSeconds: 24 * 3600,
  claimWindowSeconds: 180 * 24 * 3600,
  challengeWindowSeconds: 24 * 3600,
  tokenCap: 100_000_000n * E18,
  epochSeconds: 7n * 24n * 3600n,
  initialEpochEmission: 961_538n * E18,
  halvingIntervalEpochs: 52n,
};

/** anvil's first development account: public knowledge, valid only on a local chain. */
const ANVIL_DEV_KEY = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80';

export async function deployContract(signer: Signer, name: ContractName, args: unknown[] = [], bytecode?: string): Promise<BaseContract> {
  const artifact = loadArtifact(name);
  const factory = new ContractFactory(artifact.abi as never, bytecode ?? artifact.bytecode, signer);
  const contract = await factory.deploy(...args);
  await contract.waitForDeployment();
  return contract;
}

/** Deploys verifier, token, registry, round rewards and receipt challenges, and binds them to each other. */
export async function deployTrove(deployer: Signer, options: Partial<TroveDeployOptions> = {}): Promise<TroveDeployment> {
  const o = { ...DEFAULT_DEPLOY_OPTIONS, ...options };
  // Count nonces locally: back-to-back deployments must not wait on (or race) the node's view of them.
  const signer = deployer instanceof NonceManager ? deployer : new NonceManager(deployer);
  const provider = signer.provider;
  if (!provider) throw new TroveError('INVALID_INPUT', 'The deployer must be connected to a chain.');

  // The official verifier plus batch checks: single claims use its verifyProof, batches verifyEach.
  const verifier = await deployContract(signer, 'SemaphoreBatchVerifier');
  const registry = await deployContract(signer, 'JobRegistry', [o.stakeBps]);
  const poseidon = await deployContract(signer, 'PoseidonT3');
  const poseidonAddress = await poseidon.getAddress();
  // The token names its only minter at construction: the rewards contract, deployed right after it.
  const nonce = await signer.getNonce('pending');
  const expectedRewards = getCreateAddress({ from: await signer.getAddress(), nonce: nonce + 1 });
  const token = await deployContract(signer, 'TroveToken', [o.tokenCap, o.epochSeconds, o.initialEpochEmission, o.halvingIntervalEpochs, expectedRewards]);
  const tokenAddress = await token.getAddress();
  // Only TROVE's own fees earn emissions by default: no other token's value is known on-chain
  // without an oracle, and a token anyone can mint would earn TROVE for nothing.
  const rules = { feeBps: o.feeBps, jobEpochCapBps: o.jobEpochCapBps, feeTokens: [tokenAddress], trovePerToken: [10n ** 18n] };
  const rewards = await deployContract(
    signer,
    'RoundRewards',
    [await registry.getAddress(), tokenAddress, await verifier.getAddress(), TREE_DEPTH, rules, o.minRoundSeconds, o.roundTimeoutSeconds, o.claimWindowSeconds],
    linkBytecode(loadArtifact('RoundRewards'), { PoseidonT3: poseidonAddress }),
  );
  const rewardsAddress = await rewards.getAddress();
  if (rewardsAddress !== expectedRewards) throw new TroveError('INVALID_INPUT', 'The deployer sent another transaction during the deployment; deploy again.');
  await (await registry.getFunction('setRoundRewards')(rewardsAddress)).wait();
  const challenges = await deployContract(signer, 'ReceiptChallenges', [await registry.getAddress(), rewardsAddress, await verifier.getAddress(), o.challengeWindowSeconds]);
  const challengesAddress = await challenges.getAddress();
  await (await registry.getFunction('setReceiptChallenges')(challengesAddress)).wait();

  const network = await provider.getNetwork();
  return {
    chainId: network.chainId.toString(),
    deployer: await signer.getAddress(),
    blockNumber: await provider.getBlockNumber(),
    treeDepth: TREE_DEPTH,
    contracts: {
      TroveToken: await token.getAddress(),
      JobRegistry: await registry.getAddress(),
      RoundRewards: rewardsAddress,
      ReceiptChallenges: challengesAddress,
      SemaphoreVerifier: await verifier.getAddress(),
      PoseidonT3: poseidonAddress,
    },
    parameters: {
      stakeBps: String(o.stakeBps),
      feeBps: String(o.feeBps),
      jobEpochCapBps: String(o.jobEpochCapBps),
      minRoundSeconds: String(o.minRoundSeconds),
      roundTimeoutSeconds: String(o.roundTimeoutSeconds),
      claimWindowSeconds: String(o.claimWindowSeconds),
      challengeWindowSeconds: String(o.challengeWindowSeconds),
      tokenCap: o.tokenCap.toString(),
      epochSeconds: o.epochSeconds.toString(),
      initialEpochEmission: o.initialEpochEmission.toString(),
      halvingIntervalEpochs: o.halvingIntervalEpochs.toString(),
    },
  };
}

export function writeDeployment(file: string, deployment: TroveDeployment): void {
  mkdirSync(dirname(resolve(file)), { recursive: true });
  writeFileSync(file, `${JSON.stringify(deployment, null, 2)}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      rpc: { type: 'string', default: 'http://127.0.0.1:8545' },
      out: { type: 'string', default: 'deployments/local.json' },
    },
  });
  const provider = new JsonRpcProvider(values.rpc, undefined, { staticNetwork: true, cacheTimeout: -1 });
  const { chainId } = await provider.getNetwork();
  const key = process.env.TROVE_DEPLOYER_KEY ?? (chainId === 31337n ? ANVIL_DEV_KEY : undefined);
  if (!key) {
    throw new TroveError('INVALID_INPUT', `Set TROVE_DEPLOYER_KEY to deploy to chain ${chainId}.`);
  }
  const deployment = await deployTrove(new Wallet(key, provider));
  writeDeployment(values.out, deployment);
  console.log(`deployed to chain ${deployment.chainId}: ${JSON.stringify(deployment.contracts)} -> ${values.out}`);
  provider.destroy();
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
