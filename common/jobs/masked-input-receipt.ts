// The coordinator's signed receipt for a masked input (EIP-712, ReceiptChallenges.MaskedInputReceipt).
// The coordinator signs one for every masked input it accepts; the contributor checks it and keeps
// it, so that if the round's close omits its input it can challenge the close on-chain and be paid
// from the researcher's stake. One definition for the coordinator (which signs), the app (which
// checks and keeps) and tests (which challenge).
import { AbiCoder, TypedDataEncoder, getAddress, id, keccak256, verifyTypedData, type Signer, type TypedDataDomain } from 'ethers';
import { TroveError } from '../errors.js';

/** What the coordinator acknowledges: ReceiptChallenges.MaskedInputReceipt. */
export interface MaskedInputReceipt {
  jobId: bigint;
  round: bigint;
  /** The roster frozen on-chain for the round (RoundRewards.rosterOf(...).hash), 0x-prefixed. */
  rosterHash: string;
  /** The contributor's enrolled per-job commitment. */
  commitment: bigint;
  /** keccak256 of the masked input message exactly as sent, 0x-prefixed. */
  maskedInputHash: string;
}

/** A receipt with the coordinator's 65-byte signature, as sent and as kept (decimal strings for JSON). */
export interface SignedMaskedInputReceipt {
  jobId: string;
  round: number;
  rosterHash: string;
  commitment: string;
  maskedInputHash: string;
  signature: string;
}

export const MASKED_INPUT_RECEIPT_TYPES = {
  MaskedInputReceipt: [
    { name: 'jobId', type: 'uint256' },
    { name: 'round', type: 'uint256' },
    { name: 'rosterHash', type: 'bytes32' },
    { name: 'commitment', type: 'uint256' },
    { name: 'maskedInputHash', type: 'bytes32' },
  ],
};

/** The EIP-712 domain of receipts: name "Trove", version "1", the chain and the ReceiptChallenges contract. */
export function receiptDomain(chainId: bigint | string, receiptChallenges: string): TypedDataDomain {
  return { name: 'Trove', version: '1', chainId: BigInt(chainId), verifyingContract: getAddress(receiptChallenges) };
}

/** keccak256 of a masked input message as sent. */
export function maskedInputHash(message: Uint8Array): string {
  return keccak256(message);
}

function fields(r: SignedMaskedInputReceipt | MaskedInputReceipt): MaskedInputReceipt {
  return { jobId: BigInt(r.jobId), round: BigInt(r.round), rosterHash: r.rosterHash, commitment: BigInt(r.commitment), maskedInputHash: r.maskedInputHash };
}

/** The coordinator's signature of a receipt under `domain`. */
export async function signMaskedInputReceipt(signer: Signer, domain: TypedDataDomain, receipt: MaskedInputReceipt): Promise<SignedMaskedInputReceipt> {
  const signature = await signer.signTypedData(domain, MASKED_INPUT_RECEIPT_TYPES, receipt);
  return {
    jobId: receipt.jobId.toString(),
    round: Number(receipt.round),
    rosterHash: receipt.rosterHash,
    commitment: receipt.commitment.toString(),
    maskedInputHash: receipt.maskedInputHash,
    signature,
  };
}

/** The digest ReceiptChallenges.receiptDigest computes for a receipt. */
export function receiptDigest(domain: TypedDataDomain, receipt: MaskedInputReceipt): string {
  return TypedDataEncoder.hash(domain, MASKED_INPUT_RECEIPT_TYPES, receipt);
}

/**
 * Checks a receipt before it is kept: signed by the job's coordinator under this deployment's
 * domain, and naming exactly the job, round, frozen roster, commitment and masked input the
 * contributor sent. A receipt that fails would not win a
 * challenge: COORDINATOR_PROTOCOL.
 */
export function checkMaskedInputReceipt(
  received: unknown,
  expected: { domain: TypedDataDomain; coordinator: string; receipt: MaskedInputReceipt },
): SignedMaskedInputReceipt {
  const r = received as Partial<SignedMaskedInputReceipt> | null;
  const invalid = (why: string): TroveError =>
    new TroveError('COORDINATOR_PROTOCOL', 'The coordinator did not acknowledge your contribution properly.', { reason: why });
  if (!r || typeof r !== 'object' || typeof r.signature !== 'string' || typeof r.jobId !== 'string' || typeof r.commitment !== 'string' || typeof r.round !== 'number') {
    throw invalid('The receipt is missing or malformed.');
  }
  const want = expected.receipt;
  let got: MaskedInputReceipt;
  try {
    got = fields(r as SignedMaskedInputReceipt);
  } catch {
    throw invalid('The receipt is malformed.');
  }
  if (got.jobId !== want.jobId || got.round !== want.round || got.commitment !== want.commitment) throw invalid('The receipt names another job, round or contributor.');
  if (String(got.rosterHash).toLowerCase() !== want.rosterHash.toLowerCase()) throw invalid('The receipt names another roster than the one frozen on-chain.');
  if (String(got.maskedInputHash).toLowerCase() !== want.maskedInputHash.toLowerCase()) throw invalid('The receipt names another masked input than the one sent.');
  let signer: string;
  try {
    signer = verifyTypedData(expected.domain, MASKED_INPUT_RECEIPT_TYPES, got, r.signature);
  } catch {
    throw invalid('The receipt signature cannot be read.');
  }
  if (getAddress(signer) !== getAddress(expected.coordinator)) throw invalid(`The receipt is signed by ${signer}, not by the job's coordinator.`);
  return { ...(r as SignedMaskedInputReceipt) };
}

/**
 * The scope of the identity's proof that chooses where a challenge's compensation goes:
 * keccak256(abi.encode(chainId, receiptChallenges, jobId, round, keccak256("trove-challenge"))),
 * the value ReceiptChallenges.challengeScopeOf returns.
 */
export function challengeScope(chainId: bigint, receiptChallenges: string, jobId: bigint, round: bigint): bigint {
  const encoded = AbiCoder.defaultAbiCoder().encode(
    ['uint256', 'address', 'uint256', 'uint256', 'bytes32'],
    [chainId, getAddress(receiptChallenges), jobId, round, id('trove-challenge')],
  );
  return BigInt(keccak256(encoded));
}

/** The message of that proof: keccak256(abi.encode(recipient)). */
export function challengeMessage(recipient: string): bigint {
  return BigInt(keccak256(AbiCoder.defaultAbiCoder().encode(['address'], [getAddress(recipient)])));
}
