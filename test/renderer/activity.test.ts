// Activity entries' details in words, above all what left this computer for a job.
import { describe, expect, it } from 'vitest';
import { describeDetails } from '../../renderer/src/activity.js';

describe('activity details', () => {
  it('says what left the computer, how big it was and where it went', () => {
    const lines = describeDetails('job.uploaded', { jobId: '7', round: 2, vectorLength: 1234, bytes: 4936, coordinator: { url: 'https://coord.example.org', address: '0xabc' } });
    expect(lines).toEqual([
      { label: 'Job', value: '7' },
      { label: 'Round', value: '3' },
      { label: 'Left this computer', value: 'a masked list of 1,234 numbers (4.8 KB), sent to https://coord.example.org' },
    ]);
  });

  it('reads a consent: the columns with the person\'s own names, and the privacy cost', () => {
    const lines = describeDetails('job.joined', { jobId: '7', title: 'Sleep and mood', columns: { sleep_hours: 'sleep', mood: 'mood' }, epsilon: 1.2345, datasetId: 'ab'.repeat(16) });
    expect(lines).toEqual([
      { label: 'Job', value: 'Sleep and mood (number 7)' },
      { label: 'Columns read', value: 'sleep_hours (your sleep), mood' },
      { label: 'Privacy cost', value: '1.23' },
    ]);
  });

  it('names round steps in words and shows other simple fields, leaving out ids and nested data', () => {
    const lines = describeDetails('job.round', { step: 'masking', examples: 120, dropped: false, specHash: '0x12', nested: { a: 1 } });
    expect(lines).toEqual([
      { label: 'Step', value: 'Masking the result' },
      { label: 'Examples', value: '120' },
      { label: 'Dropped', value: 'no' },
    ]);
  });

  it('has nothing to say without details', () => {
    expect(describeDetails('dataset.imported', undefined)).toEqual([]);
  });
});
