// What one job earned this person, summed per token from the Earnings view's rows: their own
// share of each round they were included in, never the round's whole reward.
import type { EarningRowValue } from '../../common/ipc/contract.js';

export interface JobEarned {
  token: string;
  symbol: string;
  decimals: number;
  /** The person's shares of the job's rounds, in the token's smallest unit. */
  amount: string;
  rounds: number;
  claimed: number;
}

export function earnedByJob(rows: readonly EarningRowValue[], jobId: string): JobEarned[] {
  const byToken = new Map<string, JobEarned>();
  for (const r of rows) {
    if (r.jobId !== jobId) continue;
    const e = byToken.get(r.token) ?? { token: r.token, symbol: r.symbol, decimals: r.decimals, amount: '0', rounds: 0, claimed: 0 };
    e.amount = (BigInt(e.amount) + BigInt(r.amount)).toString();
    e.rounds += 1;
    if (r.state === 'claimed') e.claimed += 1;
    byToken.set(r.token, e);
  }
  return [...byToken.values()];
}
