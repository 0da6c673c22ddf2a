// The Jobs screens' pure rules: column mapping, token amounts and the privacy budget bar.
import { describe, expect, it } from 'vitest';
import { formatTokenAmount } from '../../common/tokens.js';
import {
  budgetSplit,
  canJoin,
  formatEpsilon,
  isCompatible,
  mappingComplete,
  matchCount,
  prefillMapping,
  shareOf,
  stateLabel,
  waitingInWords,
  type JobColumn,
} from '../../renderer/src/jobs.js';
import type { JobCardValue } from '../../common/ipc/contract.js';

const JOB_COLUMNS: JobColumn[] = [
  { name: 'sleep_hours', note: 'hours slept', role: 'feature', kind: 'numeric', expects: null },
  { name: 'Steps', note: 'steps walked', role: 'feature', kind: 'numeric', expects: null },
  { name: 'exercised', note: 'exercise that day', role: 'feature', kind: 'categorical', expects: null },
  { name: 'mood', note: 'how the day felt', role: 'label', kind: 'class', expects: null },
];

describe('column mapping', () => {
  it('offers numbers for numeric and value columns, text, categories and yes/no for the others', () => {
    expect(isCompatible('numeric', 'integer')).toBe(true);
    expect(isCompatible('value', 'number')).toBe(true);
    expect(isCompatible('numeric', 'string')).toBe(false);
    expect(isCompatible('numeric', 'date')).toBe(false);
    expect(isCompatible('categorical', 'boolean')).toBe(true);
    expect(isCompatible('class', 'category')).toBe(true);
    expect(isCompatible('class', 'number')).toBe(false);
  });

  it('pre-fills exact names first, then names in another letter case, only where the type fits', () => {
    const columns = [
      { name: 'SLEEP_HOURS', type: 'string' as const },
      { name: 'Sleep_Hours', type: 'number' as const },
      { name: 'steps', type: 'integer' as const },
      { name: 'Steps', type: 'string' as const },
      { name: 'mood', type: 'category' as const },
      { name: 'notes', type: 'string' as const },
    ];
    expect(prefillMapping(JOB_COLUMNS, columns)).toEqual({ sleep_hours: 'Sleep_Hours', Steps: 'steps', mood: 'mood' });
    expect(matchCount(JOB_COLUMNS, columns)).toBe(3);
  });

  it('is complete only when every job column has a fitting dataset column', () => {
    const columns = [
      { name: 'a', type: 'number' as const },
      { name: 'b', type: 'integer' as const },
      { name: 'c', type: 'boolean' as const },
      { name: 'd', type: 'string' as const },
    ];
    const mapping = { sleep_hours: 'a', Steps: 'b', exercised: 'c', mood: 'd' };
    expect(mappingComplete(JOB_COLUMNS, columns, mapping)).toBe(true);
    expect(mappingComplete(JOB_COLUMNS, columns, { ...mapping, mood: '' })).toBe(false);
    expect(mappingComplete(JOB_COLUMNS, columns, { ...mapping, Steps: 'd' })).toBe(false);
    expect(mappingComplete(JOB_COLUMNS, columns, { ...mapping, mood: 'gone' })).toBe(false);
  });
});

describe('token amounts', () => {
  it('places the decimal point exactly and drops trailing zeros', () => {
    expect(formatTokenAmount('1500000000000000000000', 18, 'TROVE')).toBe('1,500 TROVE');
    expect(formatTokenAmount('2500000000000000000', 18, 'TROVE')).toBe('2.5 TROVE');
    expect(formatTokenAmount('1', 18)).toBe('0.000000000000000001');
    expect(formatTokenAmount('123456789', 6, 'USDC')).toBe('123.456789 USDC');
    expect(formatTokenAmount('0', 18, 'TROVE')).toBe('0 TROVE');
    expect(formatTokenAmount('42', 0, 'PTS')).toBe('42 PTS');
  });

  it('keeps amounts beyond 2^53 exact', () => {
    expect(formatTokenAmount('123456789012345678901234567890', 18)).toBe('123,456,789,012.34567890123456789');
  });

  it('splits an amount evenly, rounding down', () => {
    expect(shareOf('10', 3)).toBe('3');
    expect(shareOf('1000000000000000000', 4)).toBe('250000000000000000');
    expect(shareOf('5', 0)).toBe('0');
  });
});

