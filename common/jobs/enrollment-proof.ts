// How an on-chain enrollment is authorized by the identity itself: a Semaphore v4 proof over the
// group of one whose root is the commitment, with the job's enrollment scope and a message that
// binds the roster key and the bond's owner (RoundRewards.enroll checks it). Shared by the app
// (which proves), the coordinator (which relays) and tests.
import { AbiCoder, ZeroAddress, getAddress, id, keccak256 } from 'ethers';

/** Depth of the group of one an enrollment proof is made over (RoundRewards.ENROLLMENT_DEPTH). */
export const ENROLLMENT_PROOF_DEPTH = 1;

/** RoundRewards.EnrollmentProof as ethers encodes it. */
export interface EnrollmentProof {
  nullifier: bigint;
  points: bigint[];
}

/**
 * The scope an enrollment proof for `jobId` must use: keccak256(abi.encode(chainId, registry,
 * jobId, keccak256("trove-enroll"))), the value RoundRewards.enrollmentScopeOf returns. It names the
 * registry, which the app knows before it enrolls, and a purpose no claim scope can take.
 */
export function enrollmentScope(chainId: bigint, registry: string, jobId: bigint): bigint {
  const encoded = AbiCoder.defaultAbiCoder().encode(['uint256', 'address', 'uint256', 'bytes32'], [chainId, getAddress(registry), jobId, id('trove-enroll')]);
  return BigInt(keccak256(encoded));
}

/**
 * The message an enrollment proof signs: keccak256(abi.encode(rosterKey, bondOwner)). The bond's
 * owner is the account that pays (and may reclaim) the job's bond; zero for a job without one,
 * so any relayer can submit it.
 */
export function enrollmentProofMessage(rosterKeyHex: string, bondOwner: string = ZeroAddress): bigint {
  const key = rosterKeyHex.startsWith('0x') ? rosterKeyHex : `0x${rosterKeyHex}`;
  const encoded = AbiCoder.defaultAbiCoder().encode(['bytes32', 'address'], [key, getAddress(bondOwner)]);
  return BigInt(keccak256(encoded));
}

/** The calldata shape of a proof made with enrollmentScope(...) and enrollmentProofMessage(...). */
export function toEnrollmentProof(proof: { nullifier: string | bigint; points: readonly (string | bigint)[] }): EnrollmentProof {
  if (proof.points.length !== 8) throw new RangeError('a packed Groth16 proof has 8 points');
  return { nullifier: BigInt(proof.nullifier), points: proof.points.map((p) => BigInt(p)) };
}
