// Every failure a user or a peer can meet has a code and a message that says what to do next.
// The code is what programs branch on (and what crosses IPC); the message is for people.

export type TroveErrorCode =
  | 'WRONG_PASSPHRASE'
  | 'WEAK_PASSPHRASE'
  | 'VAULT_LOCKED'
  | 'VAULT_NOT_FOUND'
  | 'VAULT_EXISTS'
  | 'VAULT_BUSY'
  | 'VAULT_TOO_NEW'
  | 'CORRUPT_DATA'
  | 'INTEGRITY_FAILURE'
  | 'DATASET_NOT_FOUND'
  | 'RECORD_NOT_FOUND'
  | 'COLUMN_NOT_FOUND'
  | 'IMPORT_REJECTED'
  | 'UNREADABLE_FILE'
  | 'BACKUP_DAMAGED'
  | 'TARGET_EXISTS'
  | 'CANCELLED'
  | 'INVALID_INPUT'
  // Worker and local training.
  | 'INVALID_JOB_SPEC'
  | 'TRAINING_FAILED'
  | 'BACKEND_UNAVAILABLE'
  | 'GPU_FAILED'
  | 'WORKER_CRASHED'
  | 'WORKER_UNRESPONSIVE'
  | 'WORKER_OUT_OF_MEMORY'
  | 'TASK_TIMEOUT'
  | 'WORKER_STOPPED'
  // Secure aggregation: a peer's message that the protocol does not allow.
  | 'SECAGG_MALFORMED'
  | 'SECAGG_WRONG_ROUND'
  | 'SECAGG_WRONG_STAGE'
  | 'SECAGG_REPLAY'
  | 'SECAGG_BAD_SIGNATURE'
  | 'SECAGG_NOT_NEIGHBOUR'
  | 'SECAGG_UNSAFE_REQUEST'
  | 'SECAGG_INCONSISTENT_SHARES'
  | 'SECAGG_SURVIVORS_UNCONFIRMED'
  | 'SECAGG_MODEL_MISMATCH'
  | 'ROUND_ABORTED'
  // Differential privacy.
  | 'PRIVACY_BUDGET_EXCEEDED'
  | 'ROUND_LIMIT_REACHED'
  // Compute-to-data: a module refused before it runs, one that failed while running, an output
  // outside what the job declared.
  | 'ANALYTICS_MODULE_REFUSED'
  | 'ANALYTICS_MODULE_NOT_APPROVED'
  | 'REVIEW_NOT_FOUND'
  | 'ANALYTICS_MODULE_FAILED'
  | 'ANALYTICS_OUTPUT_REFUSED'
  // Jobs and rounds between the app and a coordinator.
  | 'JOB_SPEC_MISMATCH'
  | 'JOB_NOT_FOUND'
  | 'JOB_NOT_ACTIVE'
  | 'NOT_ENROLLED'
  | 'UNAUTHENTICATED'
  /** A signed request's nonce was already used, expired, or never issued by the coordinator. */
  | 'NONCE_REFUSED'
  | 'RATE_LIMITED'
  | 'PAYLOAD_TOO_LARGE'
  | 'COORDINATOR_UNREACHABLE'
  | 'COORDINATOR_PROTOCOL'
  // A researcher-given address on this computer, a local network or a reserved range.
  | 'ADDRESS_NOT_ALLOWED'
  // The round's roster is not the one frozen on-chain when the round started.
  | 'ROSTER_NOT_ON_CHAIN'
  | 'CHAIN_UNREACHABLE'
  | 'CHAIN_REJECTED'
  // The linked wallet (WalletConnect).
  | 'WALLET_URI_MALFORMED'
  | 'WALLET_WRONG_CHAIN'
  | 'WALLET_RELAY_UNREACHABLE'
  | 'WALLET_REJECTED'
  | 'WALLET_NOT_LINKED'
  // Reward claims.
  | 'PROOF_FAILED'
  /** The coordinator's list of included contributors does not give the group closed on-chain. */
  | 'INCLUDED_LIST_MISMATCH'
  | 'RELAYER_UNREACHABLE'
  /** A relayer answered something the protocol does not allow, or claimed what the chain denies. */
  | 'RELAYER_PROTOCOL'
  | 'CLAIM_REJECTED';

export class TroveError extends Error {
  readonly code: TroveErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: TroveErrorCode, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TroveError';
    this.code = code;
    this.details = details;
  }

  /** A plain object safe to send across a process boundary (no stack, no cause). */
  toJSON(): { code: TroveErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details ? { code: this.code, message: this.message, details: this.details } : { code: this.code, message: this.message };
  }
}

export function isTroveError(err: unknown, code?: TroveErrorCode): err is TroveError {
  return err instanceof TroveError && (code === undefined || err.code === code);
}
