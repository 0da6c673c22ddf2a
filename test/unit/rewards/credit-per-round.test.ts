// What of each claimed round is still withdrawable: a withdrawal takes everything credited to the
// address, so the credit left belongs to the rounds claimed since, newest first.
import { describe, expect, it } from 'vitest';
import type { EarningRowValue } from '../../../common/ipc/contract.js';
import { shareOutCredit } from '../../../main/services/rewards/earnings.js';

const row = (round: number, amount: string, at: number): EarningRowValue => ({
  jobId: '1', title: 'Sleep', round, state: 'claimed', amount, topUp: '0', token: '0x' + '11'.repeat(20), symbol: 'TUSD', decimals: 6,
  recipient: '0x' + '22'.repeat(20), tx: null, problem: null, at, withdrawable: null,
});

describe('shareOutCredit', () => {
  it('gives the credit to the newest claims and marks the older ones withdrawn', () => {
    const rows = [row(0, '100', 1_000), row(1, '200', 3_000), row(2, '300', 2_000)];
    shareOutCredit(rows, 350n);
    expect(rows.map((r) => r.withdrawable)).toEqual(['0', '200', '150']);
  });

  it('shows every round withdrawable before any withdrawal, and none after', () => {
    const rows = [row(0, '100', 1_000), row(1, '200', 2_000)];
    shareOutCredit(rows, 300n);
    expect(rows.map((r) => r.withdrawable)).toEqual(['100', '200']);
    shareOutCredit(rows, 0n);
    expect(rows.map((r) => r.withdrawable)).toEqual(['0', '0']);
  });
});
