// A researcher's first run from coordinator/README.md alone: a development chain with a test
// reward token, then publish the example job unchanged, read its status, and top up with the faucet.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Contract, JsonRpcProvider, Wallet, parseUnits } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadArtifact } from '../../contracts/artifacts.js';
import { startAnvil } from '../../contracts/anvil.js';
import { main } from '../../coordinator/cli.js';
import { printed } from '../helpers/printed.js';
import { faucet, startLocalChain, type RunningLocalChain } from '../../coordinator/local-chain.js';
import type { TroveDeployment } from '../../contracts/deploy.js';

describe("a researcher's first run", () => {
  let running: RunningLocalChain;
  let dir: string;
  let args: string[];

  const run = (...argv: string[]) => printed(() => main([...argv, ...args]));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trove-first-run-'));
    running = await startLocalChain({ deploymentFile: join(dir, 'deployments', 'local.json') });
    args = ['--rpc', running.chain.url, '--deployment', join(dir, 'deployments', 'local.json'), '--db', join(dir, 'coordinator.db')];
  });
  afterAll(async () => {
    await running?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('publishes the example job as shipped, paid in the test token the researcher already holds', async () => {
    const written = JSON.parse(readFileSync(join(dir, 'deployments', 'local.json'), 'utf8')) as TroveDeployment;
    expect(written.testToken).toMatchObject({ symbol: 'TUSD', decimals: 18 });

    const published = await run('publish', 'coordinator/jobs/sleep-mood.json');
    expect(published).toMatch(/^published job 1: spec 0x[0-9a-f]{64}/);
    expect(published).toContain(`escrow 200 TUSD + stake 10 TUSD (token ${written.testToken!.address})`);
    expect(await run('status', '1')).toMatch(/^job 1 \(0x[0-9a-f]{64}\): (published|enrolling|open)/);
  });

  it('the faucet gives test tokens to any address, and refuses a bad address or amount', async () => {
    const someone = Wallet.createRandom().address;
    expect(await run('faucet', someone, '250')).toBe(`sent 250 TUSD to ${someone}`);
    const provider = new JsonRpcProvider(running.chain.url);
    try {
      const token = new Contract(running.deployment.testToken!.address, loadArtifact('TestToken').abi as never, provider);
      expect(await token.getFunction('balanceOf')(someone)).toBe(parseUnits('250', 18));
    } finally {
      provider.destroy();
    }
    await expect(run('faucet', '0x1234', '1')).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/not an account address/) });
    await expect(run('faucet', someone, '1.5')).rejects.toMatchObject({ code: 'INVALID_INPUT', message: 'The amount is a whole number of tokens, not 1.5.' });
    await expect(run('faucet', someone, '0')).rejects.toMatchObject({ code: 'INVALID_INPUT', message: expect.stringMatching(/between 1 and/) });
  });

  it('the faucet refuses any chain but a development chain', async () => {
    const other = await startAnvil({ args: ['--chain-id', '1'] });
    const provider = new JsonRpcProvider(other.url);
    try {
      await expect(faucet(provider, running.deployment, Wallet.createRandom().address, 1n)).rejects.toMatchObject({
        code: 'INVALID_INPUT',
        message: expect.stringMatching(/only on a development chain \(id 31337\); this is chain 1/),
      });
    } finally {
      provider.destroy();
      await other.stop();
    }
  });
});
