// The on-chain binding of a job document: its hash is what JobRegistry stores, and the
// researcher's EIP-191 signature over that hash proves who wrote it. Shared by the coordinator
// (which signs and publishes) and the app (which verifies before showing a consent card).
import { getAddress, getBytes, keccak256, toUtf8Bytes, verifyMessage, type Signer } from 'ethers';
import { canonicalJson, signedJobSchema } from './document.js';
import { parseAnyJobDocument, type AnyJobDocument } from './kinds.js';
import { TroveError } from '../errors.js';

/** keccak256 of the document's canonical JSON: the specHash registered on-chain. */
export function jobSpecHash(document: AnyJobDocument): string {
  return keccak256(toUtf8Bytes(canonicalJson(document)));
}

/** Signs the document's hash with the researcher's key. */
export async function signJobDocument<D extends AnyJobDocument>(document: D, researcher: Signer): Promise<{ document: D; signature: string }> {
  const address = await researcher.getAddress();
  if (getAddress(document.researcher.address) !== getAddress(address)) {
    throw new TroveError('INVALID_JOB_SPEC', `The document names researcher ${document.researcher.address}, but the signing key is ${address}.`);
  }
  return { document, signature: await researcher.signMessage(getBytes(jobSpecHash(document))) };
}

/**
 * Checks a signed job document fetched from anywhere against what the chain says: the document
 * parses (a training or an analytics job), hashes to `expectedHash`, and was signed by `expectedResearcher`. Throws
 * JOB_SPEC_MISMATCH saying which check failed; returns the parsed document and its hash.
 */
export function verifySignedJob(input: unknown, expectedHash: string, expectedResearcher: string): { document: AnyJobDocument; specHash: string } {
  const envelope = signedJobSchema.safeParse(input);
  if (!envelope.success) throw new TroveError('JOB_SPEC_MISMATCH', 'The job document is not a signed job document.');
  const document = parseAnyJobDocument(envelope.data.document);
  const specHash = jobSpecHash(document);
  if (specHash !== expectedHash.toLowerCase()) {
    throw new TroveError('JOB_SPEC_MISMATCH', 'The job document does not match the hash registered on-chain: it was changed after publishing. It was not shown.', {
      expected: expectedHash,
      actual: specHash,
    });
  }
  let signer: string;
  try {
    signer = verifyMessage(getBytes(specHash), envelope.data.signature);
  } catch {
    throw new TroveError('JOB_SPEC_MISMATCH', 'The researcher signature on the job document cannot be read.');
  }
  if (signer !== getAddress(expectedResearcher) || getAddress(document.researcher.address) !== signer) {
    throw new TroveError('JOB_SPEC_MISMATCH', 'The job document was not signed by the researcher who published it on-chain.', {
      signer,
      researcher: expectedResearcher,
    });
  }
  return { document, specHash };
}
