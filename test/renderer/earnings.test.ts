// What a finished job card says it earned: the person's own shares of that job's rounds, per
// token, never the round's whole reward and never another job's rows.
import { describe, expect, it } from 'vitest';
import type { EarningRowValue } from '../../common/ipc/contract.js';
import { earnedByJob } from '../../renderer/src/earnings.js';

const TUSD = '0x' + '11'.repeat(20);
const TROVE = '0x' + '22'.repeat(20);

function row(jobId: string, round: number, amount: string, state: EarningRowValue['state'], token = TUSD): EarningRowValue {
  return { jobId, title: 'Sleep', round, state, amount, topUp: '0', token, symbol: token === TUSD ? 'TUSD' : 'TROVE', decimals: 6, recipient: null, tx: null, problem: null, at: null, withdrawable: null };
}

describe('earnedByJob', () => {
  it('sums this job’s shares per token and counts the claimed rounds', () => {
    const rows = [row('1', 0, '224999000', 'claimed'), row('1', 1, '225000000', 'earned'), row('2', 0, '900000000', 'claimed'), row('1', 1, '5', 'submitted', TROVE)];
    expect(earnedByJob(rows, '1')).toEqual([
      { token: TUSD, symbol: 'TUSD', decimals: 6, amount: '449999000', rounds: 2, claimed: 1 },
      { token: TROVE, symbol: 'TROVE', decimals: 6, amount: '5', rounds: 1, claimed: 0 },
    ]);
  });

  it('says nothing was earned for a job with no rows', () => {
    expect(earnedByJob([row('2', 0, '1', 'earned')], '1')).toEqual([]);
  });
});
