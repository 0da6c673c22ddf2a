// How an anonymous claim is bound to its round: the Semaphore scope and the calldata shape that
// RoundRewards.claim expects. Shared by the prover (worker), relayers and tests.
import { AbiCoder, ZeroAddress, getAddress, keccak256 } from 'ethers';

/** The fields of a Semaphore v4 proof a claim needs (as produced by @semaphore-protocol/proof). */
export interface SemaphoreClaimProof {
  merkleTreeDepth: number;
  nullifier: string | bigint;
  points: readonly (string | bigint)[];
}

/** RoundRewards.RoundClaim as ethers encodes it: RoundRewards.claim(jobId, round, RoundClaim[]). */
export interface RoundClaim {
  recipient: string;
  relayer: string;
  fee: bigint;
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

/**
 * The message a claim proof signs: keccak256(abi.encode(recipient, relayer, fee)). Whoever
 * submits the claim can change neither where the share goes nor the relayer fee taken from it
 * (paid to `relayer` in the round's reward token; no relayer, no fee).
 */
export function claimMessage(recipient: string, relayer: string = ZeroAddress, fee = 0n): bigint {
  if (fee < 0n) throw new RangeError('a relayer fee cannot be negative');
  if (fee !== 0n && getAddress(relayer) === ZeroAddress) throw new RangeError('a relayer fee needs a relayer');
  const encoded = AbiCoder.defaultAbiCoder().encode(['address', 'address', 'uint256'], [getAddress(recipient), getAddress(relayer), fee]);
  return BigInt(keccak256(encoded));
}

/** A claim from a proof made with claimScope(...) and claimMessage(recipient, relayer, fee). */
export function toRoundClaim(recipient: string, proof: SemaphoreClaimProof, relayer: string = ZeroAddress, fee = 0n): RoundClaim {
  if (proof.points.length !== 8) throw new RangeError('a packed Groth16 proof has 8 points');
  return {
    recipient: getAddress(recipient),
    relayer: getAddress(relayer),
    fee,
    nullifier: BigInt(proof.nullifier),
    points: proof.points.map((p) => BigInt(p)),
  };
}
