// Pure rules behind the Jobs screens: which dataset columns may stand for a job's column, the
// mapping the join form starts from, how a token amount reads, and how the privacy budget splits.
// Kept free of React and the DOM so they are tested on their own.
import type { ColumnType } from '../../common/dataset.js';
import type { JobCardValue } from '../../common/ipc/contract.js';
import { formatCount, formatDuration } from './format.js';

export type JobColumn = JobCardValue['columns'][number];
export type ParticipationState = JobCardValue['participation']['state'];
export type RoundStep = NonNullable<JobCardValue['participation']['round']>['step'];

interface DatasetColumn {
  name: string;
  type: ColumnType;
}

/** Numbers feed numeric features and value labels; text, categories and yes/no feed the rest. */
export function isCompatible(kind: JobColumn['kind'], type: ColumnType): boolean {
  if (kind === 'numeric' || kind === 'value') return type === 'number' || type === 'integer';
  return type === 'string' || type === 'category' || type === 'boolean';
}

export function compatibleColumns(kind: JobColumn['kind'], columns: readonly DatasetColumn[]): DatasetColumn[] {
  return columns.filter((c) => isCompatible(kind, c.type));
}

/**
 * The mapping a join form starts from: each job column gets the dataset column of the same name,
 * or failing that the same name in any letter case, when its type fits. Others stay unmapped so
 * the person chooses them.
 */
export function prefillMapping(jobColumns: readonly JobColumn[], columns: readonly DatasetColumn[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const jc of jobColumns) {
    const fits = compatibleColumns(jc.kind, columns);
    const match = fits.find((c) => c.name === jc.name) ?? fits.find((c) => c.name.toLowerCase() === jc.name.toLowerCase());
    if (match) out[jc.name] = match.name;
  }
  return out;
}

/** How many job columns a dataset fills by name: used to suggest the dataset to join with. */
export function matchCount(jobColumns: readonly JobColumn[], columns: readonly DatasetColumn[]): number {
  return Object.keys(prefillMapping(jobColumns, columns)).length;
}

/** The person's column chosen for a job column; a job column named `constructor` is no different. */
export function mappedTo(mapping: Record<string, string>, jobColumn: string): string {
  const mine: unknown = Object.hasOwn(mapping, jobColumn) ? mapping[jobColumn] : undefined;
  return typeof mine === 'string' ? mine : '';
}

/** Whether every job column is mapped to a dataset column of a fitting type. */
export function mappingComplete(jobColumns: readonly JobColumn[], columns: readonly DatasetColumn[], mapping: Record<string, string>): boolean {
  return jobColumns.every((jc) => {
    const chosen = columns.find((c) => c.name === mappedTo(mapping, jc.name));
    return chosen !== undefined && isCompatible(jc.kind, chosen.type);
  });
}

/** An amount split evenly among `parts` people, in the smallest unit (rounded down). */
export function shareOf(smallest: string, parts: number): string {
  if (!/^[0-9]+$/.test(smallest) || parts < 1) return '0';
  return (BigInt(smallest) / BigInt(parts)).toString();
}

export interface BudgetSplit {
  /** Shares of the bar, 0..1 each, summing to at most 1. */
  spent: number;
  job: number;
  left: number;
  /** Epsilon the job itself adds on top of what is spent. */
  jobEpsilon: number;
  /** Epsilon left after this job; negative when the job goes over. */
  leftAfter: number;
  over: boolean;
}

/** The personal budget as a bar: what earlier jobs spent, what this one adds, what stays left. */
export function budgetSplit(privacy: JobCardValue['privacy']): BudgetSplit {
  const total = privacy.budget.epsilon;
  const spent = Math.max(0, privacy.spentEpsilon);
  const after = Math.max(spent, privacy.afterEpsilon);
  const over = !privacy.fits || after > total;
  if (!(total > 0)) return { spent: 0, job: 0, left: 0, jobEpsilon: after - spent, leftAfter: -after, over: true };
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  const spentShare = clamp(spent / total);
  const jobShare = clamp(after / total) - spentShare;
  return {
    spent: spentShare,
    job: jobShare,
    left: clamp(1 - spentShare - jobShare),
    jobEpsilon: after - spent,
    leftAfter: total - after,
    over,
  };
}