function privacy(spent: number, after: number, budget = 10, fits = after <= budget): JobCardValue['privacy'] {
  return { epsilon: after - spent, delta: 1e-5, noiseMultiplier: 1.1, budget: { epsilon: budget, delta: 1e-5 }, spentEpsilon: spent, afterEpsilon: after, fits, worstCaseEpsilon: after - spent, problem: fits ? null : 'over' };
}

describe('privacy budget bar', () => {
  it('splits the budget into spent, this job and left', () => {
    const s = budgetSplit(privacy(2, 5));
    expect(s.spent).toBeCloseTo(0.2);
    expect(s.job).toBeCloseTo(0.3);
    expect(s.left).toBeCloseTo(0.5);
    expect(s.jobEpsilon).toBeCloseTo(3);
    expect(s.leftAfter).toBeCloseTo(5);
    expect(s.over).toBe(false);
  });

  it('fills the bar and says so when the job would go over', () => {
    const s = budgetSplit(privacy(8, 13));
    expect(s.spent).toBeCloseTo(0.8);
    expect(s.job).toBeCloseTo(0.2);
    expect(s.left).toBe(0);
    expect(s.leftAfter).toBeCloseTo(-3);
    expect(s.over).toBe(true);
  });

  it('trusts the main side when it says the job does not fit (the delta may be what is over)', () => {
    expect(budgetSplit(privacy(1, 2, 10, false)).over).toBe(true);
  });

  it('copes with a budget already spent past its end, and with no budget at all', () => {
    const s = budgetSplit(privacy(12, 14));
    expect(s.spent).toBe(1);
    expect(s.job).toBe(0);
    expect(s.left).toBe(0);
    expect(budgetSplit(privacy(0, 1, 0)).over).toBe(true);
  });

  it('writes epsilon briefly', () => {
    expect(formatEpsilon(0)).toBe('0');
    expect(formatEpsilon(1.23456)).toBe('1.23');
    expect(formatEpsilon(0.004)).toBe('0.004');
  });
});

describe('joining', () => {
  const job = { deadline: 2_000, privacy: privacy(2, 5), participation: { state: 'available' } } as unknown as JobCardValue;
  const overBudget = { ...job, privacy: privacy(8, 12) } as JobCardValue;
  it('is open before the deadline while the job is on offer or after leaving it', () => {
    expect(canJoin(job, 1_000)).toBe(true);
    expect(canJoin(job, 3_000)).toBe(false);
    expect(canJoin({ ...job, participation: { ...job.participation, state: 'left' } }, 1_000)).toBe(true);
    expect(canJoin({ ...job, participation: { ...job.participation, state: 'working' } }, 1_000)).toBe(false);
  });

  it('is closed to a person whose privacy budget it would go over, and the card says so instead of "Open to join"', () => {
    expect(canJoin(overBudget, 1_000)).toBe(false);
    expect(stateLabel(overBudget, 1_000)).toBe('Not for you: over your privacy budget');
    // positive control: the same job within the budget reads as open
    expect(stateLabel(job, 1_000)).toBe('Open to join');
    expect(stateLabel(job, 3_000)).toBe('Closed: its deadline has passed');
    // once joined, the budget was charged: the card shows the participation, not a refusal
    expect(stateLabel({ ...overBudget, participation: { ...overBudget.participation, state: 'finished' } } as JobCardValue, 1_000)).toBe('Finished');
  });
});

describe('waiting for a round', () => {
  it('says how many have joined and how many more a round needs', () => {
    expect(waitingInWords({ round: 0, joined: 1, needed: 4, startsAt: null }, 0)).toBe('1 person has joined so far; a round needs 4. It starts once 3 more join.');
    expect(waitingInWords({ round: 0, joined: 3, needed: 4, startsAt: null }, 0)).toBe('3 people have joined so far; a round needs 4. It starts once 1 more joins.');
  });

  it('says roughly when the next round starts once enough have joined', () => {
    expect(waitingInWords({ round: 1, joined: 6, needed: 4, startsAt: 95_000 }, 5_000)).toBe('6 people have joined. Round 2 starts in about 2 minutes.');
    expect(waitingInWords({ round: 1, joined: 6, needed: 4, startsAt: 7_000 }, 5_000)).toBe('6 people have joined. Round 2 starts in a moment.');
    expect(waitingInWords({ round: 2, joined: 6, needed: 4, startsAt: null }, 5_000)).toBe('6 people have joined. Round 3 starts when the round in progress ends.');
  });
});
