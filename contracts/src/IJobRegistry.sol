// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IJobRegistry
/// @notice What the round rewards contract needs to know about jobs and their escrow.
interface IJobRegistry {
    enum JobStatus {
        None,
        Active,
        Settled
    }

    /// @notice A published job. `escrow` is the part of the reward not yet paid out to a round.
    struct Job {
        address researcher;
        uint64 deadline;
        uint32 rounds;
        address coordinator;
        uint32 roundsClosed;
        uint32 minContributors;
        JobStatus status;
        IERC20 rewardToken;
        uint96 bondAmount;
        uint128 rewardPerRound;
        uint128 escrow;
        uint128 stake;
        bytes32 specHash;
    }

    /// @notice Returns a job (status None when it does not exist).
    function getJob(uint256 jobId) external view returns (Job memory);

    /// @notice Ends a job whose round timed out: refunds the unearned escrow to the researcher and
    /// sends the stake to the caller (the round rewards contract), which pays it to contributors.
    function forfeitStake(uint256 jobId) external returns (uint256 stake);

    /// @notice Pays up to `amount` of the job's stake to `to` for a successful receipt challenge.
    function slashStake(uint256 jobId, address to, uint256 amount) external returns (uint256 paid);

    /// @notice Marks the job's next round closed; when `paid`, moves its reward to the caller.
    function releaseRound(uint256 jobId, bool paid) external returns (uint256 round);
}
