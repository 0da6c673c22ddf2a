// Before a contributor takes part in a round, the roster the coordinator sent must be the one it
// froze on-chain when the round started (RoundRewards.startRound): the same keys in the same
// order. Every client checks the same public commitment, so the coordinator cannot show different
// rosters to different people or invent members after the fact. A mismatch, or a round not
// started on-chain, is ROSTER_NOT_ON_CHAIN and nothing is sent.
import { Contract, JsonRpcProvider, Network } from 'ethers';
import { TroveError, isTroveError } from '../../../common/errors.js';
import { rosterHash } from '../../../common/jobs/roster-hash.js';

/** Where the round rewards contract lives. */
export interface RosterChainConfig {
  rpcUrl: string;
  chainId: string;
  /** The JobRegistry contract (it counts a job's closed rounds). */
  registry: string;
  /** The RoundRewards contract (it holds each round's frozen roster). */
  roundRewards: string;
}

/** Throws ROSTER_NOT_ON_CHAIN unless `roster` is the roster frozen on-chain for the job's round in progress. */
export type RosterCheck = (jobId: string, roster: readonly string[]) => Promise<void>;

const ABI = [
  'function getJob(uint256 jobId) view returns (tuple(address researcher, uint64 deadline, uint32 rounds, address coordinator, uint32 roundsClosed, uint32 minContributors, uint8 status, address rewardToken, uint96 bondAmount, uint128 rewardPerRound, uint128 escrow, uint128 stake, bytes32 specHash))',
  'function rosterOf(uint256 jobId, uint256 round) view returns (tuple(bytes32 hash, uint32 size, uint64 startedAt, bool closed))',
];

const ZERO_HASH = `0x${'0'.repeat(64)}`;

/** The roster the chain holds for the job's round in progress: its hash and size, or null when none is started. */
export async function frozenRoster(config: RosterChainConfig, jobId: string): Promise<{ round: number; hash: string; size: number } | null> {
  const provider = new JsonRpcProvider(config.rpcUrl, Network.from(BigInt(config.chainId)), { staticNetwork: true, batchMaxCount: 1 });
  try {
    const registry = new Contract(config.registry, ABI, provider);
    const rewards = new Contract(config.roundRewards, ABI, provider);
    const job = (await registry.getFunction('getJob')(BigInt(jobId))) as { roundsClosed: bigint };
    const round = Number(job.roundsClosed);
    const r = (await rewards.getFunction('rosterOf')(BigInt(jobId), round)) as { hash: string; size: bigint; closed: boolean };
    if (r.hash === ZERO_HASH || r.closed) return null;
    return { round, hash: r.hash, size: Number(r.size) };
  } catch (err) {
    if (isTroveError(err)) throw err;
    throw new TroveError('CHAIN_UNREACHABLE', 'The chain cannot be reached to check the round’s contributors. Nothing was sent; the next round will be tried.', undefined, { cause: err });
  } finally {
    provider.destroy();
  }
}

/** The check participation runs on every invitation. */
export function onChainRosterCheck(config: RosterChainConfig): RosterCheck {
  return async (jobId, roster) => {
    const frozen = await frozenRoster(config, jobId);
    if (!frozen) {
      throw new TroveError('ROSTER_NOT_ON_CHAIN', 'The coordinator invited this device to a round it has not started on-chain. Nothing was sent.', { jobId });
    }
    if (frozen.size !== roster.length || frozen.hash !== rosterHash(roster)) {
      throw new TroveError(
        'ROSTER_NOT_ON_CHAIN',
        `The coordinator’s list of ${roster.length} contributors is not the list of ${frozen.size} it committed on-chain for this round. Nothing was sent.`,
        { jobId, round: frozen.round },
      );
    }
  };
}
