// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @dev Stands in for the SemaphoreVerifier in forge tests, where Groth16 proofs are not made.
/// A "proof" is valid exactly when its first point commits to the public signals and depth, so
/// tests still show that a proof made for one recipient, nullifier, root or scope fails for any other,
/// alone or in a batch.
contract MockSemaphoreVerifier {
    function verifyProof(
        uint256[2] calldata pA,
        uint256[2][2] calldata,
        uint256[2] calldata,
        uint256[4] calldata pubSignals,
        uint256 merkleTreeDepth
    ) external pure returns (bool) {
        return pA[0] == commitment(pubSignals, merkleTreeDepth);
    }

    /// @dev The batch check as RoundRewards uses it: each proof judged as `verifyProof` would.
    function verifyEach(uint256[8][] calldata points, uint256[4][] calldata publicInputs, uint256 merkleTreeDepth)
        external
        pure
        returns (bool[] memory valid)
    {
        valid = new bool[](points.length);
        for (uint256 i = 0; i < points.length; ++i) valid[i] = points[i][0] == commitment(publicInputs[i], merkleTreeDepth);
    }

    function commitment(uint256[4] memory pubSignals, uint256 merkleTreeDepth) public pure returns (uint256) {
        return uint256(keccak256(abi.encode(pubSignals, merkleTreeDepth)));
    }
}
