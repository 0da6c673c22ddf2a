// What each Activity filter lets through, on entries of every kind the app writes.
import { describe, expect, it } from 'vitest';
import { inActivityGroup, matchesActivityFilter, type ActivityEntry } from '../../common/activity.js';

const entry = (kind: ActivityEntry['kind'], summary: string, details?: Record<string, unknown>): ActivityEntry => ({ seq: 1, at: 0, kind, summary, ...(details ? { details } : {}) });

describe('activity filters', () => {
  const upload = entry('job.upload', 'Sent a masked vector of 33 numbers for round 2', { job: '7', to: 'https://coord.example.org', numbers: 33 });
  const imported = entry('dataset.imported', 'Imported "Sleep diary": 40 records');
  const backup = entry('backup.created', 'Backed up the vault');

  it('groups entries by what happened, and "what left" by where something went', () => {
    expect(inActivityGroup(upload, 'jobs')).toBe(true);
    expect(inActivityGroup(upload, 'sent')).toBe(true);
    expect(inActivityGroup(imported, 'data')).toBe(true);
    expect(inActivityGroup(imported, 'sent')).toBe(false);
    expect(inActivityGroup(backup, 'vault')).toBe(true);
    expect(inActivityGroup(backup, 'data')).toBe(false);
    expect(inActivityGroup(entry('wallet.claimed', 'Claimed'), 'earnings')).toBe(true);
  });

  it('finds every word, any case, in the summary or the details', () => {
    expect(matchesActivityFilter(upload, { text: 'COORD.example round' })).toBe(true);
    expect(matchesActivityFilter(upload, { text: 'coord missing' })).toBe(false);
    expect(matchesActivityFilter(imported, { text: '  sleep  ' })).toBe(true);
    expect(matchesActivityFilter(imported, { text: 'sleep', group: 'jobs' })).toBe(false);
    expect(matchesActivityFilter(backup, {})).toBe(true);
  });
});
