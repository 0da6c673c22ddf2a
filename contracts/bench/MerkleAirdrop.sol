// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title MerkleAirdrop
/// @notice Gas baseline only: the plain, non-anonymous way to pay a list of recipients
/// (OpenZeppelin MerkleProof over (index, account, amount) leaves, a claimed bitmap, a transfer).
contract MerkleAirdrop {
    using SafeERC20 for IERC20;

    IERC20 public immutable token;
    bytes32 public immutable root;
    mapping(uint256 word => uint256) private _claimed;

    error AlreadyClaimed(uint256 index);
    error InvalidMerkleProof();

    event Claimed(uint256 index, address account, uint256 amount);

    constructor(IERC20 token_, bytes32 root_) {
        token = token_;
        root = root_;
    }

    /// @notice Pays `amount` to `account` if (index, account, amount) is a leaf of the root.
    function claim(uint256 index, address account, uint256 amount, bytes32[] calldata proof) external {
        uint256 word = index >> 8;
        uint256 bit = uint256(1) << (index & 0xff);
        if (_claimed[word] & bit != 0) revert AlreadyClaimed(index);
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(index, account, amount))));
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert InvalidMerkleProof();
        _claimed[word] |= bit;
        token.safeTransfer(account, amount);
        emit Claimed(index, account, amount);
    }
}
