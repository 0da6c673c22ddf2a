// The Earnings view: for every job this person contributed to, each round it earned and where
// that round's claim stands, with totals per token in the token's own symbol and decimals (read
// from its contract, not from the researcher's document) and what is credited on-chain to the
// recipient, per token and per round. A coordinator that cannot be reached or whose list fails
// the on-chain check is named in `problems`; what is already queued still shows.
import { isTroveError } from '../../../common/errors.js';
import type { EarningRowValue, EarningsViewValue } from '../../../common/ipc/contract.js';
import type { RoundInclusion, RewardsService } from './service.js';

export interface ContributedJob {
  jobId: string;
  title: string;
  rounds: RoundInclusion[];
}

export async function earningsView(rewards: RewardsService, jobs: () => Promise<ContributedJob[]>): Promise<EarningsViewValue> {
  const problems: string[] = [];
  const rows: EarningRowValue[] = [];
  const queued = rewards.claims();
  const titles = new Map<string, string>();
  let listed: ContributedJob[] = [];
  try {
    listed = await jobs();
  } catch (err) {
    problems.push(isTroveError(err) ? err.message : 'The jobs could not be read.');
  }
  for (const job of listed) {
    titles.set(job.jobId, job.title);
    try {
      for (const d of await rewards.due(job.jobId, job.rounds)) {
        if (!d.included || queued.some((c) => c.jobId === job.jobId && c.round === d.round)) continue;
        const token = await rewards.token(d.closed.token);
        rows.push({
          jobId: job.jobId,
          title: job.title,
          round: d.round,
          state: rewards.isProving(job.jobId, d.round) ? 'proving' : 'earned',
          amount: d.closed.perMember.toString(),
          topUp: d.closed.topUpPerMember.toString(),
          token: d.closed.token,
          ...token,
          recipient: null,
          tx: null,
          problem: null,
          at: null,
          withdrawable: null,
        });
      }
    } catch (err) {
      problems.push(isTroveError(err) ? err.message : `Job ${job.jobId}: ${(err as Error).message}`);
    }
  }
  for (const c of queued) {
    const token = await rewards.token(c.token).catch(() => ({ symbol: '?', decimals: 0 }));
    rows.push({
      jobId: c.jobId,
      title: titles.get(c.jobId) ?? `Job ${c.jobId}`,
      round: c.round,
      state: c.state,
      amount: c.amount,
      topUp: c.topUp,
      token: c.token,
      ...token,
      recipient: c.recipient,
      tx: c.tx,
      problem: c.lastError,
      at: c.updatedAt,
      withdrawable: null,
    });
  }
  rows.sort((a, b) => (a.jobId === b.jobId ? a.round - b.round : a.jobId < b.jobId ? -1 : 1));

  const totals = new Map<string, EarningsViewValue['totals'][number]>();
  for (const r of rows) {
    const t = totals.get(r.token) ?? { token: r.token, symbol: r.symbol, decimals: r.decimals, earned: '0', claimed: '0', withdrawable: '0' };
    t.earned = (BigInt(t.earned) + BigInt(r.amount)).toString();
    if (r.state === 'claimed') t.claimed = (BigInt(t.claimed) + BigInt(r.amount)).toString();
    totals.set(r.token, t);
  }
  // What each recipient has credited per token, read once, added to the token's total and shared
  // out over the rounds claimed to it.
  const claimedTo = new Map<string, EarningRowValue[]>();
  for (const r of rows) {
    if (r.state !== 'claimed' || !r.recipient) continue;
    const key = `${r.token.toLowerCase()} ${r.recipient.toLowerCase()}`;
    claimedTo.set(key, [...(claimedTo.get(key) ?? []), r]);
  }
  for (const claimed of claimedTo.values()) {
    const { token, recipient } = claimed[0]!;
    try {
      const credited = await rewards.withdrawable(recipient!, token);
      const t = totals.get(token)!;
      t.withdrawable = (BigInt(t.withdrawable) + credited).toString();
      shareOutCredit(claimed, credited);
    } catch (err) {
      problems.push(isTroveError(err) ? err.message : 'The credited balance could not be read.');
    }
  }
  // The relayer's fee is shown before the person agrees to a claim: ask for it while one waits.
  let terms = rewards.relayerTerms();
  if (rows.some((r) => r.state === 'earned')) {
    try {
      terms = await rewards.terms();
    } catch (err) {
      problems.push(isTroveError(err) ? err.message : 'The relayer could not be asked for its fee.');
    }
  }
  return {
    enabled: true,
    rows,
    totals: [...totals.values()],
    relayer: terms ? { url: rewards.relayerUrl, address: terms.relayer, fee: terms.fee } : null,
    problems: problems.slice(0, 50),
  };
}

/**
 * Marks what of each claimed round is still credited. A withdrawal takes everything credited to
 * the address at once, so what remains came from the rounds claimed since: newest first.
 */
export function shareOutCredit(claimed: EarningRowValue[], credited: bigint): void {
  let left = credited;
  for (const r of [...claimed].sort((a, b) => (b.at ?? 0) - (a.at ?? 0))) {
    const share = left < BigInt(r.amount) ? left : BigInt(r.amount);
    r.withdrawable = share.toString();
    left -= share;
  }
}
