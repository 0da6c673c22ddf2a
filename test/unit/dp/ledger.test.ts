import { describe, expect, it } from 'vitest';
import { isTroveError } from '../../../common/errors.js';
import { jobPrivacyCost, MemoryLedgerStore, PrivacyLedger, type LedgerState } from '../../../common/dp/ledger.js';
import { RdpAccountant } from '../../../common/dp/rdp.js';

const BUDGET = { epsilon: 8, delta: 1e-5 };

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('personal privacy budget ledger', () => {
  it('charges jobs, keeps them in the store, and refuses a job that would exceed the budget', async () => {
    const store = new MemoryLedgerStore();
    const ledger = await PrivacyLedger.open(store, BUDGET);
    await ledger.charge('job-a', { epsilon: 3, delta: 2e-6 });
    await ledger.charge('job-b', { epsilon: 4, delta: 2e-6 });
    expect(ledger.spent()).toMatchObject({ epsilon: 7, composition: 'basic' });
    const err = await rejection(ledger.charge('job-c', { epsilon: 1.5, delta: 1e-6 }));
    expect(isTroveError(err, 'PRIVACY_BUDGET_EXCEEDED')).toBe(true);
    expect((err as Error).message).toMatch(/over your budget/);
    expect(ledger.entries.map((e) => e.jobId)).toEqual(['job-a', 'job-b']);
    // A job exceeding only the delta budget is refused too.
    expect(ledger.check({ epsilon: 0.5, delta: 9e-6 }).allowed).toBe(false);
    expect(ledger.check({ epsilon: 1, delta: 1e-6 }).allowed).toBe(true);

    const reopened = await PrivacyLedger.open(store, { epsilon: 100, delta: 0.1 });
    expect(reopened.budget).toEqual(BUDGET);
    expect(reopened.entries.map((e) => e.jobId)).toEqual(['job-a', 'job-b']);
  });

  it('charging the same job twice is idempotent, but not with a different cost', async () => {
    const store = new MemoryLedgerStore();
    const ledger = await PrivacyLedger.open(store, BUDGET);
    const first = await ledger.charge('job', { epsilon: 1, delta: 1e-6 }, new Date('2026-01-01T00:00:00Z'));
    const again = await ledger.charge('job', { epsilon: 1, delta: 1e-6 });
    expect(again).toEqual(first);
    expect(store.saves).toBe(1);
    expect(isTroveError(await rejection(ledger.charge('job', { epsilon: 2, delta: 1e-6 })), 'INVALID_INPUT')).toBe(true);
  });

  it('composes jobs in RDP when every job carries its curve, which is tighter than adding epsilons', async () => {
    const ledger = await PrivacyLedger.open(new MemoryLedgerStore(), BUDGET);
    const round = { noiseMultiplier: 1.0, sampleRate: 0.01, steps: 100 };
    const cost = jobPrivacyCost([round], BUDGET.delta / 10);
    for (let i = 0; i < 10; i++) await ledger.charge(`job-${i}`, cost);
    const spent = ledger.spent();
    expect(spent.composition).toBe('rdp');
    // Exactly what one accountant composing all ten jobs reports at the budget's delta.
    const all = new RdpAccountant().compose({ ...round, steps: 1000 });
    expect(spent.epsilon).toBeCloseTo(all.epsilon(BUDGET.delta).epsilon, 9);
    expect(spent.epsilon).toBeLessThan(10 * cost.epsilon);
    // A job without a curve falls back to adding epsilons and deltas.
    const mixed = ledger.check({ epsilon: 0.1, delta: 0 });
    expect(mixed.after.composition).toBe('basic');
    expect(mixed.after.epsilon).toBeCloseTo(10 * cost.epsilon + 0.1, 9);
  });

  it('serialises concurrent charges so two jobs cannot both squeeze into the last of the budget', async () => {
    const ledger = await PrivacyLedger.open(new MemoryLedgerStore(), BUDGET);
    await ledger.charge('base', { epsilon: 5, delta: 0 });
    const results = await Promise.allSettled([ledger.charge('x', { epsilon: 2, delta: 0 }), ledger.charge('y', { epsilon: 2, delta: 0 })]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(ledger.spent().epsilon).toBe(7);
  });

  it('a failed save leaves the ledger unchanged', async () => {
    const store = new MemoryLedgerStore();
    const ledger = await PrivacyLedger.open(store, BUDGET);
    store.save = () => Promise.reject(new Error('disk full'));
    await expect(ledger.charge('job', { epsilon: 1, delta: 0 })).rejects.toThrow('disk full');
    expect(ledger.entries).toEqual([]);
    expect(ledger.spent().epsilon).toBe(0);
  });

  it('refuses a damaged stored ledger and malformed costs with typed errors', async () => {
    const damaged = new MemoryLedgerStore({ version: 1, budget: { epsilon: -1, delta: 0 }, entries: [] } as unknown as LedgerState);
    expect(isTroveError(await rejection(PrivacyLedger.open(damaged, BUDGET)), 'CORRUPT_DATA')).toBe(true);
    const ledger = await PrivacyLedger.open(new MemoryLedgerStore(), BUDGET);
    expect(() => ledger.check({ epsilon: Number.NaN, delta: 0 })).toThrowError(/privacy cost/);
    expect(() => ledger.check({ epsilon: 1, delta: 0, rdp: { orders: [0.5], values: [1] } })).toThrowError(/privacy cost/);
    expect(isTroveError(await rejection(PrivacyLedger.open(new MemoryLedgerStore(), { epsilon: 1, delta: 2 })), 'INVALID_INPUT')).toBe(true);
  });

  it('keeps its state JSON-serialisable, and refuses a job without noise whatever the budget', async () => {
    const store = new MemoryLedgerStore();
    const ledger = await PrivacyLedger.open(store, { epsilon: Number.MAX_VALUE, delta: 1 });
    const noiseless = jobPrivacyCost([{ noiseMultiplier: 0 }], 1e-6);
    expect(noiseless.epsilon).toBe(Infinity);
    expect(isTroveError(await rejection(ledger.charge('noiseless', noiseless)), 'PRIVACY_BUDGET_EXCEEDED')).toBe(true);
    await ledger.charge('noisy', jobPrivacyCost([{ noiseMultiplier: 2, sampleRate: 0.1, steps: 5 }], 1e-6));
    const reloaded = await PrivacyLedger.open(new MemoryLedgerStore(JSON.parse(JSON.stringify(store.saved))), BUDGET);
    expect(reloaded.entries).toEqual(ledger.entries);
    await ledger.setBudget({ epsilon: 0.01, delta: 1e-6 });
    expect(ledger.check({ epsilon: 0.001, delta: 0 }).allowed).toBe(false);
  });
});

describe('releases against the charge', () => {
  it('lets out each charged round once and no more, and keeps the count across a reopen', async () => {
    const store = new MemoryLedgerStore();
    const ledger = await PrivacyLedger.open(store, { epsilon: 10, delta: 1e-5 });
    await ledger.charge('job', { epsilon: 1, delta: 1e-6 }, new Date('2026-01-01T00:00:00Z'), 3);
    for (const round of [0, 2, 1]) await ledger.release('job', round);
    for (const round of [3, 7, 1]) {
      const err = await rejection(ledger.release('job', round));
      expect(isTroveError(err, 'ROUND_LIMIT_REACHED')).toBe(true);
    }
    const reopened = await PrivacyLedger.open(store, { epsilon: 10, delta: 1e-5 });
    expect(reopened.entries[0]?.released).toEqual([0, 2, 1]);
    expect(isTroveError(await rejection(reopened.release('job', 2)), 'ROUND_LIMIT_REACHED')).toBe(true);
  });

  it('positive control: a job charged without a release count, or never charged, releases nothing', async () => {
    const ledger = await PrivacyLedger.open(new MemoryLedgerStore(), { epsilon: 10, delta: 1e-5 });
    await ledger.charge('old', { epsilon: 1, delta: 1e-6 });
    expect(isTroveError(await rejection(ledger.release('old', 0)), 'ROUND_LIMIT_REACHED')).toBe(true);
    expect(isTroveError(await rejection(ledger.release('unknown', 0)), 'ROUND_LIMIT_REACHED')).toBe(true);
  });
});
