// The explicit parameters of one secure-aggregation round. Every party derives the same neighbour
// graph and checks the same invariants from these, so a round cannot start with settings that
// would overflow the modulus or let the server collect both kinds of shares of one client.
import { TroveError } from '../errors.js';
import { neighbourhoodFor, type CollusionAssumptions } from './sizing.js';

export const ROUND_ID_BYTES = 16;
export const MODEL_HASH_BYTES = 32;
/** The model hash of a round that aggregates something other than a model update. */
export const NO_MODEL = new Uint8Array(MODEL_HASH_BYTES);

/** How long the server waits in each stage before it closes it with whoever has answered. */
export interface StageDeadlines {
  advertiseKeysMs: number;
  shareKeysMs: number;
  collectMaskedInputsMs: number;
  unmaskMs: number;
}

export interface RoundParams {
  /** 16 bytes naming this round (job and round number); bound into every message and key. */
  roundId: Uint8Array;
  /** n: clients invited to the round; their ids are 0..n-1, indexes into the signing roster. */
  clientCount: number;
  /** k: neighbours per client in the k-regular graph; k = n - 1 is full SecAgg. */
  neighbourCount: number;
  /** t: Shamir threshold; also the fewest neighbours a client accepts at each stage. */
  threshold: number;
  /** The fewest contributors whose sum may be revealed (at least t; distributed DP relies on it). */
  minimumSurvivors: number;
  /** d: length of every input vector. */
  vectorLength: number;
  /** Inputs are clipped to [-clipRange, clipRange] before quantization. */
  clipRange: number;
  /** b: fixed-point bits per coordinate; n * (2^b - 1) must fit the modulus. */
  quantizationBits: number;
  /** m: sums are taken modulo 2^m (8..32; 32 by default). */
  modulusBits: number;
  deadlines: StageDeadlines;
  /**
   * BLAKE2b-256 of the model every client of the round trains from; each client signs the hash it
   * was served into its key advert, and its neighbours refuse a different one.
   */
  modelHash: Uint8Array;
}

export const DEFAULT_DEADLINES: StageDeadlines = {
  advertiseKeysMs: 60_000,
  shareKeysMs: 60_000,
  collectMaskedInputsMs: 300_000,
  unmaskMs: 60_000,
};

const MAX_CLIENTS = 1 << 16;
const MAX_VECTOR_LENGTH = 1 << 26;

function invalid(message: string, details?: Record<string, unknown>): TroveError {
  return new TroveError('INVALID_INPUT', message, details);
}

function isCount(x: unknown, min: number, max: number): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max;
}

/** Checks every invariant the protocol relies on; throws INVALID_INPUT naming the first broken one. */
export function validateRoundParams(p: RoundParams): RoundParams {
  if (!(p.roundId instanceof Uint8Array) || p.roundId.length !== ROUND_ID_BYTES) {
    throw invalid(`A round id must be ${ROUND_ID_BYTES} bytes.`);
  }
  if (!isCount(p.clientCount, 2, MAX_CLIENTS)) throw invalid(`A round needs between 2 and ${MAX_CLIENTS} clients.`);
  const n = p.clientCount;
  if (!isCount(p.neighbourCount, 1, n - 1)) throw invalid('Each client needs between 1 and n - 1 neighbours.', { n });
  const k = p.neighbourCount;
  if (k < n - 1 && k % 2 !== 0) throw invalid('The neighbour count must be even unless every client neighbours every other (k = n - 1).', { k, n });
  if (!isCount(p.threshold, 1, k)) throw invalid('The threshold must be between 1 and the neighbour count.', { t: p.threshold, k });
  // With 2t <= k a curious server could ask half of a client's neighbours for its self-mask shares
  // and the other half for its mask-key shares, and reconstruct both.
  if (2 * p.threshold <= k) throw invalid('The threshold must be more than half of the neighbour count.', { t: p.threshold, k });
  if (!isCount(p.minimumSurvivors, p.threshold, n)) throw invalid('The minimum number of survivors must be between the threshold and n.');
  if (!isCount(p.vectorLength, 1, MAX_VECTOR_LENGTH)) throw invalid(`The vector length must be between 1 and ${MAX_VECTOR_LENGTH}.`);
  if (!(typeof p.clipRange === 'number' && Number.isFinite(p.clipRange) && p.clipRange > 0)) throw invalid('The clipping range must be a positive number.');
  if (!isCount(p.modulusBits, 8, 32)) throw invalid('The modulus must be 2^m with m between 8 and 32.');
  if (!isCount(p.quantizationBits, 1, p.modulusBits - 1)) throw invalid('Quantization needs between 1 and m - 1 bits.');
  if (n * (2 ** p.quantizationBits - 1) > 2 ** p.modulusBits - 1) {
    throw invalid('n clients at this quantization could overflow the modulus: use fewer bits or a larger modulus.', {
      n,
      quantizationBits: p.quantizationBits,
      modulusBits: p.modulusBits,
    });
  }
  if (!(p.modelHash instanceof Uint8Array) || p.modelHash.length !== MODEL_HASH_BYTES) throw invalid(`A model hash must be ${MODEL_HASH_BYTES} bytes.`);
  const d = p.deadlines;
  for (const key of ['advertiseKeysMs', 'shareKeysMs', 'collectMaskedInputsMs', 'unmaskMs'] as const) {
    if (!isCount(d?.[key], 1, 0xffffffff)) throw invalid(`The ${key} deadline must be a positive number of milliseconds.`);
  }
  return p;
}

/**
 * Parameters with defaults suited to n clients: k and t sized for the stated collusion and dropout
 * assumptions (sizing.ts, after Bell et al. 2020), and the quantization uses as many bits as the
 * modulus allows for n clients. A caller that fixes k alone gets t = floor(k/2) + 1.
 */
export function recommendedRoundParams(options: {
  roundId: Uint8Array;
  clientCount: number;
  vectorLength: number;
  clipRange: number;
  neighbourCount?: number;
  threshold?: number;
  minimumSurvivors?: number;
  quantizationBits?: number;
  modulusBits?: number;
  deadlines?: Partial<StageDeadlines>;
  assumptions?: CollusionAssumptions;
  modelHash?: Uint8Array;
}): RoundParams {
  const n = options.clientCount;
  const modulusBits = options.modulusBits ?? 32;
  const sized = options.neighbourCount === undefined ? neighbourhoodFor(n, options.assumptions) : undefined;
  const k = options.neighbourCount ?? sized?.neighbourCount ?? n - 1;
  const threshold = options.threshold ?? sized?.threshold ?? Math.floor(k / 2) + 1;
  const maxBits = Math.floor(Math.log2((2 ** modulusBits - 1) / n + 1));
  const params: RoundParams = {
    roundId: options.roundId,
    clientCount: n,
    neighbourCount: k,
    threshold,
    minimumSurvivors: options.minimumSurvivors ?? threshold,
    vectorLength: options.vectorLength,
    clipRange: options.clipRange,
    // Two bits below the most n clients allow: a noised sum may run past n clipped inputs' range.
    quantizationBits: options.quantizationBits ?? Math.max(1, Math.min(maxBits - 2, modulusBits - 1, 24)),
    modulusBits,
    deadlines: { ...DEFAULT_DEADLINES, ...options.deadlines },
    modelHash: options.modelHash ?? NO_MODEL,
  };
  return validateRoundParams(params);
}
