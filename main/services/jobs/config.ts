// Where the app finds jobs: a JSON-RPC URL and the deployment file contracts/deploy.ts writes.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { TroveError } from '../../../common/errors.js';
import type { JobsChainConfig } from './discovery.js';

const deploymentSchema = z.object({
  chainId: z.string().regex(/^[0-9]{1,30}$/),
  blockNumber: z.number().int().min(0).optional(),
  contracts: z
    .object({
      JobRegistry: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
      RoundRewards: z.string().regex(/^0x[0-9a-fA-F]{40}$/).optional(),
      ReceiptChallenges: z.string().regex(/^0x[0-9a-fA-F]{40}$/).optional(),
    })
    .loose(),
}).loose();

/** The chain settings from an RPC URL and a deployment (the parsed JSON of a deployment file). */
export function jobsChainConfig(rpcUrl: string, deployment: unknown): JobsChainConfig {
  let url: URL;
  try {
    url = new URL(rpcUrl);
  } catch {
    throw new TroveError('INVALID_INPUT', 'The chain address is not a URL.');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TroveError('INVALID_INPUT', 'The chain address must be an http(s) URL.');
  const parsed = deploymentSchema.safeParse(deployment);
  if (!parsed.success) throw new TroveError('INVALID_INPUT', 'The deployment file does not name the chain and the JobRegistry contract.');
  return {
    rpcUrl,
    chainId: parsed.data.chainId,
    registry: parsed.data.contracts.JobRegistry,
    ...(parsed.data.contracts.RoundRewards ? { roundRewards: parsed.data.contracts.RoundRewards } : {}),
    ...(parsed.data.contracts.ReceiptChallenges ? { receiptChallenges: parsed.data.contracts.ReceiptChallenges } : {}),
    ...(parsed.data.blockNumber !== undefined ? { fromBlock: parsed.data.blockNumber } : {}),
  };
}

/**
 * The developer setting TROVE_ALLOW_LOCAL_NETWORK=1: jobs may use loopback and local-network
 * addresses (a chain, documents and a coordinator all on this computer). Off unless set.
 */
export function allowLocalNetworkFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.TROVE_ALLOW_LOCAL_NETWORK === '1';
}

/**
 * Reads TROVE_RPC_URL and TROVE_DEPLOYMENT (a deployment file) from `env`; undefined when either
 * is missing (jobs are then off).
 */
export function jobsChainConfigFromEnv(env: NodeJS.ProcessEnv = process.env): JobsChainConfig | undefined {
  const rpcUrl = env.TROVE_RPC_URL;
  const file = env.TROVE_DEPLOYMENT;
  if (!rpcUrl || !file) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new TroveError('UNREADABLE_FILE', 'The deployment file named by TROVE_DEPLOYMENT cannot be read as JSON.');
  }
  return jobsChainConfig(rpcUrl, json);
}

/**
 * The signed list of known researchers a build trusts: TROVE_RESEARCHERS names the list's file
 * and TROVE_RESEARCHERS_KEY the Ed25519 public key (hex) it must verify with. Undefined when
 * neither is set; the jobs service verifies the signature and attests nothing if it fails.
 */
export function attestationsFromEnv(env: NodeJS.ProcessEnv = process.env): { signed: unknown; publicKey: string } | undefined {
  const file = env.TROVE_RESEARCHERS;
  const publicKey = env.TROVE_RESEARCHERS_KEY;
  if (!file && !publicKey) return undefined;
  if (!file || !publicKey || !/^[0-9a-f]{64}$/.test(publicKey)) {
    throw new TroveError('INVALID_INPUT', 'Set both TROVE_RESEARCHERS (the list file) and TROVE_RESEARCHERS_KEY (its 32-byte public key, hex) to name known researchers.');
  }
  try {
    return { signed: JSON.parse(readFileSync(file, 'utf8')) as unknown, publicKey };
  } catch {
    throw new TroveError('UNREADABLE_FILE', 'The list of known researchers named by TROVE_RESEARCHERS cannot be read as JSON.');
  }
}
