// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {MAX_DEPTH, MIN_DEPTH} from "@semaphore-protocol/contracts/base/Constants.sol";
import {SemaphoreVerifier} from "@semaphore-protocol/contracts/base/SemaphoreVerifier.sol";
import {SemaphoreVerifierKeyPts} from "@semaphore-protocol/contracts/base/SemaphoreVerifierKeyPts.sol";
import {ISemaphoreBatchVerifier} from "./ISemaphoreBatchVerifier.sol";

/// @title SemaphoreBatchVerifier
/// @notice Verifies a batch of Semaphore v4 proofs with one multi-pairing: N + 3 pairings instead
/// of the 4N that N calls to the official verifier make.
/// @dev It is the official SemaphoreVerifier (inherited unchanged: the same verification keys for
/// depths 1..32 and the same `verifyProof` for a single proof) plus a batch check. Each proof i
/// satisfies e(-A_i, B_i) e(alpha, beta) e(vk_i, gamma) e(C_i, delta) = 1; the batch check raises
/// each equation to a weight w_i and multiplies them, which merges the three fixed pairings:
///   prod_i e(-w_i A_i, B_i) * e(sum(w) alpha, beta) * e(sum(w_i vk_i), gamma) * e(sum(w_i C_i), delta) = 1.
/// sum(w_i vk_i) = sum(w) IC_0 + sum_j (sum_i w_i x_ij) IC_j costs five scalar multiplications
/// for the whole batch. w_0 = 1 (its proof needs no scalar multiplication) and, for i > 0,
/// w_i = keccak256(seed, i) mod r, where the seed hashes every proof's points, every public input
/// and the depth (Fiat-Shamir): a prover fixes the batch before it learns the weights, so an invalid
/// proof passes with probability about 1/r.
contract SemaphoreBatchVerifier is SemaphoreVerifier, ISemaphoreBatchVerifier {
    /// @dev What the official single-proof path needs: four ecMul and ecAdd, four pairings (each
    /// given a third more, as it does), its memory and the call into it.
    uint256 private constant SINGLE_PROOF_GAS = 4 * (8000 + 200) + 241_333 + 30_000;

    /// @inheritdoc ISemaphoreBatchVerifier
    function verifyProofs(uint256[8][] calldata points, uint256[4][] calldata publicInputs, uint256 merkleTreeDepth)
        external
        view
        returns (bool)
    {
        _checkShape(points.length, publicInputs.length, merkleTreeDepth);
        return _verifyBatch(points, publicInputs, merkleTreeDepth);
    }

    /// @inheritdoc ISemaphoreBatchVerifier
    /// @dev One batch check when all are valid; otherwise each proof goes through the official
    /// single-proof check, which is what makes every verdict the official one.
    function verifyEach(uint256[8][] calldata points, uint256[4][] calldata publicInputs, uint256 merkleTreeDepth)
        external
        view
        returns (bool[] memory valid)
    {
        _checkShape(points.length, publicInputs.length, merkleTreeDepth);
        uint256 n = points.length;
        valid = new bool[](n);
        if (_verifyBatch(points, publicInputs, merkleTreeDepth)) {
            for (uint256 i = 0; i < n; ++i) valid[i] = true;
            return valid;
        }
        for (uint256 i = 0; i < n; ++i) {
            uint256[8] calldata p = points[i];
            _requireGas(SINGLE_PROOF_GAS);
            // The official verifier ends its call frame with `return`, so it is reached by a call.
            valid[i] = this.verifyProof([p[0], p[1]], [[p[2], p[3]], [p[4], p[5]]], [p[6], p[7]], publicInputs[i], merkleTreeDepth);
        }
    }

    function _requireGas(uint256 needed) private view {
        if (gasleft() < needed) revert NotEnoughGas(needed, gasleft());
    }

    /// @dev Precompile gas of a batch of n (as given to each call) plus a margin for the rest.
    function _batchGas(uint256 n) private pure returns (uint256) {
        return n * (2 * (8000 + 200) + 2500) + 6 * (8000 + 200) + ((45000 + (n + 3) * 34000) * 4) / 3 + 40000;
    }

    function _checkShape(uint256 proofs, uint256 inputs, uint256 merkleTreeDepth) private pure {
        if (proofs == 0) revert EmptyBatch();
        if (proofs != inputs) revert BatchLengthMismatch(proofs, inputs);
        if (merkleTreeDepth < MIN_DEPTH || merkleTreeDepth > MAX_DEPTH) revert UnsupportedDepth(merkleTreeDepth);
    }

    /// @dev Memory: a 128-byte scratch area for the ecMul/ecAdd precompiles, the five weighted
    /// sums (sum w_i, then sum w_i x_ij for j = 1..4), then the pairing input built in place: one
    /// 192-byte (G1, G2) pair per proof and the three merged pairs.
    function _verifyBatch(uint256[8][] calldata points, uint256[4][] calldata publicInputs, uint256 merkleTreeDepth)
        private
        view
        returns (bool ok)
    {
        uint256 n = points.length;
        _requireGas(_batchGas(n));
        uint256[14] memory vk = SemaphoreVerifierKeyPts.getPts(merkleTreeDepth);
        assembly ("memory-safe") {
            // A precompile that fails (a point off the curve) burns all the gas it was given, so
            // each call gets its EIP-1108 price plus a third, as in the official verifier: an
            // invalid proof must leave gas for verifyEach to judge the others.
            // k * (x, y) into scratch[0..64); fails if the point is not on the curve.
            function mulTo(s, x, y, k) -> success {
                mstore(s, x)
                mstore(add(s, 32), y)
                mstore(add(s, 64), k)
                success := staticcall(8000, 0x07, s, 96, s, 64)
            }
            // acc += scratch[0..64)
            function addInto(s, acc) -> success {
                mstore(add(s, 64), mload(acc))
                mstore(add(s, 96), mload(add(acc, 32)))
                success := staticcall(200, 0x06, s, 128, acc, 64)
            }
            function copyPoint(from, to) {
                mstore(to, mload(from))
                mstore(add(to, 32), mload(add(from, 32)))
            }

            let scratch := mload(0x40)
            // The seed: keccak256 of every proof's points, then every proof's public inputs, then
            // the depth, hashed from a copy that the pairing input overwrites afterwards.
            calldatacopy(scratch, points.offset, mul(n, 256))
            calldatacopy(add(scratch, mul(n, 256)), publicInputs.offset, mul(n, 128))
            mstore(add(scratch, mul(n, 384)), merkleTreeDepth)
            let seed := keccak256(scratch, add(mul(n, 384), 32))

            let sums := add(scratch, 128)
            let pairs := add(sums, 160)
            let merged := add(pairs, mul(n, 192))
            mstore(0x40, add(merged, 576))
            for { let j := 0 } lt(j, 5) { j := add(j, 1) } { mstore(add(sums, mul(j, 32)), 0) }
            // sum(w_i C_i) is accumulated in its final place, the G1 slot of the last pair.
            mstore(add(merged, 384), 0)
            mstore(add(merged, 416), 0)

            ok := 1
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                let w := 1
                if i {
                    mstore(0, seed)
                    mstore(32, i)
                    w := mod(keccak256(0, 64), r)
                }
                mstore(sums, addmod(mload(sums), w, r))
                let x := add(publicInputs.offset, mul(i, 128))
                for { let j := 0 } lt(j, 4) { j := add(j, 1) } {
                    let input := calldataload(add(x, mul(j, 32)))
                    // Every public input must be a field element, as the official verifier requires.
                    if iszero(lt(input, r)) { ok := 0 }
                    let slot := add(sums, mul(add(j, 1), 32))
                    mstore(slot, addmod(mload(slot), mulmod(w, input, r), r))
                }

                let p := add(points.offset, mul(i, 256))
                let pair := add(pairs, mul(i, 192))
                calldatacopy(add(pair, 64), add(p, 64), 128)
                switch i
                case 0 {
                    // w = 1: (-A, B) negated as the official verifier does (the pairing checks
                    // that A is on the curve), and C added as it is.
                    mstore(pair, calldataload(p))
                    mstore(add(pair, 32), mod(sub(q, calldataload(add(p, 32))), q))
                    calldatacopy(scratch, add(p, 192), 64)
                }
                default {
                    // (-w A_i, B_i): multiplying by the weight's negation negates the product.
                    ok := and(ok, mulTo(scratch, calldataload(p), calldataload(add(p, 32)), sub(r, w)))
                    copyPoint(scratch, pair)
                    ok := and(ok, mulTo(scratch, calldataload(add(p, 192)), calldataload(add(p, 224)), w))
                }
                // sum += w C_i
                ok := and(ok, addInto(scratch, add(merged, 384)))
            }

            // (sum(w) alpha, beta)
            ok := and(ok, mulTo(scratch, alphax, alphay, mload(sums)))
            copyPoint(scratch, merged)
            mstore(add(merged, 64), betax1)
            mstore(add(merged, 96), betax2)
            mstore(add(merged, 128), betay1)
            mstore(add(merged, 160), betay2)

            // (sum(w) IC_0 + sum_j (sum_i w_i x_ij) IC_j, gamma); vk holds delta, then IC_0..IC_4.
            let vkx := add(merged, 192)
            ok := and(ok, mulTo(scratch, mload(add(vk, 128)), mload(add(vk, 160)), mload(sums)))
            copyPoint(scratch, vkx)
            for { let j := 1 } lt(j, 5) { j := add(j, 1) } {
                let ic := add(vk, add(128, mul(j, 64)))
                ok := and(ok, mulTo(scratch, mload(ic), mload(add(ic, 32)), mload(add(sums, mul(j, 32)))))
                ok := and(ok, addInto(scratch, vkx))
            }
            mstore(add(vkx, 64), gammax1)
            mstore(add(vkx, 96), gammax2)
            mstore(add(vkx, 128), gammay1)
            mstore(add(vkx, 160), gammay2)

            // (sum(w_i C_i), delta)
            let last := add(merged, 384)
            mstore(add(last, 64), mload(vk))
            mstore(add(last, 96), mload(add(vk, 32)))
            mstore(add(last, 128), mload(add(vk, 64)))
            mstore(add(last, 160), mload(add(vk, 96)))

            if ok {
                let pairings := add(n, 3)
                let success := staticcall(div(mul(add(45000, mul(34000, pairings)), 4), 3), 0x08, pairs, mul(pairings, 192), scratch, 32)
                ok := and(success, mload(scratch))
            }
        }
    }
}
