// Per-job identities. Each job a contributor joins gets its own Semaphore identity (for anonymous
// reward claims) and its own Ed25519 key (for signing every request to the job's coordinator),
// both derived from the vault's master key and the job's place on-chain. A restore from backup
// gives back the same identities, so claims survive it; two jobs share nothing, so coordinators
// cannot link one job's contributor to another's.
import { Identity } from '@semaphore-protocol/identity';
import { getAddress } from 'ethers';
import sodium from 'libsodium-wrappers-sumo';
import { loadSodium } from '../../../common/secagg/sodium.js';
import { enrollmentRequest } from '../../../common/jobs/enrollment.js';
import type { EnrollRequest } from '../../../common/jobs/protocol.js';
import { ENROLLMENT_PROOF_DEPTH, enrollmentProofMessage, enrollmentScope } from '../../../common/jobs/enrollment-proof.js';
import type { WorkerTask } from '../../../common/worker-protocol.js';
import { toHex } from '../../../common/jobs/client.js';
import type { SigningKeyPair } from '../../../common/secagg/keys.js';
import type { Vault } from '../vault/index.js';

/** Where a job lives: the chain, the JobRegistry contract and the job's id in it. */
export interface JobRef {
  chainId: string;
  registry: string;
  jobId: string;
}

/** The text the job seed is derived over: every part of the job's on-chain name. */
export function jobSeedContext(job: JobRef): string {
  return `trove-job-identity/v1:${job.chainId}:${getAddress(job.registry).toLowerCase()}:${job.jobId}`;
}

function subkey(seed: Uint8Array, label: string): Uint8Array {
  return sodium.crypto_generichash(32, new TextEncoder().encode(label), seed);
}

export class JobIdentity {
  readonly job: JobRef;
  /** The Semaphore identity whose commitment joins each round's group of contributors. */
  readonly semaphore: Identity;
  /** The Ed25519 key every coordinator request and secure-aggregation message is signed with. */
  readonly signing: SigningKeyPair;
  readonly signingKeyHex: string;
  private readonly secrets: Uint8Array[];

  /** `seed` is consumed: it is wiped with the identity. */
  constructor(job: JobRef, seed: Uint8Array) {
    this.job = job;
    const semaphoreKey = subkey(seed, 'semaphore');
    const signingSeed = subkey(seed, 'coordinator-signing');
    const pair = sodium.crypto_sign_seed_keypair(signingSeed);
    this.semaphore = new Identity(semaphoreKey);
    this.signing = { publicKey: pair.publicKey, secretKey: pair.privateKey };
    this.signingKeyHex = toHex(pair.publicKey);
    this.secrets = [seed, semaphoreKey, signingSeed, pair.privateKey];
  }

  /** What the coordinator needs to enroll this identity in the job, with its on-chain authorization. */
  enrollment(chainProof: EnrollRequest['chainProof']): EnrollRequest {
    return enrollmentRequest(this.semaphore, this.job.jobId, this.signingKeyHex, chainProof);
  }

  /** What the worker proves to authorize the on-chain enrollment: the group of one, without a bond. */
  enrollmentProofTask(artifacts: { wasm: string; zkey: string }): Extract<WorkerTask, { kind: 'prove-claim' }> {
    return {
      kind: 'prove-claim',
      identity: this.semaphore.export(),
      group: [this.semaphore.commitment.toString()],
      message: enrollmentProofMessage(this.signingKeyHex).toString(),
      scope: enrollmentScope(BigInt(this.job.chainId), this.job.registry, BigInt(this.job.jobId)).toString(),
      depth: ENROLLMENT_PROOF_DEPTH,
      artifacts,
    };
  }

  /**
   * Zeroes the seed and key bytes this identity holds. The Semaphore library keeps its own
   * scalar as a bigint, which cannot be zeroed: the identity is dropped with it.
   */
  wipe(): void {
    for (const s of this.secrets) sodium.memzero(s);
  }
}

/** Derives a job's identities from the (unlocked) vault. Throws VAULT_LOCKED when locked. */
export async function deriveJobIdentity(vault: Vault, job: JobRef): Promise<JobIdentity> {
  // The common loader: enrollment hashing (common/jobs) needs it resolved, not only libsodium itself.
  await loadSodium();
  return new JobIdentity(job, vault.jobSeed(jobSeedContext(job)));
}

/**
 * The identities of the jobs in use, derived once each and all wiped when the vault locks.
 */
export class JobIdentities {
  private readonly held = new Map<string, JobIdentity>();
  private readonly unsubscribe: () => void;

  constructor(private readonly vault: Vault) {
    this.unsubscribe = vault.onLock(() => this.wipe());
  }

  async get(job: JobRef): Promise<JobIdentity> {
    const key = jobSeedContext(job);
    let id = this.held.get(key);
    if (!id) {
      id = await deriveJobIdentity(this.vault, job);
      this.held.set(key, id);
    }
    return id;
  }

  wipe(): void {
    for (const id of this.held.values()) id.wipe();
    this.held.clear();
  }

  close(): void {
    this.wipe();
    this.unsubscribe();
  }
}
