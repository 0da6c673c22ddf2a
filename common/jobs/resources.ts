// What a training job would take on this computer, from the model's shape and the data size,
// before anything runs: parameters, memory, time per round and what is uploaded. Jobs beyond the
// hard limits are refused at discovery, so a memory or time bomb never reaches the worker.
import { TroveError } from '../errors.js';
import { parameterCountOf } from '../jobspec.js';
import { formatBytes, formatCount, formatDuration } from '../units.js';
import { roundVectorLength, type JobDocument } from './document.js';

export interface ResourceEstimate {
  parameters: number;
  /** Peak memory of the worker while training, in bytes. */
  memoryBytes: number;
  /** Training time per round on this computer, in seconds. */
  secondsPerRound: number;
  /** Bytes sent per round: the masked vector, 4 bytes a number. */
  uploadBytes: number;
}

/** Beyond these a job is refused before anything runs (the worker's own limits are above them). */
export const RESOURCE_LIMITS = {
  maxMemoryBytes: 1024 * 1024 * 1024,
  /** Well inside the worker's 30-minute task limit, so a round never ends by running out of time. */
  maxSecondsPerRound: 15 * 60,
} as const;

/** What the person may choose as their own limits in Settings (never above RESOURCE_LIMITS). */
export const MEMORY_LIMIT_CHOICES_MB = [256, 512, 1024] as const;
export const TIME_LIMIT_CHOICES_MINUTES = [1, 5, 15] as const;

export interface PersonalLimits {
  maxMemoryMb: (typeof MEMORY_LIMIT_CHOICES_MB)[number];
  maxMinutesPerRound: (typeof TIME_LIMIT_CHOICES_MINUTES)[number];
}

export const DEFAULT_PERSONAL_LIMITS: PersonalLimits = { maxMemoryMb: 1024, maxMinutesPerRound: 15 };

/** The runtime's own memory before any tensor (measured order of magnitude for the worker). */
const RUNTIME_BYTES = 96 * 1024 * 1024;

/**
 * The estimate for `doc` over `examples` records (at most the job's maxExamples count toward a
 * round) on a computer doing `flopsPerSecond` multiply-adds a second.
 */
export function estimateResources(doc: JobDocument, examples: number, flopsPerSecond: number): ResourceEstimate {
  const t = doc.training;
  const parameters = parameterCountOf(t.model);
  const widths = [t.model.inputWidth, ...t.model.layers.map((l) => (l.type === 'dense' ? l.units : 0))];
  const widest = Math.max(...widths);
  // Weights, gradients and two optimizer moments; activations and their gradients per batch;
  // the examples themselves as float32 rows.
  const memoryBytes = RUNTIME_BYTES + parameters * 4 * 4 + t.local.batchSize * widest * t.model.layers.length * 4 * 2 + examples * (t.model.inputWidth + 1) * 4;
  // A forward and backward pass costs about three multiply-adds per weight per example.
  const work = 3 * parameters * examples * t.local.epochs;
  return { parameters, memoryBytes: Math.round(memoryBytes), secondsPerRound: work / Math.max(1, flopsPerSecond), uploadBytes: roundVectorLength(doc) * 4 };
}

/** The estimate in plain words for the card. */
export function describeResources(e: ResourceEstimate): string {
  const time = e.secondsPerRound < 1 ? 'under a second' : `about ${formatDuration(e.secondsPerRound * 1000)}`;
  return `A model of ${formatCount(e.parameters)} numbers. Training uses up to ${formatBytes(e.memoryBytes)} of memory and takes ${time} a round on this computer; each round sends ${formatBytes(e.uploadBytes)}.`;
}

/** Why the estimate is beyond RESOURCE_LIMITS or the person's own limits, in words (no full stop); null when within. */
export function resourceProblem(e: ResourceEstimate, personal?: PersonalLimits): string | null {
  const memory = Math.min(personal ? personal.maxMemoryMb * 1024 * 1024 : Infinity, RESOURCE_LIMITS.maxMemoryBytes);
  const seconds = Math.min(personal ? personal.maxMinutesPerRound * 60 : Infinity, RESOURCE_LIMITS.maxSecondsPerRound);
  const who = (value: number, hard: number) => (value < hard ? 'you allow in Settings' : 'Trove allows');
  if (e.memoryBytes > memory) {
    return `The job would need about ${formatBytes(e.memoryBytes)} of memory to train, more than the ${formatBytes(memory)} ${who(memory, RESOURCE_LIMITS.maxMemoryBytes)}`;
  }
  if (e.secondsPerRound > seconds) {
    return `The job would train for about ${formatDuration(e.secondsPerRound * 1000)} a round on this computer, more than the ${formatDuration(seconds * 1000)} ${who(seconds, RESOURCE_LIMITS.maxSecondsPerRound)}`;
  }
  return null;
}

/** Throws INVALID_JOB_SPEC when the estimate is beyond RESOURCE_LIMITS or the person's own limits. */
export function checkResources(e: ResourceEstimate, personal?: PersonalLimits): void {
  const problem = resourceProblem(e, personal);
  if (problem) throw new TroveError('INVALID_JOB_SPEC', `${problem}, so it was refused.`, { memoryBytes: e.memoryBytes, secondsPerRound: e.secondsPerRound });
}
