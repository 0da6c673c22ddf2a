// A contributor's enrollment proves that its Semaphore commitment belongs to whoever holds its
// per-job signing key: the identity signs enrollmentMessage(jobId, signing key) with EdDSA-Poseidon.
// EdDSA-Poseidon signs one field element, so the text is hashed first (enrollmentMessageField).
// The app signs here; the coordinator checks with Identity.verifySignature.
import { Identity } from '@semaphore-protocol/identity';
import { enrollmentMessageField, type EnrollRequest } from './protocol.js';

/**
 * The body of an enroll request: the identity's commitment and public key, its signature, and its
 * proof authorizing the on-chain enrollment (made by the caller, see enrollment-proof.ts).
 */
export function enrollmentRequest(identity: Identity, jobId: string, signingKeyHex: string, chainProof: EnrollRequest['chainProof']): EnrollRequest {
  const signature = identity.signMessage(enrollmentMessageField(jobId, signingKeyHex));
  const [x, y] = identity.publicKey;
  return {
    commitment: identity.commitment.toString(),
    identityPublicKey: [x.toString(), y.toString()],
    identitySignature: { R8: [signature.R8[0].toString(), signature.R8[1].toString()], S: signature.S.toString() },
    chainProof,
  };
}
