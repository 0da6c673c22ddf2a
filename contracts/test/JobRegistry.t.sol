// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Fixture} from "./utils/Fixture.sol";
import {JobRegistry} from "../src/JobRegistry.sol";
import {IJobRegistry} from "../src/IJobRegistry.sol";
import {RoundRewards} from "../src/RoundRewards.sol";
import {FeeOnTransferToken} from "./mocks/TestToken.sol";
import {HostileToken} from "./mocks/HostileToken.sol";

contract JobRegistryTest is Fixture {
    uint256 internal constant ROOT = 0xABC;

    function setUp() public {
        deploySystem();
    }

    function test_publishEscrowsWholeRewardAndStake() public {
        uint256 jobId = publishJob(1000, 4, 2, 0);
        IJobRegistry.Job memory job = registry.getJob(jobId);
        vm.assertEq(jobId, 1, "first id");
        vm.assertEq(job.researcher, researcher, "researcher");
        vm.assertEq(job.coordinator, coordinator, "coordinator");
        vm.assertEq(job.escrow, 4000, "escrow = perRound * rounds");
        vm.assertEq(job.stake, 200, "5% stake");
        vm.assertEq(usd.balanceOf(address(registry)), 4200, "held by the registry");
        vm.assertEq(usd.balanceOf(researcher), 0, "taken from the researcher");
    }

    function test_publishRejectsMissingCoordinator() public {
        JobRegistry.JobParams memory p = params(usd, 1000, 4, 2, 0);
        p.coordinator = address(0);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidJob.selector, "coordinator"));
        registry.publish(p);
    }

    function test_publishRejectsPastDeadline() public {
        JobRegistry.JobParams memory p = params(usd, 1000, 4, 2, 0);
        p.deadline = uint64(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidJob.selector, "deadline"));
        registry.publish(p);
    }

    function test_publishRejectsADeadlineBeyondTheCap() public {
        JobRegistry.JobParams memory p = params(usd, 1000, 4, 2, 0);
        p.deadline = type(uint64).max;
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidJob.selector, "deadline"));
        registry.publish(p);
        p.deadline = uint64(block.timestamp + registry.MAX_JOB_SECONDS() + 1);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidJob.selector, "deadline"));
        registry.publish(p);
    }

    function test_publishRejectsZeroRounds() public {
        JobRegistry.JobParams memory p = params(usd, 1000, 0, 2, 0);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidJob.selector, "rounds"));
        registry.publish(p);
    }

    function test_publishRefusesFeeOnTransferToken() public {
        FeeOnTransferToken fee = new FeeOnTransferToken();
        fee.mint(researcher, 1050);
        vm.startPrank(researcher);
        fee.approve(address(registry), 1050);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.UnsupportedToken.selector, address(fee), 1050, 1040));
        registry.publish(params(IERC20(address(fee)), 1000, 1, 1, 0));
        vm.stopPrank();
    }

    function test_cancelBeforeAnyRoundRefundsEverything() public {
        uint256 jobId = publishJob(1000, 4, 2, 0);
        vm.prank(researcher);
        uint256 refund = registry.settle(jobId);
        vm.assertEq(refund, 4000, "whole escrow");
        vm.assertEq(usd.balanceOf(researcher), 4200, "escrow and stake back");
        vm.assertEq(uint256(registry.getJob(jobId).status), uint256(IJobRegistry.JobStatus.Settled), "settled");
    }

    function test_cancelRefundsOnlyUnearnedRounds() public {
        uint256 jobId = publishJob(1000, 4, 2, 0);
        close(jobId, 2);
        close(jobId, 1); // below minimum: not earned
        vm.prank(researcher);
        uint256 refund = registry.settle(jobId);
        vm.assertEq(refund, 3000, "rounds 1..3 back, round 0 stays earned");
        vm.assertEq(usd.balanceOf(address(rewards)), 1000, "earned round untouched");
        // contributors of the paid round still claim after the cancel
        submit(claimOn(jobId, 0, 1, address(0xA1)));
        vm.assertEq(rewards.creditOf(address(0xA1), IERC20(address(usd))), 500, "claim after cancel");
    }

    function test_cancelWhileARoundIsInProgressReverts() public {
        uint256 jobId = publishJob(1000, 4, 2, 0);
        start(jobId, enrollMany(jobId, 2));
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.RoundInProgress.selector, jobId, 0));
        vm.prank(researcher);
        registry.settle(jobId);
        vm.assertEq(registry.getJob(jobId).escrow, 4000, "escrow kept");
        // Positive control: once the round closes, the cancel goes through.
        closeWith(jobId, positions(2));
        vm.prank(researcher);
        vm.assertEq(registry.settle(jobId), 3000, "only the rounds not earned");
    }

    function test_settleAfterDeadlineLetsBondsBeReclaimed() public {
        uint256 jobId = publishJob(1000, 4, 2, 60);
        uint32 index = enrollAs(jobId, address(0xA1), 111);
        vm.warp(uint256(registry.getJob(jobId).deadline) + 1);
        vm.prank(researcher);
        vm.assertEq(registry.settle(jobId), 4000, "deadline passed: unearned escrow back");
        vm.prank(address(0xA1));
        rewards.reclaimBond(jobId, index);
        vm.assertEq(rewards.creditOf(address(0xA1), IERC20(address(usd))), 60, "bond back too");
    }

    function test_publishRejectsAMinimumAboveTheTreeCapacity() public {
        JobRegistry.JobParams memory p = params(usd, 1000, 1, uint32((1 << 20) + 1), 0);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.InvalidJob.selector, "minContributors"));
        vm.prank(researcher);
        registry.publish(p);
    }

    function test_onlyResearcherSettles() public {
        uint256 jobId = publishJob(1000, 4, 2, 0);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotResearcher.selector, jobId, coordinator));
        vm.prank(coordinator);
        registry.settle(jobId);
    }

    function test_settleTwiceReverts() public {
        uint256 jobId = publishJob(1000, 4, 2, 0);
        vm.prank(researcher);
        registry.settle(jobId);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.JobNotActive.selector, jobId));
        vm.prank(researcher);
        registry.settle(jobId);
    }

    function test_closeAfterCancelReverts() public {
        uint256 jobId = publishJob(1000, 4, 2, 0);
        vm.prank(researcher);
        registry.settle(jobId);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.JobNotActive.selector, jobId));
        vm.prank(coordinator);
        rewards.closeRound(jobId, positions(2));
    }

    function test_onlyRoundRewardsReleasesRounds() public {
        uint256 jobId = publishJob(1000, 4, 2, 0);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotRoundRewards.selector, coordinator));
        vm.prank(coordinator);
        registry.releaseRound(jobId, true);
    }

    function test_roundRewardsIsBoundOnce() public {
        vm.expectRevert(JobRegistry.RoundRewardsAlreadySet.selector);
        registry.setRoundRewards(address(0xBEEF));
    }

    function test_reentrantSettleThroughHostileTokenReverts() public {
        HostileToken host = new HostileToken();
        host.mint(researcher, 1050);
        vm.startPrank(researcher);
        host.approve(address(registry), 1050);
        uint256 jobId = registry.publish(params(IERC20(address(host)), 1000, 1, 1, 0));
        vm.stopPrank();
        // on the refund transfer out of the registry, the token tries to publish into it again
        host.arm(address(registry), abi.encodeCall(JobRegistry.publish, (params(IERC20(address(host)), 1, 1, 1, 0))));
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        vm.prank(researcher);
        registry.settle(jobId);
        vm.assertEq(host.balanceOf(address(registry)), 1050, "escrow intact");
    }

    /// Whatever happens to a job, the researcher gets back exactly the unpaid rounds and the stake,
    /// and the registry holds nothing for it afterwards.
    function testFuzz_settleRefundsExactlyUnpaidRounds(uint128 perRound, uint32 rounds, uint32 minimum, uint256 seed) public {
        perRound = uint128(bound(perRound, 1, 1e30));
        rounds = uint32(bound(rounds, 1, 12));
        minimum = uint32(bound(minimum, 1, 5));
        uint256 jobId = publishJob(perRound, rounds, minimum, 0);
        uint256 stake = registry.getJob(jobId).stake;
        uint256 closes = bound(seed, 0, rounds);
        uint256 paid;
        for (uint256 i = 0; i < closes; ++i) {
            uint32 size = uint32(bound(uint256(keccak256(abi.encode(seed, i))), 1, 6));
            if (size >= minimum) ++paid;
            close(jobId, size);
        }
        vm.prank(researcher);
        uint256 refund = registry.settle(jobId);
        vm.assertEq(refund, uint256(perRound) * (rounds - paid), "unpaid rounds");
        vm.assertEq(usd.balanceOf(researcher), refund + stake, "plus stake");
        vm.assertEq(usd.balanceOf(address(registry)), 0, "nothing left behind");
        vm.assertEq(usd.balanceOf(address(rewards)), uint256(perRound) * paid, "paid rounds moved");
    }

    /// Publishing takes exactly reward * rounds plus the stake.
    function testFuzz_publishTakesExactEscrow(uint128 perRound, uint32 rounds) public {
        perRound = uint128(bound(perRound, 1, 1e30));
        rounds = uint32(bound(rounds, 1, 1000));
        uint256 jobId = publishJob(perRound, rounds, 1, 0);
        uint256 escrow = uint256(perRound) * rounds;
        vm.assertEq(registry.getJob(jobId).escrow, escrow, "escrow");
        vm.assertEq(usd.balanceOf(address(registry)), escrow + (escrow * STAKE_BPS) / 10_000, "held");
    }
}
