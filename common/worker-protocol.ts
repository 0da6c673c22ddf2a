// The messages between the main process and the worker process, declared once for both sides.
// Messages travel by structured clone (Node's advanced IPC serialization, or Electron's
// utilityProcess port), so typed arrays cross as they are. The main side checks every message it
// receives against these schemas: a worker runs untrusted and heavy work and may misbehave.
import { z } from 'zod';
import type { ColumnarRows } from './dataset.js';
import type { TroveErrorCode } from './errors.js';

/** Where a task's rows come from. Only the columns a task needs are ever handed over. */
export type TaskDataSource =
  /** Rows already decoded, in the order the task reads its columns (tests, small jobs). */
  | { kind: 'inline'; rows: ColumnarRows }
  /**
   * A grant to read part of one dataset straight from the vault file: the worker opens the
   * file read-only, unseals only these columns with the dataset's key, and drops them when the
   * task ends.
   */
  | { kind: 'vault-grant'; vaultPath: string; vaultId: string; datasetId: string; dataKey: Uint8Array; columns: string[] };

export type WorkerTask =
  | {
      kind: 'train-local';
      /** The job's training spec (validated by the worker before any training). */
      spec: unknown;
      globalWeights: Float32Array | null;
      data: TaskDataSource;
      /** The person's setting "train on the GPU"; absent means on. */
      useGpu?: boolean;
    }
  | {
      kind: 'analyze';
      /** The job's analytics spec (validated by the worker before any data is read). */
      spec: unknown;
      /** The researcher's WebAssembly module, for a module job; its hash is checked against the spec. */
      module?: Uint8Array;
      /** Module hashes the person approved or trusts: a module not among them is refused. */
      approvedModules: string[];
      data: TaskDataSource;
    }
  /**
   * A Semaphore v4 proof for an anonymous reward claim. The identity's private key crosses to the
   * worker process on this machine only; the proof that comes back reveals nothing of it.
   */
  | {
      kind: 'prove-claim';
      /** The per-job identity's private key (Identity.export(), base64). */
      identity: string;
      /** The round's group: included members' commitments in the order the contract built it. */
      group: string[];
      message: string;
      scope: string;
      depth: number;
      /** Circuit artifact files (wasm, zkey); the worker reads each once and keeps it loaded. */
      artifacts: { wasm: string; zkey: string };
    }
  /** Probes of the worker itself; honoured only by a worker started with diagnostics on. */
  | { kind: 'diagnostic'; action: 'echo' | 'crash' | 'hang' | 'exhaust-memory' | 'exhaust-external-memory' | 'exhaust-memory-blocked'; value?: unknown };

export interface TrainingProgress {
  kind: 'batch' | 'epoch';
  epoch: number;
  epochs: number;
  /** Batches done in this epoch (for 'epoch', all of them). */
  batch: number;
  batches: number;
  loss: number;
}

export interface BackendReport {
  backend: 'webgpu' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
  engine: 'tfjs' | 'dense-kernel' | 'webgpu';
  reason: string;
}

/** A proof's stages: reading the circuit (first proof only), computing the witness, proving. */
export interface ProofProgress {
  kind: 'proof';
  stage: 'loading-circuit' | 'witness' | 'proving';
}

export type TaskProgress = TrainingProgress | ProofProgress | { kind: 'backend'; backend: BackendReport };

/** A Semaphore v4 proof as @semaphore-protocol/proof returns it, every number in decimal. */
export interface ClaimProof {
  merkleTreeDepth: number;
  merkleTreeRoot: string;
  nullifier: string;
  message: string;
  scope: string;
  points: string[];
}

export interface LocalStepResult {
  /** New local weights minus the global weights, clipped to the spec's L2 norm. */
  update: Float32Array;
  /** Training examples behind the update (held-out rows excluded). */
  exampleCount: number;
  metrics: {
    trainLoss: number;
    heldOutLoss: number | null;
    heldOutAccuracy: number | null;
    heldOutExamples: number;
    droppedRows: number;
  };
  clipping: { norm: number; clipNorm: number; scale: number };
  backend: BackendReport;
  durationMs: number;
}

export interface AnalyticsResult {
  /** The checked output: declared length, finite, within bounds, clipped to the L2 bound. */
  output: Float64Array;
  /** Rows the statistic used (at most the job's maxRows). */
  rows: number;
  durationMs: number;
}

export type TaskResult =
  | { kind: 'train-local'; step: LocalStepResult }
  | { kind: 'analyze'; analytics: AnalyticsResult }
  | { kind: 'prove-claim'; proof: ClaimProof; /** Whether the circuit was already loaded. */ warm: boolean; durationMs: number }
  | { kind: 'diagnostic'; value: unknown };

export interface WireError {
  code: TroveErrorCode;
  message: string;
  details?: Record<string, unknown>;
}

export type ToWorker =
  | { type: 'run'; taskId: string; task: WorkerTask }
  | { type: 'cancel'; taskId: string }
  /** Load what training needs now, while no deadline runs, so the first round starts warm. */
  | { type: 'prepare-training' }
  | { type: 'shutdown' };

export type FromWorker =
  | { type: 'ready'; pid: number; diagnostics: boolean }
  | { type: 'heartbeat'; at: number; heapUsed: number; rss: number }
  | { type: 'progress'; taskId: string; progress: TaskProgress }
  | { type: 'result'; taskId: string; result: TaskResult }
  | { type: 'error'; taskId: string; error: WireError }
  | { type: 'log'; level: 'info' | 'warn'; message: string };

const taskId = z.string().min(1).max(128);

/** Envelope check for messages from the worker; payloads are checked where they are used. */
export const fromWorkerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('ready'), pid: z.number().int(), diagnostics: z.boolean() }),
  z.object({ type: z.literal('heartbeat'), at: z.number(), heapUsed: z.number(), rss: z.number() }),
  z.object({ type: z.literal('progress'), taskId, progress: z.object({ kind: z.enum(['batch', 'epoch', 'backend', 'proof']) }).loose() }),
  z.object({ type: z.literal('result'), taskId, result: z.object({ kind: z.enum(['train-local', 'analyze', 'prove-claim', 'diagnostic']) }).loose() }),
  z.object({
    type: z.literal('error'),
    taskId,
    error: z.object({ code: z.string().min(1).max(64), message: z.string().max(4000), details: z.record(z.string(), z.unknown()).optional() }),
  }),
  z.object({ type: z.literal('log'), level: z.enum(['info', 'warn']), message: z.string().max(4000) }),
]);

const decimal = z.string().regex(/^[0-9]{1,80}$/);

/** What a proof result must look like before the main process uses it. */
export const claimProofSchema = z
  .object({
    merkleTreeDepth: z.number().int().min(1).max(32),
    merkleTreeRoot: decimal,
    nullifier: decimal,
    message: decimal,
    scope: decimal,
    points: z.array(decimal).length(8),
  })
  .strict();

export const HEARTBEAT_INTERVAL_MS = 250;
