// The HTTP protocol between the app (a contributor) and a researcher's coordinator, declared once
// for both sides. JSON bodies are checked against these schemas on both ends; secure-aggregation
// messages travel as the binary frames of common/secagg/wire.ts.
//
// A contributor is known to the coordinator only by its per-job identity: an Ed25519 signing key
// and a Semaphore commitment, both derived from the vault's master key and the job, so nothing a
// coordinator sees links one job's contributor to another's. Every authenticated request is
// signed with the per-job Ed25519 key (see requestSigningString) over a nonce the coordinator
// handed out, never over the contributor's clock: a clock would tell the coordinator which device
// sent what.
//
//   GET  /v1/nonce                            a fresh request nonce (public; every answer also
//                                             carries one in x-trove-nonce)
//   GET  /v1/specs/:specHash                  the signed job document (public; the on-chain URI)
//   GET  /v1/jobs/:jobId                      public status of a job
//   POST /v1/jobs/:jobId/enroll               join the job (JSON enrollRequest)          [signed]
//   DELETE /v1/jobs/:jobId/enroll             leave the job                               [signed]
//   GET  /v1/jobs/:jobId/round                the current round as this contributor sees it [signed]
//   GET  /v1/jobs/:jobId/models/:round        the global model at the start of a round,
//                                             float32 little-endian                       [signed]
//   GET  /v1/jobs/:jobId/rounds/:round/inbox?after=N&waitMs=M
//                                             secure-aggregation messages for this contributor
//                                             after sequence N, waiting up to M ms          [signed]
//   POST /v1/jobs/:jobId/rounds/:round/messages[?after=N&waitMs=M]
//                                             one secure-aggregation message (binary)       [signed]
//                                             answered, once it is in the round's log, with
//                                             JSON messageAnswer: the round's stage, and with
//                                             after=N this contributor's messages after N (as
//                                             the inbox, waiting up to M ms), so the reply to a
//                                             stage and the next stage's messages take one
//                                             request; a masked input on a chain also gets the
//                                             coordinator's signed receipt (masked-input-receipt.ts)
import { z } from 'zod';
import type { TroveErrorCode } from '../errors.js';
import { sodiumNow } from '../secagg/sodium.js';

export const PROTOCOL_VERSION = 1;

/** Request headers of a signed request; an answer carries a fresh nonce in `nonce` too. */
export const AUTH_HEADERS = {
  key: 'x-trove-key',
  nonce: 'x-trove-nonce',
  signature: 'x-trove-signature',
} as const;

/** How long a nonce stays usable after the coordinator issues it, by the coordinator's clock. */
export const NONCE_LIFETIME_MS = 60_000;

/** A nonce as it travels: hex of expiry (8 bytes), random (16 bytes) and their HMAC (32 bytes). */
export const NONCE_PATTERN = /^[0-9a-f]{112}$/;

/** Largest JSON body a coordinator accepts; binary messages are bounded by the round's vector. */
export const MAX_JSON_BODY_BYTES = 16 * 1024;

/** Longest a contributor may hold an inbox request open. */
export const MAX_INBOX_WAIT_MS = 25_000;

const hex = (bytes: number) => z.string().regex(new RegExp(`^[0-9a-f]{${2 * bytes}}$`));
const decimal = z.string().regex(/^(0|[1-9][0-9]{0,77})$/);
const bytes32 = z.string().regex(/^0x[0-9a-f]{64}$/);

/**
 * The string an authenticated request signs with the per-job Ed25519 key: method, path with its
 * query, a coordinator nonce and the body's SHA-256, so a captured request cannot be replayed
 * against another path, a second time, after its nonce expired, or with another body.
 */
export function requestSigningString(method: string, pathAndQuery: string, nonce: string, bodySha256Hex: string): string {
  return `trove-request/v${PROTOCOL_VERSION}\n${method.toUpperCase()}\n${pathAndQuery}\n${nonce}\n${bodySha256Hex}`;
}

/** What a contributor sends to join a job. */
export const enrollRequestSchema = z
  .object({
    /** Semaphore v4 identity commitment, decimal. */
    commitment: decimal,
    /** The Semaphore identity's Baby Jubjub public key [x, y], decimal; its Poseidon hash is the commitment. */
    identityPublicKey: z.tuple([decimal, decimal]),
    /**
     * The Semaphore identity's EdDSA-Poseidon signature over enrollmentMessage(jobId, signing key):
     * proves the commitment belongs to whoever holds the signing key.
     */
    identitySignature: z.object({ R8: z.tuple([decimal, decimal]), S: decimal }).strict(),
    /**
     * The identity's authorization of its on-chain enrollment (common/jobs/enrollment-proof.ts): a
     * Semaphore proof over its group of one, binding this signing key as roster key and no bond
     * owner, which the coordinator relays to RoundRewards.enroll.
     */
    chainProof: z.object({ nullifier: decimal, points: z.array(decimal).length(8) }).strict(),
  })
  .strict();
export type EnrollRequest = z.infer<typeof enrollRequestSchema>;

/** The text an enrollment's Semaphore signature covers (hashed to a field element by the signer). */
export function enrollmentMessage(jobId: string, signingKeyHex: string): string {
  return `trove-enroll/v${PROTOCOL_VERSION}:${jobId}:${signingKeyHex}`;
}

