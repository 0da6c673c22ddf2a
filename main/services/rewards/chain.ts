// What the claims service reads from RoundRewards: a closed round (group root, size, share, token),
// its frozen roster and enrolled commitments, and whether a nullifier has been paid. Reads only:
// claims are submitted by a relayer (or the linked wallet), never from here.
import { Contract, JsonRpcProvider, Network } from 'ethers';
import { TroveError, isTroveError } from '../../../common/errors.js';

export interface RewardsChainConfig {
  rpcUrl: string;
  chainId: string;
  roundRewards: string;
}

/** A closed round as RoundRewards stores it. */
export interface ClosedRound {
  root: bigint;
  token: string;
  size: number;
  claimed: number;
  paid: boolean;
  /** What each included member may claim, in the round's token. */
  perMember: bigint;
  /** TROVE emissions each member receives on top. */
  topUpPerMember: bigint;
}

const ABI = [
  'function getRound(uint256 jobId, uint256 round) view returns (tuple(uint256 root, address token, uint32 size, uint32 claimed, bool paid, uint128 perMember, uint128 topUpPerMember))',
  'function rosterEntries(uint256 jobId, uint256 round) view returns (uint32[])',
  'function enrollmentOf(uint256 jobId, uint256 index) view returns (tuple(uint256 commitment, bytes32 rosterKey, address bondOwner, uint8 bond))',
  'function isNullifierUsed(uint256 nullifier) view returns (bool)',
  'function treeDepth() view returns (uint8)',
  'function creditOf(address account, address token) view returns (uint256)',
  'event Claimed(uint256 indexed jobId, uint256 indexed round, uint256[] nullifiers)',
];
const TOKEN_ABI = ['function symbol() view returns (string)', 'function decimals() view returns (uint8)'];

export class RewardsChain {
  private readonly provider: JsonRpcProvider;
  private readonly rewards: Contract;

  constructor(readonly config: RewardsChainConfig) {
    this.provider = new JsonRpcProvider(config.rpcUrl, Network.from(BigInt(config.chainId)), { staticNetwork: true, batchMaxCount: 1 });
    this.rewards = new Contract(config.roundRewards, ABI, this.provider);
  }

  private async read<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (isTroveError(err)) throw err;
      throw new TroveError('CHAIN_UNREACHABLE', `The chain cannot be reached to read ${what}. Claims wait and are tried again.`, undefined, { cause: err });
    }
  }

  /** The closed round, or null when it has not been closed. */
  round(jobId: string, round: number): Promise<ClosedRound | null> {
    return this.read(`round ${round} of job ${jobId}`, async () => {
      const r = (await this.rewards.getFunction('getRound')(BigInt(jobId), round)) as {
        root: bigint; token: string; size: bigint; claimed: bigint; paid: boolean; perMember: bigint; topUpPerMember: bigint;
      };
      if (r.root === 0n) return null;
      return { root: r.root, token: r.token, size: Number(r.size), claimed: Number(r.claimed), paid: r.paid, perMember: r.perMember, topUpPerMember: r.topUpPerMember };
    });
  }

  /** The commitments of the round's frozen roster, in roster order. */
  rosterCommitments(jobId: string, round: number): Promise<bigint[]> {
    return this.read(`the roster of round ${round}`, async () => {
      const entries = (await this.rewards.getFunction('rosterEntries')(BigInt(jobId), round)) as bigint[];
      const out: bigint[] = [];
      for (const index of entries) {
        const e = (await this.rewards.getFunction('enrollmentOf')(BigInt(jobId), index)) as { commitment: bigint };
        out.push(e.commitment);
      }
      return out;
    });
  }

  isNullifierUsed(nullifier: string): Promise<boolean> {
    return this.read('whether a claim was paid', async () => (await this.rewards.getFunction('isNullifierUsed')(BigInt(nullifier))) as boolean);
  }

  treeDepth(): Promise<number> {
    return this.read('the group depth', async () => Number(await this.rewards.getFunction('treeDepth')()));
  }

  /** What `account` can withdraw in `token`. */
  creditOf(account: string, token: string): Promise<bigint> {
    return this.read('the credited balance', async () => (await this.rewards.getFunction('creditOf')(account, token)) as bigint);
  }

  /** The token's symbol and decimals as its contract states them. */
  token(address: string): Promise<{ symbol: string; decimals: number }> {
    return this.read('the reward token', async () => {
      const token = new Contract(address, TOKEN_ABI, this.provider);
      return { symbol: String(await token.getFunction('symbol')()), decimals: Number(await token.getFunction('decimals')()) };
    });
  }

  /**
   * Whether `tx` is a mined, successful transaction of RoundRewards that paid `nullifier`: a
   * relayer's word about a transaction is checked here before a claim counts as landed.
   */
  paidIn(tx: string, nullifier: string): Promise<boolean> {
    return this.read('a claim transaction', async () => {
      const receipt = await this.provider.getTransactionReceipt(tx);
      if (!receipt || receipt.status !== 1) return false;
      for (const log of receipt.logs) {
        if (log.address.toLowerCase() !== this.config.roundRewards.toLowerCase()) continue;
        const parsed = this.rewards.interface.parseLog(log);
        if (parsed?.name === 'Claimed' && (parsed.args.getValue('nullifiers') as bigint[]).some((n) => n.toString() === nullifier)) return true;
      }
      return false;
    });
  }

  close(): void {
    this.provider.destroy();
  }
}
