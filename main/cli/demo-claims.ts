// The demo's last step: you claim every round you were included in, anonymously, through a relayer
// anyone could run (here on loopback), to a fresh address; the relayer pays the gas and keeps its
// fee, and the amounts credited on-chain are printed.
import { join } from 'node:path';
import { Contract, NonceManager, Wallet } from 'ethers';
import { ANVIL_KEYS } from '../../contracts/anvil.js';
import { circuitArtifacts } from '../../contracts/artifacts.js';
import { formatTokenAmount } from '../../common/tokens.js';
import { JobIdentities } from '../services/jobs/identity.js';
import { RelayerClient } from '../services/rewards/relayer-client.js';
import { RewardsService } from '../services/rewards/service.js';
import { RelayerService } from '../../relayer/server.js';
import type { Contributor, LocalNetwork } from './local-network.js';

/** The demo relayer's fee per claim, in the token's smallest units: 0.05 of the demo's 18-decimal dollar. */
const RELAYER_FEE = 5n * 10n ** 16n;

/** `recipient`: where the claims pay (default: a fresh address). */
export async function claimThroughRelayer(net: LocalNetwork, you: Contributor, jobId: string, dir: string, recipient = Wallet.createRandom().address): Promise<void> {
  const relayer = new RelayerService({
    signer: new NonceManager(new Wallet(ANVIL_KEYS[3], net.provider)),
    provider: net.provider,
    chainId: BigInt(net.deployment.chainId),
    roundRewards: net.deployment.contracts.RoundRewards,
    fee: RELAYER_FEE,
    storeFile: join(dir, 'relayer.db'),
    batchMs: 500,
  });
  const relayerUrl = await relayer.start();
  const identities = new JobIdentities(you.vault);
  const rewards = new RewardsService({
    vault: you.vault,
    identities,
    supervisor: you.supervisor,
    chain: { rpcUrl: net.chain.url, chainId: net.deployment.chainId, roundRewards: net.deployment.contracts.RoundRewards, registry: net.deployment.contracts.JobRegistry },
    relayer: new RelayerClient({ url: relayerUrl, timeoutMs: 60_000 }),
    artifacts: circuitArtifacts(),
    // short for the demo; the app waits 30 s to 10 min so a claim's timing says nothing
    sendDelayMs: { min: 200, max: 1_500 },
    onChange: (e) => {
      if (e.kind === 'proving' && e.stage === 'proving') console.log(`   round ${e.round + 1}: making the zero-knowledge proof in the worker…`);
      if (e.kind === 'claim') console.log(`   round ${e.claim.round + 1}: ${e.claim.state}${e.claim.tx ? ` (tx ${e.claim.tx.slice(0, 12)}…)` : ''}`);
    },
  });
  try {
    console.log(`   relayer at ${relayerUrl} (fee ${formatTokenAmount(RELAYER_FEE.toString(), 18, 'TUSD')} per claim, taken from each share); paying to a fresh address ${recipient}`);
    const rounds = (await net.runner.status(jobId)).rounds.map((r) => ({ round: r.round, closed: r.closed !== null, includedPositions: r.includedPositions }));
    const report = await rewards.prepareClaims(jobId, rounds, recipient);
    console.log(`   ${report.queued.length} round(s) queued; not due: ${report.notDue.length}; already claimed: ${report.alreadyClaimed.length}`);
    if (report.queued.length + report.alreadyClaimed.length === 0) {
      console.log('   No round you took part in closed with a payout, so there is nothing to claim.');
      return;
    }
    const deadline = Date.now() + 3 * 60_000;
    while (rewards.claims().some((c) => c.jobId === jobId && c.state !== 'claimed')) {
      if (Date.now() > deadline) throw new Error('The claims did not land within 3 minutes.');
      await rewards.send();
      await new Promise((r) => setTimeout(r, 300));
    }
    const claims = rewards.claims().filter((c) => c.jobId === jobId);
    const token = await rewards.token(claims[0]?.token ?? (await net.token.getAddress()));
    for (const c of claims) console.log(`   round ${c.round + 1}: ${formatTokenAmount(c.amount, token.decimals, token.symbol)} to ${c.recipient}`);
    const rewardsContract = new Contract(net.deployment.contracts.RoundRewards, ['function creditOf(address, address) view returns (uint256)'], net.provider);
    const credited = (await rewardsContract.getFunction('creditOf')(recipient, claims[0]?.token ?? (await net.token.getAddress()))) as bigint;
    console.log(`   credited on-chain to ${recipient}: ${formatTokenAmount(credited.toString(), token.decimals, token.symbol)}, ready to withdraw`);
  } finally {
    rewards.close();
    identities.close();
    await relayer.close();
  }
}
