// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title ISemaphoreBatchVerifier
/// @notice Checks many Semaphore v4 proofs of one tree depth at once. The deployed
/// SemaphoreBatchVerifier also answers the official ISemaphoreVerifier.verifyProof for one proof.
interface ISemaphoreBatchVerifier {
    /// @notice The batch has no proofs.
    error EmptyBatch();
    /// @notice The batch gives a different number of public-input sets than proofs.
    error BatchLengthMismatch(uint256 proofs, uint256 publicInputs);
    /// @notice Semaphore has verification keys for tree depths 1 to 32 only.
    error UnsupportedDepth(uint256 merkleTreeDepth);
    /// @notice The call was given too little gas to check the batch. A starved precompile fails
    /// like an invalid proof would, so the check refuses to start rather than answer false.
    error NotEnoughGas(uint256 needed, uint256 left);

    /// @notice Whether every proof of the batch is valid, for one tree depth.
    /// @param points each proof packed as Semaphore packs it: [A.x, A.y, B.x1, B.x0, B.y1, B.y0, C.x, C.y]
    /// @param publicInputs each proof's [merkleTreeRoot, nullifier, hash(message), hash(scope)]
    /// @param merkleTreeDepth the depth every proof of the batch was made for (1..32)
    /// @return true only if every proof is valid; one invalid proof makes the whole batch false
    function verifyProofs(uint256[8][] calldata points, uint256[4][] calldata publicInputs, uint256 merkleTreeDepth)
        external
        view
        returns (bool);

    /// @notice Each proof's own verdict, so a caller can pay the valid claims of a batch and skip
    /// the rest; each verdict is exactly the official verifier's.
    /// @param points as in `verifyProofs`
    /// @param publicInputs as in `verifyProofs`
    /// @param merkleTreeDepth as in `verifyProofs`
    /// @return valid valid[i] is true if and only if proof i is valid
    function verifyEach(uint256[8][] calldata points, uint256[4][] calldata publicInputs, uint256 merkleTreeDepth)
        external
        view
        returns (bool[] memory valid);
}
