// A contributor's personal privacy budget: every job's (epsilon, delta) cost is charged here
// before any of the job's output leaves the machine, and a job whose cost would take the total
// over the budget is refused. The ledger keeps its state through a small storage interface;
// the app stores it sealed in the vault.
import { TroveError } from '../errors.js';
import { DEFAULT_RDP_ORDERS, epsilonFromRdp, RdpAccountant, type FractionalSeries, type GaussianEvent } from './rdp.js';
import { SerialQueue } from '../serial-queue.js';

export interface PrivacyBudget {
  epsilon: number;
  delta: number;
}

/** What one job costs. `rdp` (its composed RDP curve) allows tighter composition across jobs. */
export interface PrivacyCost {
  epsilon: number;
  delta: number;
  rdp?: { orders: number[]; values: number[] };
}

export interface LedgerEntry {
  jobId: string;
  cost: PrivacyCost;
  /** ISO 8601 time of the charge. */
  chargedAt: string;
  /** How many releases (rounds) the charge covers; absent for charges made before releases were counted. */
  releases?: number;
  /** The rounds whose output has left the machine, each counted once. */
  released?: number[];
}

export interface LedgerState {
  version: 1;
  budget: PrivacyBudget;
  entries: LedgerEntry[];
}

/** Where the ledger lives: load returns undefined when nothing was saved yet. */
export interface PrivacyLedgerStore {
  load(): Promise<unknown>;
  save(state: LedgerState): Promise<void>;
}

function isAmount(x: unknown, max = Number.MAX_VALUE): x is number {
  return typeof x === 'number' && x >= 0 && x <= max;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isBudget(x: unknown): x is PrivacyBudget {
  return isRecord(x) && isAmount(x.epsilon) && isAmount(x.delta, 1);
}

/** `unbounded`: an infinite epsilon is a valid cost to check (it never fits), not one to store. */
function isCost(x: unknown, unbounded = false): x is PrivacyCost {
  if (!isRecord(x) || !(isAmount(x.epsilon) || (unbounded && x.epsilon === Infinity)) || !isAmount(x.delta, 1)) return false;
  if (x.rdp === undefined) return true;
  const r = x.rdp;
  return (
    isRecord(r) &&
    Array.isArray(r.orders) &&
    Array.isArray(r.values) &&
    r.orders.length > 0 &&
    r.orders.length === r.values.length &&
    r.orders.every((a) => typeof a === 'number' && Number.isFinite(a) && a > 1) &&
    r.values.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)
  );
}

function isState(x: unknown): x is LedgerState {
  return (
    isRecord(x) &&
    x.version === 1 &&
    isBudget(x.budget) &&
    Array.isArray(x.entries) &&
    x.entries.every(
      (e) =>
        isRecord(e) &&
        typeof e.jobId === 'string' &&
        e.jobId.length > 0 &&
        typeof e.chargedAt === 'string' &&
        isCost(e.cost) &&
        (e.releases === undefined || isIndex(e.releases)) &&
        (e.released === undefined || (Array.isArray(e.released) && e.released.every(isIndex))),
    )
  );
}

function isIndex(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0;
}

const BAD_BUDGET = 'A privacy budget needs a non-negative epsilon and a delta between 0 and 1.';
const BAD_COST = 'A privacy cost needs a non-negative epsilon, a delta between 0 and 1, and RDP values paired with orders above 1.';

export interface SpentPrivacy {
  epsilon: number;
  delta: number;
  /** 'basic': the costs summed; 'rdp': RDP curves composed and converted at the budget's delta. */
  composition: 'basic' | 'rdp';
}

