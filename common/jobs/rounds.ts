// What both sides of a job derive the same way: the id and secure-aggregation parameters of each
// round. The coordinator proposes parameters; the app accepts only these, so a coordinator cannot
// lower the survivor minimum the privacy promise rests on, or change the vector's shape.
import { TroveError } from '../errors.js';
import { ROUND_ID_BYTES, type RoundParams } from '../secagg/params.js';
import { neighbourhoodFor } from '../secagg/sizing.js';
import { checkShareVariance, noisyRoundParams, roundShareVariance, type SumNoise } from '../dp/integer-noise.js';
import { weightedSensitivity } from '../dp/noise.js';
import { sodiumNow } from '../secagg/sodium.js';
import { analyticsClipRange, analyticsSumNoise } from '../analytics/release.js';
import { canonicalJson } from './document.js';
import { isAnalyticsJob, vectorLengthOf, type AnyJobDocument } from './kinds.js';

const MODEL_CONTEXT = 'trove/model/v1';

/** BLAKE2b-256 of a model's weights as float32 little-endian, under a context (call after loadSodium). */
export function modelHashOf(weights: Float32Array): Uint8Array {
  const sodium = sodiumNow();
  const bytes = new Uint8Array(4 * weights.length);
  const view = new DataView(bytes.buffer);
  weights.forEach((w, i) => view.setFloat32(4 * i, w, true));
  const state = sodium.crypto_generichash_init(null, 32);
  sodium.crypto_generichash_update(state, sodium.from_string(MODEL_CONTEXT));
  sodium.crypto_generichash_update(state, bytes);
  return sodium.crypto_generichash_final(state, 32);
}

/** 16 bytes naming round `round` of job `jobId` on chain `chainId` (BLAKE2b; call after loadSodium). */
export function roundIdFor(chainId: string, jobId: string, round: number): Uint8Array {
  const sodium = sodiumNow();
  return sodium.crypto_generichash(ROUND_ID_BYTES, sodium.from_string(`trove-round/v1:${chainId}:${jobId}:${round}`), null);
}

const QUESTION_CONTEXT = 'trove/analytics-question/v1';

/**
 * What an analytics round's secure aggregation is bound to in place of a model: BLAKE2b-256 of the
 * signed question (call after loadSodium), so every neighbour's advert names the same question.
 */
export function questionHashOf(doc: AnyJobDocument): Uint8Array {
  const sodium = sodiumNow();
  const spec = isAnalyticsJob(doc) ? doc.analytics : doc.training;
  return sodium.crypto_generichash(32, sodium.from_string(`${QUESTION_CONTEXT}:${canonicalJson(spec)}`), null);
}

/** The parameters of one round of a job with `clientCount` invited contributors. */
export function roundParamsFor(doc: AnyJobDocument, roundId: Uint8Array, clientCount: number, modelHash: Uint8Array): RoundParams {
  return noisyRoundParams(
    {
      modelHash,
      roundId,
      clientCount,
      vectorLength: vectorLengthOf(doc),
      // An analytics output is checked against its bounds before it gets here, so nothing is clamped.
      clipRange: isAnalyticsJob(doc) ? analyticsClipRange(doc.analytics) : doc.aggregation.clipRange,
      minimumSurvivors: Math.min(clientCount, Math.max(doc.minContributors, neighbourhoodFor(clientCount).threshold)),
      deadlines: doc.aggregation.deadlines,
    },
    jobNoise(doc),
  );
}

/** The noise the job's document asks of each round's sum. */
export function jobNoise(doc: AnyJobDocument): SumNoise {
  if (isAnalyticsJob(doc)) return analyticsSumNoise(doc.analytics, doc.privacy.noiseMultiplier);
  return {
    sensitivity: weightedSensitivity({ clipNorm: doc.training.local.clipNorm, clipRange: doc.aggregation.clipRange }),
    noiseMultiplier: doc.privacy.noiseMultiplier,
  };
}

/**
 * Throws SECAGG_UNSAFE_REQUEST unless `proposed` is what roundParamsFor gives for this job, round
 * and roster size: the check a contributor runs before sending anything.
 */
export function checkRoundParams(doc: AnyJobDocument, proposed: RoundParams, expectedRoundId: Uint8Array, servedModelHash: Uint8Array): void {
  const expected = roundParamsFor(doc, expectedRoundId, proposed.clientCount, servedModelHash);
  const same =
    proposed.roundId.length === expected.roundId.length &&
    proposed.roundId.every((b, i) => b === expected.roundId[i]) &&
    proposed.neighbourCount === expected.neighbourCount &&
    proposed.threshold === expected.threshold &&
    proposed.minimumSurvivors === expected.minimumSurvivors &&
    proposed.vectorLength === expected.vectorLength &&
    proposed.clipRange === expected.clipRange &&
    proposed.quantizationBits === expected.quantizationBits &&
    proposed.modulusBits === expected.modulusBits &&
    proposed.modelHash.length === expected.modelHash.length &&
    proposed.modelHash.every((b, i) => b === expected.modelHash[i]);
  if (!same) {
    throw new TroveError('SECAGG_UNSAFE_REQUEST', 'The coordinator proposed round settings that differ from the job you agreed to. Nothing was sent.', {
      proposed: { ...proposed, roundId: undefined },
    });
  }
  // The ledger charged for shares of at least MIN_SHARE_STDDEV quantization steps.
  checkShareVariance(roundShareVariance(proposed, jobNoise(doc)));
  if (proposed.clientCount < doc.minContributors) {
    throw new TroveError('SECAGG_UNSAFE_REQUEST', `The round invites ${proposed.clientCount} contributors, fewer than the job's minimum of ${doc.minContributors}. Nothing was sent.`);
  }
}

/**
 * Throws ROUND_LIMIT_REACHED for a round index at or past the job's number of rounds: the privacy
 * cost a contributor was charged covers `doc.rounds` releases and no more.
 */
export function checkRoundIndex(doc: AnyJobDocument, round: number): void {
  if (!Number.isInteger(round) || round < 0 || round >= doc.rounds) {
    throw new TroveError('ROUND_LIMIT_REACHED', `The coordinator invited you to round ${round + 1} of a job that has ${doc.rounds} rounds. Nothing was sent.`, {
      round,
      rounds: doc.rounds,
    });
  }
}
