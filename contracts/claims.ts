// How an anonymous claim is bound to its round: the Semaphore scope and the calldata shape that
// RoundRewards.claim expects. Shared by the prover (worker), relayers and tests.
import { AbiCoder, getAddress, keccak256 } from 'ethers';

/** The fields of a Semaphore v4 proof a claim needs (as produced by @semaphore-protocol/proof). */
export interface SemaphoreClaimProof {
  merkleTreeDepth: number;
  nullifier: string | bigint;
  points: readonly (string | bigint)[];
}

/** RoundRewards.RoundClaim as ethers encodes it: RoundRewards.claim(jobId, round, RoundClaim[]). */
export interface RoundClaim {
  recipient: string;
  nullifier: bigint;
  points: bigint[];
}

/**
 * The scope a proof for (jobId, round) must use: keccak256(abi.encode(chainId, roundRewards,
 * jobId, round)), the same value RoundRewards.scopeOf returns. Binding the chain and contract
 * stops a proof from being replayed on another deployment.
 */
export function claimScope(chainId: bigint, roundRewards: string, jobId: bigint, round: bigint): bigint {
  const encoded = AbiCoder.defaultAbiCoder().encode(['uint256', 'address', 'uint256', 'uint256'], [chainId, getAddress(roundRewards), jobId, round]);
  return BigInt(keccak256(encoded));
}

/** The message a claim proof signs: the recipient address as a number. */
export function claimMessage(recipient: string): bigint {
  return BigInt(getAddress(recipient));
}

/** A claim for `recipient` from a proof made with claimScope(...) and claimMessage(recipient). */
export function toRoundClaim(recipient: string, proof: SemaphoreClaimProof): RoundClaim {
  if (proof.points.length !== 8) throw new RangeError('a packed Groth16 proof has 8 points');
  return {
    recipient: getAddress(recipient),
    nullifier: BigInt(proof.nullifier),
    points: proof.points.map((p) => BigInt(p)),
  };
}