/** The tightest valid total of `costs`, judged against `budget`. */
export function composeCosts(costs: readonly PrivacyCost[], budget: PrivacyBudget): SpentPrivacy {
  const basic: SpentPrivacy = {
    epsilon: costs.reduce((s, c) => s + c.epsilon, 0),
    delta: costs.reduce((s, c) => s + c.delta, 0),
    composition: 'basic',
  };
  const first = costs[0]?.rdp;
  const sameOrders =
    first !== undefined &&
    costs.every((c) => c.rdp && c.rdp.orders.length === first.orders.length && c.rdp.orders.every((a, i) => a === first.orders[i]));
  if (!sameOrders || budget.delta <= 0) return basic;
  // RDP composes by adding curves; one conversion at the budget's delta covers every job.
  // Stored curves hold the largest finite number where the true value is infinite.
  const value = (v: number | undefined): number => (v === undefined || v >= Number.MAX_VALUE ? Infinity : v);
  const summed = first.orders.map((_, i) => costs.reduce((s, c) => s + value(c.rdp?.values[i]), 0));
  const { epsilon } = epsilonFromRdp(first.orders, summed, budget.delta);
  return epsilon < basic.epsilon || basic.delta > budget.delta ? { epsilon, delta: budget.delta, composition: 'rdp' } : basic;
}

/**
 * The cost of a job whose rounds are the given Gaussian releases, at the job's delta: its epsilon
 * and its RDP curve (infinite values stored as the largest finite number, so the ledger stays
 * JSON-serialisable).
 */
export function jobPrivacyCost(
  events: readonly GaussianEvent[],
  delta: number,
  orders: readonly number[] = DEFAULT_RDP_ORDERS,
  series: FractionalSeries = 'upper-bound',
): PrivacyCost {
  const accountant = new RdpAccountant(orders, series);
  for (const e of events) accountant.compose(e);
  const { epsilon } = accountant.epsilon(delta);
  return {
    epsilon,
    delta,
    rdp: { orders: [...accountant.orders], values: accountant.rdp.map((v) => (Number.isFinite(v) ? v : Number.MAX_VALUE)) },
  };
}

export interface BudgetCheck {
  allowed: boolean;
  spent: SpentPrivacy;
  /** The total if the job ran. */
  after: SpentPrivacy;
  budget: PrivacyBudget;
}

export class PrivacyLedger {
  private state: LedgerState;
  private readonly queue = new SerialQueue();

  private constructor(
    private readonly store: PrivacyLedgerStore,
    state: LedgerState,
  ) {
    this.state = state;
  }

  /** Opens the ledger, starting one with `initialBudget` if the store holds none. */
  static async open(store: PrivacyLedgerStore, initialBudget: PrivacyBudget): Promise<PrivacyLedger> {
    const raw = await store.load();
    if (raw === undefined || raw === null) {
      if (!isBudget(initialBudget)) throw new TroveError('INVALID_INPUT', BAD_BUDGET);
      return new PrivacyLedger(store, { version: 1, budget: { epsilon: initialBudget.epsilon, delta: initialBudget.delta }, entries: [] });
    }
    if (!isState(raw)) {
      throw new TroveError('CORRUPT_DATA', 'The privacy budget ledger is damaged; no job can be checked against it until it is restored.');
    }
    return new PrivacyLedger(store, structuredClone(raw));
  }

  get budget(): PrivacyBudget {
    return { ...this.state.budget };
  }

  get entries(): LedgerEntry[] {
    return this.state.entries.map((e) => structuredClone(e));
  }

  spent(): SpentPrivacy {
    return composeCosts(
      this.state.entries.map((e) => e.cost),
      this.state.budget,
    );
  }

  /** Whether a job costing `cost` fits in what is left of the budget. */
  check(cost: PrivacyCost): BudgetCheck {
    if (!isCost(cost, true)) throw new TroveError('INVALID_INPUT', BAD_COST);
    const budget = this.state.budget;
    const spent = this.spent();
    const after = composeCosts([...this.state.entries.map((e) => e.cost), cost], budget);
    const allowed = after.epsilon <= budget.epsilon + 1e-12 && after.delta <= budget.delta + 1e-18;
    return { allowed, spent, after, budget: { ...budget } };
  }

