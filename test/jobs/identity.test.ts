// Per-job identities: derived from the vault, the same after a restore, different for every job,
// and gone from memory when the vault locks.
import { Identity } from '@semaphore-protocol/identity';
import { describe, expect, it } from 'vitest';
import { enrollRequestSchema, enrollmentMessageField } from '../../common/jobs/protocol.js';
import { backupVault, restoreVault } from '../../main/services/vault/index.js';
import { JobIdentities, deriveJobIdentity, type JobRef } from '../../main/services/jobs/identity.js';
import { FAST_KDF, PASSPHRASE, newVault, useTempDir } from '../helpers/vault.js';
import { proveEnrollment } from '../fixtures/enrollment-proof.js';

const t = useTempDir();
const REGISTRY = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const job = (jobId: string, over: Partial<JobRef> = {}): JobRef => ({ chainId: '31337', registry: REGISTRY, jobId, ...over });

describe('per-job identities', () => {
  it('are the same for the same job, and survive a backup and restore', async () => {
    const vault = await newVault(t);
    const a = await deriveJobIdentity(vault, job('7'));
    const again = await deriveJobIdentity(vault, job('7'));
    expect(again.semaphore.commitment).toBe(a.semaphore.commitment);
    expect(again.signingKeyHex).toBe(a.signingKeyHex);

    await backupVault(vault, t.file('vault.trovebackup'));
    const restored = t.track(await restoreVault(t.file('vault.trovebackup'), t.file('restored.db'), PASSPHRASE, { kdf: FAST_KDF, autoLockMs: null }));
    const fromRestore = await deriveJobIdentity(restored, job('7'));
    expect(fromRestore.semaphore.commitment).toBe(a.semaphore.commitment);
    expect(fromRestore.signingKeyHex).toBe(a.signingKeyHex);

    // Another vault derives other identities for the very same job.
    const other = await deriveJobIdentity(await newVault(t, {}, 'other.db'), job('7'));
    expect(other.semaphore.commitment).not.toBe(a.semaphore.commitment);
    expect(other.signingKeyHex).not.toBe(a.signingKeyHex);
  });

  it('share nothing between jobs, chains or registries', async () => {
    const vault = await newVault(t);
    const ids = await Promise.all(
      [job('1'), job('2'), job('1', { chainId: '1' }), job('1', { registry: '0x0000000000000000000000000000000000000001' })].map((j) => deriveJobIdentity(vault, j)),
    );
    const commitments = new Set(ids.map((i) => i.semaphore.commitment));
    const keys = new Set(ids.map((i) => i.signingKeyHex));
    const privateKeys = new Set(ids.map((i) => Buffer.from(i.semaphore.privateKey as Uint8Array).toString('hex')));
    expect(commitments.size).toBe(4);
    expect(keys.size).toBe(4);
    expect(privateKeys.size).toBe(4);
    // The Semaphore key and the signing key of one job are not the same bytes either.
    for (const id of ids) expect(privateKeys.has(Buffer.from(id.signing.secretKey.subarray(0, 32)).toString('hex'))).toBe(false);
  });

  it('sign an enrollment the coordinator can verify with Semaphore, for that job and key only', async () => {
    const vault = await newVault(t);
    const id = await deriveJobIdentity(vault, job('12'));
    const body = enrollRequestSchema.parse(id.enrollment(await proveEnrollment(id.semaphore, { chainId: BigInt(id.job.chainId), registry: id.job.registry }, '12', id.signingKeyHex)));
    expect(BigInt(body.commitment)).toBe(id.semaphore.commitment);
    const publicKey = body.identityPublicKey.map(BigInt) as [bigint, bigint];
    expect(Identity.generateCommitment(publicKey)).toBe(id.semaphore.commitment);
    const signature = { R8: body.identitySignature.R8.map(BigInt) as [bigint, bigint], S: BigInt(body.identitySignature.S) };
    const verifies = (jobId: string, keyHex: string) => Identity.verifySignature(enrollmentMessageField(jobId, keyHex), signature, publicKey);
    expect(verifies('12', id.signingKeyHex)).toBe(true);
    // Replayed for another job, or claimed for another signing key, it does not verify.
    expect(verifies('13', id.signingKeyHex)).toBe(false);
    expect(verifies('12', 'ab'.repeat(32))).toBe(false);
  });

  it('are wiped when the vault locks, and cannot be derived while it is locked', async () => {
    const vault = await newVault(t);
    const identities = new JobIdentities(vault);
    const id = await identities.get(job('3'));
    const secret = id.signing.secretKey;
    expect(secret.some((b) => b !== 0)).toBe(true);
    vault.lock();
    expect(secret.every((b) => b === 0)).toBe(true);
    await expect(identities.get(job('3'))).rejects.toMatchObject({ code: 'VAULT_LOCKED' });
    await vault.unlock(PASSPHRASE);
    const back = await identities.get(job('3'));
    expect(back.signingKeyHex).toBe(id.signingKeyHex);
    identities.close();
  });
});
