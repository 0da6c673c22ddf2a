// The job document: what a researcher signs and what a contributor consents to. Its keccak256
// hash (over canonicalJson(document)) is registered on-chain in JobRegistry with the escrow, and
// the researcher's Ethereum signature over that hash travels with it, so the app can prove that
// the card it shows is the job the chain pays for. Hashing and signing need ethers and live in
// common/jobs/signed-document.ts; this file is the schema and the plain-language facts.
import { z } from 'zod';
import { jobPrivacyCost, type PrivacyCost } from '../dp/ledger.js';
import { equivalentNoiseMultiplier } from '../dp/integer-noise.js';
import { TroveError } from '../errors.js';
import { hasHiddenCharacters, revealText } from './text.js';
import { parameterCountOf, parseTrainingJobSpec, trainingJobSpec, type TrainingJobSpec } from '../jobspec.js';

export const JOB_DOCUMENT_VERSION = 1;

/** Bytes a signed job document may take on the wire. */
export const MAX_JOB_DOCUMENT_BYTES = 256 * 1024;

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte address');
const uint = z.string().regex(/^(0|[1-9][0-9]{0,77})$/, 'must be a whole number written in decimal');
const httpUrl = z
  .string()
  .max(2048)
  .refine((u) => {
    try {
      const url = new URL(u);
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '' && url.hash === '';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL without credentials');
const ms = z.number().int().min(100).max(24 * 3600 * 1000);

export const jobDocumentSchema = z
  .object({
    version: z.literal(JOB_DOCUMENT_VERSION),
    title: z.string().min(1).max(120),
    /** Why the researcher wants this, in plain language, shown on the consent card. */
    purpose: z.string().min(1).max(2000),
    researcher: z.object({ name: z.string().min(1).max(200), address }).strict(),
    /** Where rounds run: the coordinator's HTTP address and the Ethereum account that closes rounds. */
    coordinator: z.object({ url: httpUrl, address }).strict(),
    chainId: uint,
    /** What each column the job reads means, for the consent card (keys are column names). */
    columnNotes: z.record(z.string().min(1).max(256), z.string().max(500)).default({}),
    training: trainingJobSpec,
    rounds: z.number().int().min(1).max(1000),
    /** Fewest contributors whose sum is ever revealed; also the on-chain minimum for a paid round. */
    minContributors: z.number().int().min(2).max(65536),
    privacy: z
      .object({
        /** z: noise standard deviation of each round's sum over the update clipping norm. */
        noiseMultiplier: z.number().min(0).max(100),
        delta: z.number().gt(0).max(1e-3),
      })
      .strict(),
    reward: z
      .object({
        token: address,
        symbol: z.string().min(1).max(12),
        decimals: z.number().int().min(0).max(36),
        /** Paid to each round's contributors together, in the token's smallest unit. */
        perRound: uint,
        /** Optional bond each contributor posts per round, forfeited on dropping out. */
        bond: uint.default('0'),
      })
      .strict(),
    /** Unix seconds after which no round can close. */
    deadline: z.number().int().min(1).max(2 ** 40),
    aggregation: z
      .object({
        /** Each coordinate of an update is clipped to [-clipRange, clipRange] for quantization. */
        clipRange: z.number().positive().max(1e6),
        /** Example counts above this weigh the same (the count travels inside the masked vector). */
        maxExamples: z.number().int().min(1).max(1e9),
        /** FedAvg server step size; 1 is plain FedAvg. */
        serverLearningRate: z.number().positive().max(10).default(1),
        /** Per-stage deadlines of a secure-aggregation round. */
        deadlines: z
          .object({ advertiseKeysMs: ms, shareKeysMs: ms, collectMaskedInputsMs: ms, unmaskMs: ms })
          .strict(),
      })
      .strict(),
  })
  .strict();

export type JobDocument = z.infer<typeof jobDocumentSchema>;
export type JobDocumentInput = z.input<typeof jobDocumentSchema>;

/** A job document with the researcher's signature over its hash. */
export const signedJobSchema = z
  .object({
    document: z.unknown(),
    /** 65-byte EIP-191 personal_sign signature over the 32-byte spec hash, 0x-hex. */
    signature: z.string().regex(/^0x[0-9a-fA-F]{130}$/),
  })
  .strict();
export interface SignedJob {
  document: JobDocument;
  signature: string;
}

function invalid(path: string, message: string): TroveError {
  return new TroveError('INVALID_JOB_SPEC', `The job document is not valid: ${path ? `${path}: ` : ''}${message}.`, { path, reason: message });
}

/**
 * Parses a job document and checks what the schema alone cannot: the training spec's own rules,
 * that every column with a note is read by the job, and that the deadlines fit in a day.
 */
export function parseJobDocument(input: unknown): JobDocument {
  // A key `__proto__` cannot be kept as a key by a plain object (the schema would drop the note,
  // or the column would set a prototype), so a document that uses one is refused outright.
  const notes = typeof input === 'object' && input !== null ? (input as { columnNotes?: unknown }).columnNotes : undefined;
  if (typeof notes === 'object' && notes !== null && Object.hasOwn(notes, '__proto__')) throw invalid('columnNotes.__proto__', 'the name "__proto__" cannot be a column name');
  const parsed = jobDocumentSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(issue.path.map(String).join('.'), issue.message);
  }
  const doc = parsed.data;
  try {
    doc.training = parseTrainingJobSpec(doc.training);
  } catch (err) {
    if (err instanceof TroveError) throw invalid(`training.${String(err.details?.path ?? '')}`, String(err.details?.reason ?? err.message));
    throw err;
  }
  checkPrivacyFloors(doc);
  const read = new Set(columnsRead(doc.training));
  if (read.has('__proto__')) throw invalid('training', 'the name "__proto__" cannot be a column name');
  for (const column of read) {
    if (hasHiddenCharacters(column)) throw invalid('training', `the column name "${revealText(column).text}" holds invisible or direction-changing characters`);
  }
  for (const column of Object.keys(doc.columnNotes)) {
    if (!read.has(column)) throw invalid(`columnNotes.${column}`, 'the job does not read this column');
  }
  return doc;
}

/**
 * The privacy a job must offer before Trove shows it (docs/jobs.md says why each one is where it
 * is). Below the noise floor one round alone costs more than twice the default budget; a delta
 * above its ceiling is a real chance of a full leak; and each contributor adds only
 * noiseMultiplier / sqrt(minContributors) of the round's noise, so a large group of the
 * researcher's own identities could leave a contributor with almost none of it.
 */
export const PRIVACY_FLOORS = {
  minNoiseMultiplier: 0.3,
  maxNoiseMultiplier: 100,
  minDelta: 1e-12,
  maxDelta: 1e-5,
  minContributors: 2,
  maxMinContributors: 1000,
  /** noiseMultiplier / sqrt(minContributors): the noise one contributor adds on its own. */
  minOwnNoiseMultiplier: 0.1,
} as const;

function checkPrivacyFloors(doc: JobDocument): void {
  const f = PRIVACY_FLOORS;
  const { noiseMultiplier: z, delta } = doc.privacy;
  if (!(z >= f.minNoiseMultiplier && z <= f.maxNoiseMultiplier)) {
    throw invalid('privacy.noiseMultiplier', `the noise multiplier ${z} is outside what Trove accepts (${f.minNoiseMultiplier} to ${f.maxNoiseMultiplier}): too little noise to protect you`);
  }
  if (!(delta >= f.minDelta && delta <= f.maxDelta)) {
    throw invalid('privacy.delta', `delta ${delta} is outside what Trove accepts (${f.minDelta} to ${f.maxDelta})`);
  }
  const m = doc.minContributors;
  if (!(m >= f.minContributors && m <= f.maxMinContributors)) {
    throw invalid('minContributors', `a group of at least ${m} is outside what Trove accepts (${f.minContributors} to ${f.maxMinContributors})`);
  }
  const own = ownNoiseMultiplier(doc);
  if (own < f.minOwnNoiseMultiplier) {
    throw invalid(
      'minContributors',
      `with noise multiplier ${z} split over at least ${m} people, your own share of the noise (${own.toFixed(3)}) is below ${f.minOwnNoiseMultiplier}: if the others were the researcher's own, almost nothing would protect you`,
    );
  }
}

/** The noise one contributor adds on its own: the round's multiplier split over the smallest group. */
export function ownNoiseMultiplier(doc: JobDocument): number {
  return doc.privacy.noiseMultiplier / Math.sqrt(doc.minContributors);
}

/**
 * JSON with object keys sorted and no whitespace: the exact bytes that are hashed. Numbers are
 * written as JavaScript writes them, which is stable for the finite numbers the schema allows.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TroveError('INVALID_INPUT', 'A job document cannot hold a number that is not finite.');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TroveError('INVALID_INPUT', 'A job document holds only JSON values.');
}

/** Every dataset column the job reads: its features, then its label. */
export function columnsRead(spec: TrainingJobSpec): string[] {
  return [...spec.features.map((f) => f.column), spec.label.column];
}

/**
 * The (epsilon, delta) the job spends from a contributor's budget if they take part in every round:
 * `doc.rounds` releases of the distributed discrete Gaussian mechanism (integer-noise.ts).
 */
export function jobDocumentPrivacyCost(doc: JobDocument): PrivacyCost {
  const noiseMultiplier = equivalentNoiseMultiplier({ noiseMultiplier: doc.privacy.noiseMultiplier, minContributors: doc.minContributors }, roundVectorLength(doc));
  return jobPrivacyCost([{ noiseMultiplier, steps: doc.rounds }], doc.privacy.delta);
}

/**
 * The (epsilon, delta) the job spends over all its rounds if every other member of the smallest
 * group were the researcher's own: only this contributor's share of the noise protects it.
 */
export function jobDocumentWorstCaseCost(doc: JobDocument): PrivacyCost {
  return jobPrivacyCost([{ noiseMultiplier: ownNoiseMultiplier(doc), steps: doc.rounds }], doc.privacy.delta);
}

/** Length of the vector each contributor submits per round: the model's weights plus the example weight. */
export function roundVectorLength(doc: JobDocument): number {
  return parameterCountOf(doc.training.model) + 1;
}