/** Epsilon to two significant decimals: enough to compare, not so many it reads as noise. */
export function formatEpsilon(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) < 0.01) return v.toPrecision(1);
  return v.toLocaleString('en', { maximumFractionDigits: 2 });
}

/** States in which the person has agreed to the job and it may still work or has worked. */
export function isJoined(state: ParticipationState): boolean {
  return state === 'joined' || state === 'working' || state === 'waiting' || state === 'paused' || state === 'finished' || state === 'failed';
}

/** Why a job on offer cannot be joined, in a few words for its card; null when nothing stands in the way. */
export function joinBlocker(job: JobCardValue, now: number): string | null {
  if (job.deadline <= now) return 'Closed: its deadline has passed';
  if (budgetSplit(job.privacy).over) return 'Not for you: over your privacy budget';
  return null;
}

/** A job can be joined while it is on offer (again, after leaving), before its deadline, and within the privacy budget. */
export function canJoin(job: JobCardValue, now: number): boolean {
  return (job.participation.state === 'available' || job.participation.state === 'left') && joinBlocker(job, now) === null;
}

/** A job's state as its card shows it: a job on offer that cannot be joined says why, not "Open to join". */
export function stateLabel(job: JobCardValue, now: number): string {
  const state = job.participation.state;
  if (!isJoined(state)) return joinBlocker(job, now) ?? STATE_LABELS[state];
  return STATE_LABELS[state];
}

/** The wait for the next round in words: who has joined, and roughly how long. */
export function waitingInWords(w: NonNullable<JobCardValue['participation']['waiting']>, now: number): string {
  const people = (n: number) => `${formatCount(n)} ${n === 1 ? 'person has' : 'people have'}`;
  if (w.joined < w.needed) {
    const more = w.needed - w.joined;
    return `${people(w.joined)} joined so far; a round needs ${formatCount(w.needed)}. It starts once ${formatCount(more)} more ${more === 1 ? 'joins' : 'join'}.`;
  }
  if (w.startsAt === null) return `${people(w.joined)} joined. Round ${formatCount(roundNumber(w.round))} starts when the round in progress ends.`;
  const left = w.startsAt - now;
  return `${people(w.joined)} joined. Round ${formatCount(roundNumber(w.round))} starts ${left < 5_000 ? 'in a moment' : `in about ${formatDuration(left)}`}.`;
}

export const ROUND_STEPS: readonly RoundStep[] = ['waiting', 'training', 'masking', 'uploading', 'unmasking', 'done'];
/** An analytics round computes the job's question instead of training, and may wait for the person's review. */
export const ANALYTICS_ROUND_STEPS: readonly RoundStep[] = ['waiting', 'computing', 'reviewing', 'masking', 'uploading', 'unmasking', 'done'];

/** Rounds are counted from 0 on the chain and by the coordinator; people count from 1. */
export function roundNumber(round: number): number {
  return round + 1;
}

/** Each participation state in a few words. */
export const STATE_LABELS: Record<ParticipationState, string> = {
  available: 'Open to join',
  joined: 'Joined, waiting for a round',
  working: 'Working on a round',
  waiting: 'Waiting for the next round',
  paused: 'Paused',
  finished: 'Finished',
  left: 'You left this job',
  failed: 'Stopped by a problem',
};

/** Each step of a round as the person sees it happen on their computer. */
export const STEP_LABELS: Record<RoundStep, string> = {
  waiting: 'Waiting for others',
  training: 'Learning from your data',
  computing: 'Computing the answer from your data',
  reviewing: 'Waiting for you to review the result',
  masking: 'Masking the result',
  uploading: 'Sending the masked result',
  unmasking: 'Helping combine the results',
  done: 'Round done',
};

/** What the researcher's account did on-chain before this job, in words. */
export function researcherHistory(h: { earlierJobs: number; roundsClosed: number }): string {
  if (h.earlierJobs === 0) return 'This account has not published a job on Trove before: this is its first.';
  const jobs = `${formatCount(h.earlierJobs)} ${h.earlierJobs === 1 ? 'job' : 'jobs'}`;
  const rounds = h.roundsClosed === 0 ? 'none of their rounds has closed yet' : `${formatCount(h.roundsClosed)} ${h.roundsClosed === 1 ? 'round' : 'rounds'} closed on-chain`;
  return `This account published ${jobs} on Trove before; ${rounds}.`;
}
