import { describe, expect, it } from 'vitest';
import type { JobCardValue } from '../../../common/ipc/contract.js';
import { JobNotifier, fitsSomeDataset, jobNotice } from '../../../main/services/session/job-notifications.js';

function card(jobId: string, state: JobCardValue['participation']['state'], extra: { fits?: boolean; problem?: string; rounds?: number } = {}): JobCardValue {
  return {
    jobId,
    specHash: '0x',
    title: `Job ${jobId}`,
    purpose: '',
    researcher: { name: 'Lab', address: '0x', attestedName: null, history: null },
    resources: { parameters: 1, memoryBytes: 1, secondsPerRound: 1, uploadBytes: 1, summary: '' },
    coordinator: { url: 'http://127.0.0.1:1', address: '0x' },
    columns: [
      { name: 'sleep_hours', note: '', role: 'feature', kind: 'numeric', expects: null },
      { name: 'mood', note: '', role: 'label', kind: 'class', expects: null },
    ],
    warnings: [],
    vectorLength: 10,
    analytics: null,
    rounds: 3,
    minContributors: 3,
    privacy: { epsilon: 1, worstCaseEpsilon: 1, delta: 1e-5, noiseMultiplier: 1, budget: { epsilon: 10, delta: 1e-5 }, spentEpsilon: 0, afterEpsilon: 1, fits: extra.fits ?? true, problem: null },
    reward: { token: '0x', symbol: 'TUSD', decimals: 18, perRound: '1', bond: '0' },
    deadline: 0,
    participation: {
      state,
      mapping: null,
      roundsContributed: extra.rounds ?? 0,
      round: null,
      waiting: null,
      problem: extra.problem ? { code: 'X', message: extra.problem } : null,
    },
  };
}

const DIARY = [['date', 'Sleep_Hours', 'mood', 'steps']];

describe('which job changes are news', () => {
  it('a new job is news only when it fits a dataset by column names and the privacy budget', () => {
    expect(fitsSomeDataset(card('1', 'available'), DIARY)).toBe(true);
    expect(fitsSomeDataset(card('1', 'available'), [['sleep_hours'], ['mood']])).toBe(false);
    expect(jobNotice(undefined, card('1', 'available'), DIARY)?.title).toBe('A new job fits your data');
    expect(jobNotice(undefined, card('1', 'available'), [['steps']])).toBeNull();
    expect(jobNotice(undefined, card('1', 'available', { fits: false }), DIARY)).toBeNull();
  });

  it('a round that waits for the person, a stop and the end are news; the same state twice is not', () => {
    expect(jobNotice(card('1', 'working'), card('1', 'paused', { problem: 'Plug in to continue.' }), [])).toEqual({ title: '"Job 1" is waiting for you', body: 'Plug in to continue.' });
    expect(jobNotice(card('1', 'working'), card('1', 'failed', { problem: 'The coordinator is gone.' }), [])?.body).toBe('The coordinator is gone.');
    expect(jobNotice(card('1', 'waiting'), card('1', 'finished', { rounds: 1 }), [])?.body).toBe('Your computer contributed to 1 round. Thank you.');
    expect(jobNotice(card('1', 'working'), card('1', 'working'), [])).toBeNull();
    expect(jobNotice(card('1', 'joined'), card('1', 'working'), [])).toBeNull();
  });

  it('the jobs already there at the first list are not announced; later ones are', () => {
    const told: string[] = [];
    const notifier = new JobNotifier((n) => told.push(n.title), () => DIARY);
    notifier.sawCard(card('0', 'available'));
    notifier.sawList([card('0', 'available')], false);
    notifier.sawList([card('0', 'available'), card('1', 'available')], true);
    expect(told).toEqual([]);
    notifier.sawList([card('0', 'available'), card('1', 'available'), card('2', 'available')], true);
    notifier.sawCard(card('1', 'finished', { rounds: 2 }));
    expect(told).toEqual(['A new job fits your data', '"Job 1" finished']);
  });
});
