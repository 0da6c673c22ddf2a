// Activity entries' details in words, above all what left this computer for a job.
import { describe, expect, it } from 'vitest';
import { describeDetails } from '../../renderer/src/activity.js';

describe('activity details', () => {
  it('says what left the computer and how big it was in words, and where it went behind Details', () => {
    const lines = describeDetails('job.upload', { job: '7', round: 2, numbers: 1234, bytes: 4936, to: 'https://coord.example.org' });
    expect(lines).toEqual([
      { label: 'Round', value: '3' },
      { label: 'Left this computer', value: 'a masked list of 1,234 numbers (4.8 KB)' },
      { label: 'Job number', value: '7', technical: true },
      { label: 'Sent to', value: 'https://coord.example.org', technical: true },
    ]);
  });

  it('lists every request sent to a coordinator with its answer and the bytes each way', () => {
    const lines = describeDetails('job.requests', {
      job: '7',
      round: 0,
      to: 'https://coord.example.org',
      requests: [
        { method: 'GET', path: '/v1/jobs/7/models/0', status: 200, sent: 0, received: 116, at: 1 },
        { method: 'POST', path: '/v1/jobs/7/rounds/0/messages', status: null, sent: 2048, received: 0, at: 2 },
      ],
    });
    expect(lines).toEqual([
      { label: 'Round', value: '1' },
      { label: 'Job number', value: '7', technical: true },
      { label: 'Coordinator', value: 'https://coord.example.org', technical: true },
      { label: 'GET /v1/jobs/7/models/0', value: 'answered 200; 0 B sent, 116 B back', technical: true },
      { label: 'POST /v1/jobs/7/rounds/0/messages', value: 'no answer; 2.0 KB sent, 0 B back', technical: true },
    ]);
  });

  it('names the job by its title when the entry has one', () => {
    expect(describeDetails('job.finished', { job: '7', title: 'Sleep and mood' }).filter((l) => !l.technical)).toEqual([{ label: 'Job', value: 'Sleep and mood' }]);
  });

  it("reads a consent: the columns with the person's own names, what each round will send, and the privacy cost", () => {
    const lines = describeDetails('job.consent', {
      job: '7',
      specHash: '0x12',
      dataset: 'ab'.repeat(16),
      columns: { sleep_hours: 'sleep', mood: 'mood' },
      rounds: 3,
      vectorLength: 33,
      coordinator: 'https://coord.example.org',
      epsilon: 1.2345,
      delta: 1e-5,
      reward: { token: '0xabc', perRound: '1' },
    });
    expect(lines).toEqual([
      { label: 'Columns read', value: 'sleep_hours (your sleep), mood' },
      { label: 'Each round sends', value: 'a masked list of 33 numbers' },
      { label: 'Privacy budget used', value: '1.23' },
      { label: 'Job number', value: '7', technical: true },
      { label: 'Sent to', value: 'https://coord.example.org', technical: true },
      { label: 'Privacy parameters', value: 'epsilon 1.2345, delta 0.00001', technical: true },
      { label: 'Rounds', value: '3' },
    ]);
  });

  it('names round steps in words and shows other simple fields, leaving out ids and nested data', () => {
    const lines = describeDetails('job.trained', { job: '7', round: 0, step: 'masking', examples: 120, dropped: false, specHash: '0x12', nested: { a: 1 } });
    expect(lines).toEqual([
      { label: 'Round', value: '1' },
      { label: 'Step', value: 'Masking the result' },
      { label: 'Rows used on this computer', value: '120' },
      { label: 'Job number', value: '7', technical: true },
      { label: 'Dropped', value: 'no' },
    ]);
  });

  it('has nothing to say without details', () => {
    expect(describeDetails('dataset.imported', undefined)).toEqual([]);
  });
});
