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

/** Throws INVALID_JOB_SPEC when the estimate is beyond RESOURCE_LIMITS or the person's own limits. */
export function checkResources(e: ResourceEstimate, limits: { maxMemoryBytes: number; maxSecondsPerRound: number } = RESOURCE_LIMITS): void {
  const memory = Math.min(limits.maxMemoryBytes, RESOURCE_LIMITS.maxMemoryBytes);
  const seconds = Math.min(limits.maxSecondsPerRound, RESOURCE_LIMITS.maxSecondsPerRound);
  if (e.memoryBytes > memory) {
    throw new TroveError('INVALID_JOB_SPEC', `The job would need about ${formatBytes(e.memoryBytes)} of memory to train, more than the ${formatBytes(memory)} Trove allows, so it was refused.`, { memoryBytes: e.memoryBytes });
  }
  if (e.secondsPerRound > seconds) {
    throw new TroveError('INVALID_JOB_SPEC', `The job would train for about ${formatDuration(e.secondsPerRound * 1000)} a round on this computer, more than the ${formatDuration(seconds * 1000)} Trove allows, so it was refused.`, { secondsPerRound: e.secondsPerRound });
  }
}
