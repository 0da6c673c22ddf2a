// The committed roster on a real local chain: contributors enroll (through a relayer, each with its
// identity's proof), the coordinator freezes a round's roster with startRound, and a contributor's
// app refuses any roster that is not the frozen one, with ROSTER_NOT_ON_CHAIN and before anything
// is sent.
import { Identity } from '@semaphore-protocol/identity';
import { hexlify, randomBytes, type Contract } from 'ethers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rosterHash } from '../../../common/jobs/roster-hash.js';
import { onChainRosterCheck, type RosterCheck } from '../../../main/services/rounds/roster.js';
import { enrollWithProof } from '../../fixtures/enrollment-proof.js';
import { mined, startTroveChain, type TroveChain } from '../../fixtures/trove-chain.js';

const key = (): string => hexlify(randomBytes(32)).slice(2);

/** The checks a client makes on an invitation that need no chain (participation.ts): listed, no repeats, enough people. */
function passesOffChainChecks(roster: string[], own: string, minimum: number): boolean {
  return roster.includes(own) && new Set(roster).size === roster.length && roster.length >= minimum;
}

describe('a round roster checked against the one frozen on-chain', () => {
  let t: TroveChain;
  let rewards: Contract;
  let check: RosterCheck;
  let job: string;
  let unstarted: string;
  const keys = [key(), key(), key()];

  async function publish(minimum: number): Promise<string> {
    const usd = await t.deploy('TestToken', ['Test Dollar', 'TUSD']);
    const researcher = t.accounts.researcher;
    await mined(usd.connect(researcher).getFunction('mint')(await researcher.getAddress(), 10n ** 12n));
    const registry = t.at('JobRegistry', t.deployment.contracts.JobRegistry, researcher);
    await mined(usd.connect(researcher).getFunction('approve')(await registry.getAddress(), 10n ** 12n));
    const block = await t.provider.getBlock('latest');
    const receipt = await mined(
      registry.getFunction('publish')({
        specHash: `0x${'cd'.repeat(32)}`,
        specURI: 'ipfs://job-spec',
        coordinator: await t.accounts.coordinator.getAddress(),
        rewardToken: await usd.getAddress(),
        rewardPerRound: 1000n,
        rounds: 2,
        minContributors: minimum,
        deadline: BigInt(block!.timestamp) + 86_400n,
        bondAmount: 0n,
      }),
    );
    const event = receipt.logs.map((l) => registry.interface.parseLog(l)).find((e) => e?.name === 'JobPublished');
    return (event!.args.getValue('jobId') as bigint).toString();
  }

  beforeAll(async () => {
    t = await startTroveChain();
    rewards = t.at('RoundRewards', t.deployment.contracts.RoundRewards, t.accounts.relayer);
    check = onChainRosterCheck({
      rpcUrl: t.chain.url,
      chainId: t.chainId.toString(),
      registry: t.deployment.contracts.JobRegistry,
      roundRewards: t.deployment.contracts.RoundRewards,
    });
    job = await publish(2);
    for (const [i, k] of keys.entries()) await mined(enrollWithProof(rewards, { chainId: t.chainId, registry: t.deployment.contracts.JobRegistry }, BigInt(job), new Identity(`roster-${job}-${i}`), k));
    const receipt = await mined((rewards.connect(t.accounts.coordinator) as Contract).getFunction('startRound')(BigInt(job), [0, 1, 2]));
    const started = receipt.logs.map((l) => rewards.interface.parseLog(l)).find((e) => e?.name === 'RoundStarted');
    expect(started!.args.getValue('rosterHash')).toBe(rosterHash(keys));
    unstarted = await publish(2);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it('the roster the coordinator froze is accepted', async () => {
    await expect(check(job, keys)).resolves.toBeUndefined();
  });

  it('a coordinator that invents contributors is refused', async () => {
    // One real contributor, two keys the coordinator made up.
    const invented = [keys[0]!, key(), key()];
    // Positive control: without the on-chain check the client would take part, since the roster
    // passes every check made without the chain.
    expect(passesOffChainChecks(invented, keys[0]!, 2)).toBe(true);
    await expect(check(job, invented)).rejects.toMatchObject({ code: 'ROSTER_NOT_ON_CHAIN' });
  });

  it('a reordered or shortened roster is refused', async () => {
    expect(passesOffChainChecks([keys[1]!, keys[0]!, keys[2]!], keys[0]!, 2)).toBe(true);
    await expect(check(job, [keys[1]!, keys[0]!, keys[2]!])).rejects.toMatchObject({ code: 'ROSTER_NOT_ON_CHAIN' });
    await expect(check(job, [keys[0]!, keys[1]!])).rejects.toMatchObject({ code: 'ROSTER_NOT_ON_CHAIN' });
  });

  it('a round the coordinator never started on-chain is refused', async () => {
    await expect(check(unstarted, keys)).rejects.toMatchObject({ code: 'ROSTER_NOT_ON_CHAIN' });
  });

  it('a chain that cannot be reached refuses too, saying so', async () => {
    const offline = onChainRosterCheck({ rpcUrl: 'http://127.0.0.1:9', chainId: t.chainId.toString(), registry: t.deployment.contracts.JobRegistry, roundRewards: t.deployment.contracts.RoundRewards });
    await expect(offline(job, keys)).rejects.toMatchObject({ code: 'CHAIN_UNREACHABLE' });
  });
});
