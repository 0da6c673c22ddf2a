// What a contributor's app and a relayer say to each other over HTTP. A relayer is anyone's
// service: the app checks every answer against these schemas, and checks on-chain whatever a
// relayer says happened there.
import { z } from 'zod';

const decimal = z.string().regex(/^[0-9]{1,80}$/);
const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/);
const txHash = z.string().regex(/^0x[0-9a-fA-F]{64}$/);

/** Claims one request may carry. */
export const MAX_CLAIMS_PER_REQUEST = 32;
export const MAX_RELAYER_BODY_BYTES = 64 * 1024;

export const relayedClaimSchema = z
  .object({
    jobId: decimal,
    round: z.number().int().min(0).max(2 ** 32 - 1),
    recipient: address,
    /** The relayer the proof pays its fee to, and the fee, both bound by the proof's message. */
    relayer: address,
    fee: decimal,
    nullifier: decimal,
    merkleTreeDepth: z.number().int().min(1).max(32),
    points: z.array(decimal).length(8),
  })
  .strict();
export type RelayedClaim = z.infer<typeof relayedClaimSchema>;

export const submitRequestSchema = z
  .object({
    chainId: decimal,
    roundRewards: address,
    claims: z.array(relayedClaimSchema).min(1).max(MAX_CLAIMS_PER_REQUEST),
  })
  .strict();
export type SubmitRequest = z.infer<typeof submitRequestSchema>;

export const CLAIM_STATUSES = ['pending', 'submitted', 'claimed', 'rejected'] as const;

export const claimStatusSchema = z
  .object({
    nullifier: decimal,
    status: z.enum(CLAIM_STATUSES),
    tx: txHash.nullable(),
    reason: z.string().max(500).nullable(),
  })
  .strict();
export type ClaimStatus = z.infer<typeof claimStatusSchema>;

export const submitResponseSchema = z.object({ claims: z.array(claimStatusSchema).max(MAX_CLAIMS_PER_REQUEST) }).strict();
export type SubmitResponse = z.infer<typeof submitResponseSchema>;

/** What a relayer charges and where: shown to the person before they agree. */
export const relayerInfoSchema = z
  .object({
    chainId: decimal,
    roundRewards: address,
    relayer: address,
    /** Fee per claim, in the claimed round's token units. */
    fee: decimal,
  })
  .strict();
export type RelayerInfo = z.infer<typeof relayerInfoSchema>;

export const relayerErrorSchema = z.object({ error: z.object({ code: z.string().max(64), message: z.string().max(1000) }).strict() }).strict();