export const enrollResponseSchema = z
  .object({
    jobId: decimal,
    /** Rounds still to run that this contributor may be invited to. */
    nextRound: z.number().int().min(0),
    enrolled: z.number().int().min(0),
  })
  .strict();
export type EnrollResponse = z.infer<typeof enrollResponseSchema>;

export const JOB_STATES = ['enrolling', 'running', 'finished', 'cancelled'] as const;
export const ROUND_STAGES = ['advertise-keys', 'share-keys', 'collect-masked-inputs', 'consistency-check', 'unmask', 'closing', 'closed', 'aborted'] as const;

export const roundSummarySchema = z
  .object({
    round: z.number().int().min(0),
    stage: z.enum(ROUND_STAGES),
    invited: z.number().int().min(0),
    /** Contributors whose masked update is in the sum (set once unmasked). */
    included: z.number().int().min(0).nullable(),
    /**
     * The roster positions whose masked update is in the sum, increasing: what the round was
     * closed on-chain with. Contributors check it against the group root before claiming.
     */
    includedPositions: z.array(z.number().int().min(0)).max(1 << 20).nullable(),
    /** Accuracy (or loss, for regression) of the new global model on the researcher's validation set. */
    validation: z.object({ loss: z.number(), accuracy: z.number().nullable(), examples: z.number().int() }).strict().nullable(),
    /** The on-chain close: group root and size, and the transaction. */
    closed: z.object({ groupRoot: decimal, groupSize: z.number().int(), tx: bytes32 }).strict().nullable(),
  })
  .strict();
export type RoundSummary = z.infer<typeof roundSummarySchema>;

export const jobStatusSchema = z
  .object({
    jobId: decimal,
    specHash: bytes32,
    state: z.enum(JOB_STATES),
    roundsTotal: z.number().int().min(1),
    enrolled: z.number().int().min(0),
    /** The round in progress or next to run. */
    currentRound: z.number().int().min(0),
    rounds: z.array(roundSummarySchema).max(1000),
  })
  .strict();
export type JobStatus = z.infer<typeof jobStatusSchema>;

/** The current round as one contributor sees it. */
export const roundInfoSchema = z.discriminatedUnion('state', [
  /**
   * No round is open for this contributor yet: ask again after retryAfterMs. `enrolled` is how
   * many take part in the job now; `startsInMs` how soon the next round opens, null while it waits
   * for enough people or for the round in progress to end.
   */
  z
    .object({
      state: z.literal('waiting'),
      nextRound: z.number().int().min(0),
      retryAfterMs: z.number().int().min(0).max(600_000),
      enrolled: z.number().int().min(0),
      startsInMs: z.number().int().min(0).nullable(),
    })
    .strict(),
  z
    .object({
      state: z.literal('invited'),
      round: z.number().int().min(0),
      /** 16-byte secure-aggregation round id, hex. */
      roundId: hex(16),
      /** This contributor's id in the round: its index in the roster. */
      clientId: z.number().int().min(0),
      /** Ed25519 signing keys of everyone invited, by client id, hex. */
      roster: z.array(hex(32)).min(2).max(65536),
      stage: z.enum(ROUND_STAGES),
      /** Milliseconds since the epoch when the current stage closes. */
      stageDeadline: z.number().int(),
      /**
       * The secure-aggregation group this contributor is in (common/jobs/groups.ts): roster
       * positions [start, start + size), group `index` of `count`. Absent: one group of the whole roster.
       */
      group: z
        .object({ index: z.number().int().min(0), count: z.number().int().min(1).max(65536), start: z.number().int().min(0), size: z.number().int().min(2).max(65536) })
        .strict()
        .optional(),
    })
    .strict(),
  /** Every round has run, or the job was cancelled. */
  z.object({ state: z.literal('finished'), reason: z.enum(['completed', 'cancelled', 'expired']) }).strict(),
]);
export type RoundInfo = z.infer<typeof roundInfoSchema>;

export const inboxResponseSchema = z
  .object({
    messages: z
      .array(z.object({ seq: z.number().int().min(1), data: z.string().max(64 * 1024 * 1024) }).strict())
      .max(64),
    stage: z.enum(ROUND_STAGES),
  })
  .strict();
export type InboxResponse = z.infer<typeof inboxResponseSchema>;

/**
 * The answer to a message: the inbox after the `after` the request named (empty when it named
 * none), and the coordinator's receipt for a masked input, checked by the app against the bytes
 * it sent (main/services/rounds/receipts.ts).
 */
export const messageAnswerSchema = inboxResponseSchema.extend({ receipt: z.unknown().optional() }).strict();

/** Every error a coordinator answers with: the HTTP status and a typed body. */
export const errorResponseSchema = z
  .object({ error: z.object({ code: z.string().min(1).max(64), message: z.string().max(2000) }).strict() })
  .strict();
export interface ErrorResponse {
  error: { code: TroveErrorCode; message: string };
}

/**
 * The field element an enrollment's Semaphore signature signs: BLAKE2b-256 of
 * enrollmentMessage(jobId, signingKeyHex), big-endian, shifted right by 8 bits so it is below the
 * Baby Jubjub field (call after loadSodium).
 */
export function enrollmentMessageField(jobId: string, signingKeyHex: string): bigint {
  const sodium = sodiumNow();
  const digest = sodium.crypto_generichash(32, sodium.from_string(enrollmentMessage(jobId, signingKeyHex)), null);
  let value = 0n;
  for (const b of digest) value = (value << 8n) | BigInt(b);
  return value >> 8n;
}
