import { describe, expect, it } from 'vitest';
import { historyOf, type PublishedJob } from '../../main/services/jobs/discovery.js';
import { researcherHistory } from '../../renderer/src/jobs.js';

const job = (jobId: string, researcher: string): PublishedJob => ({
  jobId, researcher, coordinator: '0xc', rewardToken: '0xt', specHash: '0x', specURI: 'http://127.0.0.1/', rewardPerRound: 1n, rounds: 3, minContributors: 2, deadline: 0, bondAmount: 0n,
});

describe("a researcher's history from on-chain facts", () => {
  it('counts only the same account, only earlier jobs, and the rounds they closed', () => {
    const events = [job('1', '0xAbC'), job('2', '0xdef'), job('3', '0xabc'), job('4', '0xABC')];
    const closed = new Map([['1', 3], ['2', 9], ['3', 1], ['4', 2]]);
    expect(historyOf(events[3]!, events, closed)).toEqual({ earlierJobs: 2, roundsClosed: 4 });
    expect(historyOf(events[0]!, events, closed)).toEqual({ earlierJobs: 0, roundsClosed: 0 });
    expect(historyOf(events[1]!, events, closed)).toEqual({ earlierJobs: 0, roundsClosed: 0 });
  });

  it('says it in words on the card', () => {
    expect(researcherHistory({ earlierJobs: 0, roundsClosed: 0 })).toBe('This account has not published a job on Trove before: this is its first.');
    expect(researcherHistory({ earlierJobs: 1, roundsClosed: 0 })).toBe('This account published 1 job on Trove before; none of their rounds has closed yet.');
    expect(researcherHistory({ earlierJobs: 12, roundsClosed: 1462 })).toBe('This account published 12 jobs on Trove before; 1,462 rounds closed on-chain.');
  });
});
