// The deploy script, run as a user would run it, against a fresh local chain: every contract
// exists at the written address and the contracts are bound to each other.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Contract, JsonRpcProvider } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadArtifact } from '../../../contracts/artifacts.js';
import type { TroveDeployment } from '../../../contracts/deploy.js';
import { startAnvil, type LocalChain } from '../../fixtures/anvil.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const run = promisify(execFile);

describe('deploy script', () => {
  let chain: LocalChain;
  let provider: JsonRpcProvider;
  let dir: string;

  beforeAll(async () => {
    chain = await startAnvil();
    provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true, cacheTimeout: -1 });
    dir = mkdtempSync(join(tmpdir(), 'trove-deploy-'));
  });

  afterAll(async () => {
    provider?.destroy();
    await chain?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('deploys everything to the given RPC URL and writes the addresses the app reads', async () => {
    const out = join(dir, 'nested', 'local.json');
    await run(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), join(root, 'contracts/deploy.ts'), '--rpc', chain.url, '--out', out], {
      cwd: root,
      timeout: 60_000,
    });
    const deployment = JSON.parse(readFileSync(out, 'utf8')) as TroveDeployment;
    expect(deployment.chainId).toBe('31337');
    expect(deployment.treeDepth).toBe(20);
    for (const address of Object.values(deployment.contracts)) {
      expect((await provider.getCode(address)).length).toBeGreaterThan(2);
    }
    const { TroveToken, JobRegistry, RoundRewards, SemaphoreVerifier } = deployment.contracts;
    const token = new Contract(TroveToken, loadArtifact('TroveToken').abi as never, provider);
    const registry = new Contract(JobRegistry, loadArtifact('JobRegistry').abi as never, provider);
    const rewards = new Contract(RoundRewards, loadArtifact('RoundRewards').abi as never, provider);
    expect(await token.getFunction('minter')()).toBe(RoundRewards);
    expect(await registry.getFunction('roundRewards')()).toBe(RoundRewards);
    expect(await rewards.getFunction('verifier')()).toBe(SemaphoreVerifier);
    expect(await rewards.getFunction('registry')()).toBe(JobRegistry);
    expect(await token.getFunction('cap')()).toBe(BigInt(deployment.parameters.tokenCap));
    expect(await token.getFunction('scheduleTotal')()).toBeLessThanOrEqual(BigInt(deployment.parameters.tokenCap));
  }, 90_000);
});

describe('local chain fixture', () => {
  it('answers on a free loopback port and is gone after stop', async () => {
    const chain = await startAnvil();
    const provider = new JsonRpcProvider(chain.url, undefined, { staticNetwork: true });
    try {
      expect((await provider.getNetwork()).chainId).toBe(31337n);
    } finally {
      provider.destroy();
      await chain.stop();
    }
    await expect(fetch(chain.url, { method: 'POST', body: '{}', signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
  });
});
