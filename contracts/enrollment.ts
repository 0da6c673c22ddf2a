// A contributor's enrollment proves that its Semaphore commitment belongs to whoever holds its
// per-job signing key: the identity signs enrollmentMessage(jobId, signing key) with EdDSA-Poseidon.
// EdDSA-Poseidon signs one field element, so the text is hashed first (keccak256, shifted right by
// 8 bits to fit the field, as Semaphore hashes its messages). Shared by the app, which signs, and
// the coordinator, which checks.
import { Identity } from '@semaphore-protocol/identity';
import { keccak256, toUtf8Bytes } from 'ethers';
import { enrollmentMessage, type EnrollRequest } from '../common/jobs/protocol.js';

/** The field element an enrollment signature covers. */
export function enrollmentField(jobId: string, signingKeyHex: string): bigint {
  return BigInt(keccak256(toUtf8Bytes(enrollmentMessage(jobId, signingKeyHex)))) >> 8n;
}

/** The body of an enroll request: the identity's commitment and public key, and its signature. */
export function enrollmentRequest(identity: Identity, jobId: string, signingKeyHex: string): EnrollRequest {
  const signature = identity.signMessage(enrollmentField(jobId, signingKeyHex));
  const [x, y] = identity.publicKey;
  return {
    commitment: identity.commitment.toString(),
    identityPublicKey: [x.toString(), y.toString()],
    identitySignature: { R8: [signature.R8[0].toString(), signature.R8[1].toString()], S: signature.S.toString() },
  };
}

/** Whether an enroll request's commitment is its public key's, and the signature covers this job and key. */
export function verifyEnrollmentRequest(request: EnrollRequest, jobId: string, signingKeyHex: string): boolean {
  try {
    const publicKey: [bigint, bigint] = [BigInt(request.identityPublicKey[0]), BigInt(request.identityPublicKey[1])];
    if (Identity.generateCommitment(publicKey) !== BigInt(request.commitment)) return false;
    const signature = {
      R8: [BigInt(request.identitySignature.R8[0]), BigInt(request.identitySignature.R8[1])] as [bigint, bigint],
      S: BigInt(request.identitySignature.S),
    };
    return Identity.verifySignature(enrollmentField(jobId, signingKeyHex), signature, publicKey);
  } catch {
    return false;
  }
}