  /**
   * Charges a job's cost, or refuses it with PRIVACY_BUDGET_EXCEEDED. Charging the same job
   * again with the same cost returns the existing entry; with a different cost it is refused.
   * The charge is saved before this resolves; a failed save leaves the ledger unchanged.
   * `releases` is how many rounds the cost covers: release() lets no more than that leave.
   */
  charge(jobId: string, cost: PrivacyCost, now: Date = new Date(), releases?: number): Promise<LedgerEntry> {
    return this.serialised(async () => {
      if (typeof jobId !== 'string' || jobId.length === 0) throw new TroveError('INVALID_INPUT', 'A job id is required.');
      const existing = this.state.entries.find((e) => e.jobId === jobId);
      if (existing) {
        if (JSON.stringify(existing.cost) === JSON.stringify(cost)) return structuredClone(existing);
        throw new TroveError('INVALID_INPUT', `Job ${jobId} was already charged a different privacy cost.`, { jobId });
      }
      const verdict = this.check(cost);
      if (!verdict.allowed) {
        throw new TroveError(
          'PRIVACY_BUDGET_EXCEEDED',
          `This job would spend privacy epsilon ${verdict.after.epsilon.toFixed(3)} in total, over your budget of ${verdict.budget.epsilon}. It was not run.`,
          { jobId, spentEpsilon: verdict.spent.epsilon, afterEpsilon: verdict.after.epsilon, afterDelta: verdict.after.delta, budget: verdict.budget },
        );
      }
      if (releases !== undefined && !isIndex(releases)) throw new TroveError('INVALID_INPUT', 'The number of releases must be a whole number.');
      const entry: LedgerEntry = { jobId, cost: structuredClone(cost), chargedAt: now.toISOString(), ...(releases === undefined ? {} : { releases, released: [] }) };
      const next: LedgerState = { ...this.state, entries: [...this.state.entries, entry] };
      await this.store.save(structuredClone(next));
      this.state = next;
      return structuredClone(entry);
    });
  }

  /**
   * Records that round `round` of a job is about to leave the machine, or refuses it with
   * ROUND_LIMIT_REACHED: a round at or past the number the charge covers, a round already released
   * (its noise would be spent twice), or a job charged without a release count. Saved before it
   * resolves, so a crash cannot release a round uncounted.
   */
  release(jobId: string, round: number): Promise<void> {
    return this.serialised(async () => {
      const index = this.state.entries.findIndex((e) => e.jobId === jobId);
      const entry = this.state.entries[index];
      if (!entry) throw new TroveError('ROUND_LIMIT_REACHED', 'This job was never charged to your privacy budget, so nothing of it may leave. Join it again.', { jobId });
      const charged = entry.releases;
      if (charged === undefined) {
        throw new TroveError('ROUND_LIMIT_REACHED', 'This job was charged before rounds were counted. Leave it and join it again to keep taking part.', { jobId });
      }
      if (!isIndex(round) || round >= charged) {
        throw new TroveError('ROUND_LIMIT_REACHED', `The coordinator asked for round ${round + 1}, but your budget was charged for ${charged} rounds. Nothing was sent.`, { jobId, round, charged });
      }
      const released = entry.released ?? [];
      if (released.includes(round)) {
        throw new TroveError('ROUND_LIMIT_REACHED', `Round ${round + 1} already left this device once; sending it again would spend more privacy than was charged. Nothing was sent.`, { jobId, round });
      }
      const entries = this.state.entries.slice();
      entries[index] = { ...entry, released: [...released, round] };
      const next: LedgerState = { ...this.state, entries };
      await this.store.save(structuredClone(next));
      this.state = next;
    });
  }

  /** Changes the budget. Lowering it below what is spent is allowed; every later job is then refused. */
  setBudget(budget: PrivacyBudget): Promise<void> {
    return this.serialised(async () => {
      if (!isBudget(budget)) throw new TroveError('INVALID_INPUT', BAD_BUDGET);
      const next: LedgerState = { ...this.state, budget: { epsilon: budget.epsilon, delta: budget.delta } };
      await this.store.save(structuredClone(next));
      this.state = next;
    });
  }

  private serialised<T>(work: () => Promise<T>): Promise<T> {
    return this.queue.run(work);
  }
}

/** A store that keeps the ledger in memory (tests, and hosts without a vault). */
export class MemoryLedgerStore implements PrivacyLedgerStore {
  saved: LedgerState | undefined;
  saves = 0;

  constructor(initial?: unknown) {
    this.saved = initial as LedgerState | undefined;
  }

  load(): Promise<unknown> {
    return Promise.resolve(this.saved === undefined ? undefined : structuredClone(this.saved));
  }

  save(state: LedgerState): Promise<void> {
    this.saves++;
    this.saved = structuredClone(state);
    return Promise.resolve();
  }
}
