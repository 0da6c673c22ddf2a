// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Fixture} from "./utils/Fixture.sol";
import {RoundRewards} from "../src/RoundRewards.sol";
import {JobRegistry} from "../src/JobRegistry.sol";
import {IJobRegistry} from "../src/IJobRegistry.sol";
import {HostileToken} from "./mocks/HostileToken.sol";
import {TestToken, TransferFeeToken} from "./mocks/TestToken.sol";
import {PoseidonT3} from "poseidon-solidity/PoseidonT3.sol";
import {ISemaphoreVerifier} from "@semaphore-protocol/contracts/interfaces/ISemaphoreVerifier.sol";

contract RoundRewardsTest is Fixture {
    uint256 internal constant ROOT = 0x1234;
    address internal alice = address(0xA1);
    address internal bob = address(0xB0B);

    function setUp() public {
        deploySystem();
    }

    // ---------------------------------------------------------------- enrollment and rosters

    function test_anyoneEnrollsAContributorAndTheEntryIsListed() public {
        uint256 jobId = publishJob(900, 3, 2, 0);
        vm.prank(relayer);
        uint256 index = enrollFree(rewards, jobId, 42, bytes32(uint256(7)));
        vm.assertEq(index, 0, "first entry");
        RoundRewards.Enrollment memory e = rewards.enrollmentOf(jobId, 0);
        vm.assertEq(e.commitment, 42, "commitment");
        vm.assertEq(uint256(e.rosterKey), 7, "roster key");
        vm.assertEq(e.bondOwner, address(0), "no bond, no owner");
        vm.assertEq(rewards.enrollmentCount(jobId), 1, "counted");
    }

    function test_enrollingACommitmentTwiceReverts() public {
        uint256 jobId = publishJob(900, 3, 2, 0);
        enrollFree(rewards, jobId, 42, bytes32(uint256(7)));
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.AlreadyEnrolled.selector, jobId, 42, bytes32(uint256(8))));
        enrollFree(rewards, jobId, 42, bytes32(uint256(8)));
    }

    function test_squattingACommitmentWithoutItsIdentityReverts() public {
        uint256 jobId = publishJob(900, 3, 2, 0);
        // The squatter holds only proofs of its own identity (commitment 66), or of the victim's
        // identity for the victim's own roster key: neither authorizes commitment 42 with its key.
        bytes32 squatterKey = bytes32(uint256(0x5017));
        RoundRewards.EnrollmentProof memory own = enrollmentProof(jobId, 66, squatterKey, address(0));
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.EnrollmentNotAuthorized.selector, jobId, 42, address(0)));
        vm.prank(bob);
        rewards.enroll(jobId, 42, squatterKey, own);
        RoundRewards.EnrollmentProof memory victims = enrollmentProof(jobId, 42, bytes32(uint256(7)), address(0));
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.EnrollmentNotAuthorized.selector, jobId, 42, address(0)));
        vm.prank(bob);
        rewards.enroll(jobId, 42, squatterKey, victims);
        // a proof for the same identity in another job does not carry over
        uint256 other = publishJob(900, 3, 2, 0);
        RoundRewards.EnrollmentProof memory elsewhere = enrollmentProof(other, 42, bytes32(uint256(7)), address(0));
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.EnrollmentNotAuthorized.selector, jobId, 42, address(0)));
        rewards.enroll(jobId, 42, bytes32(uint256(7)), elsewhere);
        // positive control: the victim's own proof, submitted by anyone, enrolls it
        vm.prank(relayer);
        rewards.enroll(jobId, 42, bytes32(uint256(7)), victims);
        vm.assertEq(uint256(rewards.enrollmentOf(jobId, 0).rosterKey), 7, "the identity's own key");
    }

    function test_squattingAContributorsRosterKeyDoesNotLockItOut() public {
        uint256 jobId = publishJob(900, 3, 2, 0);
        bytes32 victimKey = bytes32(uint256(7));
        // the key is public once the victim's enrollment is in the mempool: a squatter front-runs it
        enrollFree(rewards, jobId, 66, victimKey);
        enrollFree(rewards, jobId, 42, victimKey);
        enrollFree(rewards, jobId, 43, bytes32(uint256(8)));
        uint32[] memory both = new uint32[](3);
        (both[0], both[1], both[2]) = (0, 1, 2);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.RosterKeyRepeated.selector, jobId, victimKey));
        start(jobId, both);
        // the coordinator freezes the entry whose identity it saw sign for the key
        uint32[] memory honest = new uint32[](2);
        (honest[0], honest[1]) = (1, 2);
        start(jobId, honest);
        // the seen-set is cleared after each roster: restarting with the same keys in this transaction works
        start(jobId, honest);
        vm.assertEq(rewards.rosterOf(jobId, 0).size, 2, "roster frozen");
    }

    function test_enrollingZeroOrOutOfFieldValuesReverts() public {
        uint256 jobId = publishJob(900, 3, 2, 0);
        uint256 field = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidEnrollment.selector, jobId, field, bytes32(uint256(1))));
        enrollFree(rewards, jobId, field, bytes32(uint256(1)));
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidEnrollment.selector, jobId, 5, bytes32(0)));
        enrollFree(rewards, jobId, 5, bytes32(0));
    }

    function test_enrollingAfterTheDeadlineReverts() public {
        uint256 jobId = publishJob(900, 3, 2, 0);
        uint64 deadline = registry.getJob(jobId).deadline;
        vm.warp(uint256(deadline) + 1);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.DeadlinePassed.selector, jobId, deadline));
        enrollFree(rewards, jobId, 42, bytes32(uint256(7)));
    }

    function test_startFreezesTheHashOfTheRosterKeysInRosterOrder() public {
        uint256 jobId = publishJob(900, 3, 2, 0);
        uint32[] memory entries = enrollMany(jobId, 4);
        uint32[] memory roster = new uint32[](3);
        (roster[0], roster[1], roster[2]) = (entries[0], entries[2], entries[3]);
        vm.prank(coordinator);
        (uint256 round, bytes32 hash) = rewards.startRound(jobId, roster);
        bytes32 expected = keccak256(
            abi.encodePacked(
                rewards.enrollmentOf(jobId, entries[0]).rosterKey, rewards.enrollmentOf(jobId, entries[2]).rosterKey, rewards.enrollmentOf(jobId, entries[3]).rosterKey
            )
        );
        vm.assertEq(round, 0, "first round");
        vm.assertEq(uint256(hash), uint256(expected), "keccak of the keys in order");
        RoundRewards.Roster memory r = rewards.rosterOf(jobId, 0);
        vm.assertEq(uint256(r.hash), uint256(expected), "stored");
        vm.assertEq(r.size, 3, "size");
        vm.assertTrue(rewards.roundInProgress(jobId), "in progress");
    }

    function test_startByAnyoneButCoordinatorReverts() public {
        uint256 jobId = publishJob(900, 3, 2, 0);
        uint32[] memory entries = enrollMany(jobId, 2);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.NotCoordinator.selector, jobId, researcher));
        vm.prank(researcher);
        rewards.startRound(jobId, entries);
    }

    function test_rosterOfUnknownRepeatedOrTooFewEntriesReverts() public {
        uint256 jobId = publishJob(900, 3, 2, 0);
        uint32[] memory entries = enrollMany(jobId, 3);
        uint32[] memory repeated = new uint32[](2);
        (repeated[0], repeated[1]) = (entries[1], entries[1]);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidRoster.selector, jobId, 2));
        start(jobId, repeated);
        uint32[] memory unknown = new uint32[](2);
        (unknown[0], unknown[1]) = (entries[2], 3);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidRoster.selector, jobId, 2));
        start(jobId, unknown);
        uint32[] memory single = new uint32[](1);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidRoster.selector, jobId, 1));
        start(jobId, single);
    }

    function test_rosterLargerThanTheTreeReverts() public {
        // a deployment with depth-1 trees holds groups of at most 2
        RoundRewards small = new RoundRewards(registry, trove, ISemaphoreVerifier(address(verifier)), 1, rules(false), MIN_ROUND, ROUND_TIMEOUT, CLAIM_WINDOW);
        vm.assertEq(small.maxGroupSize(), 2, "2^1");
        uint256 jobId = publishJob(900, 1, 1, 0);
        for (uint256 i = 1; i <= 3; ++i) enrollFree(small, jobId, i, bytes32(i));
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidRoster.selector, jobId, 3));
        vm.prank(coordinator);
        small.startRound(jobId, positions(3));
    }

    function test_restartingAnUnclosedRoundReplacesItsRoster() public {
        uint256 jobId = publishJob(900, 3, 2, 0);
        uint32[] memory entries = enrollMany(jobId, 3);
        start(jobId, entries);
        bytes32 first = rewards.rosterOf(jobId, 0).hash;
        uint32[] memory fewer = new uint32[](2);
        (fewer[0], fewer[1]) = (entries[0], entries[2]);
        vm.assertEq(start(jobId, fewer), 0, "same round");
        vm.assertTrue(rewards.rosterOf(jobId, 0).hash != first, "new roster");
        vm.assertEq(rewards.rosterOf(jobId, 0).size, 2, "new size");
    }

    // ---------------------------------------------------------------- closing rounds

    function test_coordinatorClosesRoundAndRewardLeavesEscrow() public {
        uint256 jobId = publishJob(900, 3, 2, 0);
        uint256 round = close(jobId, 3);
        vm.assertEq(round, 0, "first round");
        RoundRewards.Round memory r = rewards.getRound(jobId, 0);
        vm.assertEq(r.size, 3, "size stored");
        vm.assertTrue(r.paid, "paid");
        vm.assertEq(r.perMember, 300, "equal share");
        vm.assertEq(registry.getJob(jobId).escrow, 1800, "escrow holds the two other rounds");
        vm.assertEq(usd.balanceOf(address(rewards)), 900, "reward moved to rewards");
        vm.assertFalse(rewards.roundInProgress(jobId), "no round in progress");
    }

    function test_closeComputesTheLeanImtRootOfTheIncludedCommitments() public {
        uint256 jobId = publishJob(900, 1, 2, 0);
        uint32[] memory entries = enrollMany(jobId, 4);
        start(jobId, entries);
        uint32[] memory included = new uint32[](3);
        (included[0], included[1], included[2]) = (0, 1, 3);
        closeWith(jobId, included);
        uint256 c0 = rewards.enrollmentOf(jobId, entries[0]).commitment;
        uint256 c1 = rewards.enrollmentOf(jobId, entries[1]).commitment;
        uint256 c3 = rewards.enrollmentOf(jobId, entries[3]).commitment;
        // LeanIMT: pairs hashed, the odd last node carried up unchanged
        uint256 expected = PoseidonT3.hash([PoseidonT3.hash([c0, c1]), c3]);
        vm.assertEq(rootOf(jobId, 0), expected, "root of exactly the included members");
        vm.assertEq(rewards.getRound(jobId, 0).size, 3, "size is the number included");
    }

    function test_coordinatorCannotPayIdentitiesOutsideTheRoster() public {
        uint256 jobId = publishJob(900, 1, 2, 0);
        start(jobId, enrollMany(jobId, 3));
        // the coordinator's own identities, enrolled after the roster was frozen
        uint32[] memory own = enrollMany(jobId, 3);
        uint32[] memory included = new uint32[](2);
        (included[0], included[1]) = (1, own[0]);
        readyToClose(jobId);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidInclusion.selector, jobId, 0));
        vm.prank(coordinator);
        rewards.closeRound(jobId, included);
        // Positive control: a claim against a root of identities the coordinator chose fails
        // once the round closes with the roster's own members.
        closeWith(jobId, positions(3));
        TestClaim memory forged = claimFor(jobId, 0, 0xC0FFEE, 1, coordinator);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidProof.selector, jobId, 0, 1));
        submit(forged);
    }

    function test_coordinatorCannotInflateTheGroupSize() public {
        uint256 jobId = publishJob(900, 1, 2, 0);
        start(jobId, enrollMany(jobId, 3));
        uint32[] memory repeated = new uint32[](4);
        (repeated[0], repeated[1], repeated[2], repeated[3]) = (0, 1, 2, 2);
        readyToClose(jobId);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidInclusion.selector, jobId, 0));
        vm.prank(coordinator);
        rewards.closeRound(jobId, repeated);
        readyToClose(jobId);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidInclusion.selector, jobId, 0));
        vm.prank(coordinator);
        rewards.closeRound(jobId, new uint32[](0));
    }

    function test_closeBeforeTheRoundStartedReverts() public {
        uint256 jobId = publishJob(900, 3, 2, 0);
        enrollMany(jobId, 3);
        readyToClose(jobId);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.RoundNotStarted.selector, jobId, 0));
        vm.prank(coordinator);
        rewards.closeRound(jobId, positions(3));
    }

    function test_closeByAnyoneButCoordinatorReverts() public {
        uint256 jobId = publishJob(900, 3, 2, 0);
        start(jobId, enrollMany(jobId, 3));
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.NotCoordinator.selector, jobId, researcher));
        vm.prank(researcher);
        rewards.closeRound(jobId, positions(3));
    }

    function test_closeAfterDeadlineReverts() public {
        uint256 jobId = publishJob(900, 3, 2, 0);
        start(jobId, enrollMany(jobId, 3));
        uint64 deadline = registry.getJob(jobId).deadline;
        vm.warp(uint256(deadline) + 1);
        readyToClose(jobId);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.DeadlinePassed.selector, jobId, deadline));
        vm.prank(coordinator);
        rewards.closeRound(jobId, positions(3));
    }

    function test_startBeyondLastRoundReverts() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        uint32[] memory late = enrollMany(jobId, 2);
        close(jobId, 2);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.AllRoundsClosed.selector, jobId));
        start(jobId, late);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.JobNotActive.selector, jobId));
        enrollFree(rewards, jobId, 5, bytes32(uint256(5)));
    }

    function test_roundBelowMinimumClosesUnpaidAndKeepsEscrow() public {
        uint256 jobId = publishJob(900, 2, 3, 0);
        close(jobId, 2);
        RoundRewards.Round memory r = rewards.getRound(jobId, 0);
        vm.assertFalse(r.paid, "unpaid");
        vm.assertEq(registry.getJob(jobId).escrow, 1800, "escrow untouched");
        vm.assertEq(usd.balanceOf(address(rewards)), 0, "nothing moved");
    }

    function test_claimOnRoundBelowMinimumReverts() public {
        uint256 jobId = publishJob(900, 2, 3, 0);
        close(jobId, 2);
        TestClaim memory c = claimOn(jobId, 0, 1, alice);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.RoundBelowMinimum.selector, jobId, 0));
        submit(c);
    }

    function test_remainderOfUnevenSplitGoesToResearcher() public {
        uint256 jobId = publishJob(1000, 1, 1, 0);
        close(jobId, 3);
        vm.assertEq(rewards.getRound(jobId, 0).perMember, 333, "share rounds down");
        vm.assertEq(rewards.creditOf(researcher, IERC20(address(usd))), 1, "remainder credited back");
    }

    // ---------------------------------------------------------------- round lifecycle

    function test_closeBeforeTheMinimumDurationReverts() public {
        uint256 jobId = publishJob(900, 2, 1, 0);
        start(jobId, enrollMany(jobId, 2));
        uint256 startedAt = block.timestamp;
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.RoundTooShort.selector, jobId, 0, startedAt + MIN_ROUND));
        vm.prank(coordinator);
        rewards.closeRound(jobId, positions(2));
        vm.warp(startedAt + MIN_ROUND);
        vm.prank(coordinator);
        rewards.closeRound(jobId, positions(2));
        vm.assertTrue(rewards.getRound(jobId, 0).paid, "closes once the minimum has run");
    }

    function test_closeAfterTheTimeoutReverts() public {
        uint256 jobId = publishJob(900, 2, 1, 0);
        start(jobId, enrollMany(jobId, 2));
        vm.warp(block.timestamp + ROUND_TIMEOUT + 1);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.RoundTimedOut.selector, jobId, 0));
        vm.prank(coordinator);
        rewards.closeRound(jobId, positions(2));
    }

    function test_settleCannotTakeBackAStartedRoundEvenAfterTheDeadline() public {
        uint256 jobId = publishJob(900, 2, 1, 0);
        start(jobId, enrollMany(jobId, 2));
        vm.warp(uint256(registry.getJob(jobId).deadline) + 1);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.RoundInProgress.selector, jobId, 0));
        vm.prank(researcher);
        registry.settle(jobId);
    }

    function test_anExpiredRoundPaysTheStakeToItsBondedContributors() public {
        uint256 jobId = publishJob(1000, 2, 1, 60);
        uint32[] memory entries = enrollMany(jobId, 3);
        start(jobId, entries);
        // Positive control: before the timeout nobody can expire it.
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.RoundNotExpirable.selector, jobId, 0));
        rewards.expireRound(jobId);
        vm.warp(block.timestamp + ROUND_TIMEOUT + 1);
        uint256 stake = registry.getJob(jobId).stake;
        vm.prank(relayer);
        rewards.expireRound(jobId);
        vm.assertEq(usd.balanceOf(researcher), 2000, "the researcher gets the escrow back, not the stake");
        vm.assertEq(uint256(registry.getJob(jobId).status), uint256(IJobRegistry.JobStatus.Settled), "job ended");
        for (uint256 i = 0; i < 3; ++i) {
            address payer = payerOf(rewards.enrollmentOf(jobId, entries[i]).commitment);
            vm.prank(payer);
            rewards.reclaimBond(jobId, entries[i]);
            vm.assertEq(rewards.creditOf(payer, IERC20(address(usd))), 60 + stake / 3, "bond back plus a third of the stake");
        }
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.RoundNotExpirable.selector, jobId, 0));
        rewards.expireRound(jobId);
    }

    function test_anExpiredRoundWithoutBondsBurnsTheStake() public {
        uint256 jobId = publishJob(1000, 2, 1, 0);
        start(jobId, enrollMany(jobId, 2));
        vm.warp(uint256(registry.getJob(jobId).deadline) + 1);
        rewards.expireRound(jobId);
        vm.assertEq(rewards.creditOf(rewards.BURN_ADDRESS(), IERC20(address(usd))), 100, "5% stake of 2000 burned");
        vm.assertEq(rewards.creditOf(researcher, IERC20(address(usd))), 0, "not to the researcher");
        vm.assertEq(rewards.creditOf(coordinator, IERC20(address(usd))), 0, "nor the coordinator");
    }

    function test_aTokenThatChargesOnTransferIsRefusedAtClose() public {
        TransferFeeToken fee = new TransferFeeToken();
        fee.mint(researcher, 1050);
        vm.startPrank(researcher);
        fee.approve(address(registry), 1050);
        uint256 jobId = registry.publish(params(IERC20(address(fee)), 1000, 1, 1, 0));
        vm.stopPrank();
        start(jobId, enrollMany(jobId, 2));
        readyToClose(jobId);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.UnsupportedToken.selector, address(fee), 1000, 990));
        vm.prank(coordinator);
        rewards.closeRound(jobId, positions(2));
        // Positive control: the same round in an exact token closes and pays.
        uint256 honest = publishJob(1000, 1, 1, 0);
        close(honest, 2);
        vm.assertTrue(rewards.getRound(honest, 0).paid, "closed");
    }

    // ---------------------------------------------------------------- claims

    function test_relayerSubmitsClaimAndRecipientWithdraws() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, 3);
        vm.prank(relayer);
        submit(claimOn(jobId, 0, 77, alice));
        vm.assertEq(rewards.creditOf(alice, IERC20(address(usd))), 300, "credited");
        vm.assertTrue(rewards.isNullifierUsed(77), "nullifier spent");
        vm.prank(alice);
        rewards.withdraw(IERC20(address(usd)));
        vm.assertEq(usd.balanceOf(alice), 300, "paid out");
        vm.assertEq(usd.balanceOf(relayer), 0, "relayer gets nothing");
    }

    function test_anEmptyWalletContributorIsPaidItsShareLessTheRelayerFee() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, 3);
        vm.assertEq(usd.balanceOf(alice), 0, "alice holds nothing, not even gas");
        vm.prank(relayer);
        submit(claimOn(jobId, 0, 77, alice, relayer, 25));
        vm.assertEq(rewards.creditOf(alice, IERC20(address(usd))), 275, "share less the fee");
        vm.assertEq(rewards.creditOf(relayer, IERC20(address(usd))), 25, "the fee, in the reward token");
        vm.prank(relayer);
        rewards.withdraw(IERC20(address(usd)));
        vm.assertEq(usd.balanceOf(relayer), 25, "relayer withdraws its fee");
    }

    function test_aRelayerCannotRaiseTheFeeOrTakeItForItselfOrRedirect() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, 3);
        TestClaim memory signed = claimOn(jobId, 0, 77, alice, relayer, 25);
        address thief = address(0xBAD);
        TestClaim memory c = signed;
        c.claim.fee = 26;
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidProof.selector, jobId, 0, 77));
        submit(c);
        c = claimOn(jobId, 0, 77, alice, relayer, 25);
        c.claim.relayer = thief;
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidProof.selector, jobId, 0, 77));
        submit(c);
        c = claimOn(jobId, 0, 77, alice, relayer, 25);
        c.claim.recipient = thief;
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidProof.selector, jobId, 0, 77));
        submit(c);
        // Positive control: the claim as signed pays.
        submit(claimOn(jobId, 0, 77, alice, relayer, 25));
        vm.assertEq(rewards.creditOf(alice, IERC20(address(usd))), 275, "the signed claim pays");
    }

    function test_aFeeWithoutARelayerOrAboveTheShareIsSkipped() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, 3);
        TestClaim memory noRelayer = claimOn(jobId, 0, 77, alice, address(0), 5);
        TestClaim memory tooMuch = claimOn(jobId, 0, 77, alice, relayer, 301);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.FeeWithoutRelayer.selector, 77, 5));
        submit(noRelayer);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.FeeAboveShare.selector, 77, 301, 300));
        submit(tooMuch);
        RoundRewards.RoundClaim[] memory batch = new RoundRewards.RoundClaim[](2);
        batch[0] = claimOn(jobId, 0, 77, alice, relayer, 301).claim;
        batch[1] = claimOn(jobId, 0, 78, bob, relayer, 300).claim;
        vm.expectEmit(true, true, false, true, address(rewards));
        emit RoundRewards.ClaimSkipped(jobId, 0, 77, RoundRewards.FeeAboveShare.selector);
        rewards.claim(jobId, 0, batch);
        vm.assertEq(rewards.creditOf(relayer, IERC20(address(usd))), 300, "a fee of the whole share is allowed");
        vm.assertFalse(rewards.isNullifierUsed(77), "the skipped claim spent nothing");
    }

    function test_feesForOneRelayerInABatchAreCreditedTogether() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, 3);
        RoundRewards.RoundClaim[] memory batch = new RoundRewards.RoundClaim[](3);
        batch[0] = claimOn(jobId, 0, 1, alice, relayer, 10).claim;
        batch[1] = claimOn(jobId, 0, 2, bob, address(0xFEE), 20).claim;
        batch[2] = claimOn(jobId, 0, 3, bob, relayer, 30).claim;
        rewards.claim(jobId, 0, batch);
        vm.assertEq(rewards.creditOf(relayer, IERC20(address(usd))), 40, "relayer's fees");
        vm.assertEq(rewards.creditOf(address(0xFEE), IERC20(address(usd))), 20, "the other relayer's fee");
        vm.assertEq(rewards.creditOf(bob, IERC20(address(usd))), 550, "bob's two shares less fees");
    }

    function test_proofForAnotherRecipientReverts() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, 3);
        TestClaim memory c = claimOn(jobId, 0, 77, alice);
        c.claim.recipient = bob; // front-runner copies the proof from the mempool and swaps the recipient
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidProof.selector, jobId, 0, 77));
        submit(c);
        submit(claimOn(jobId, 0, 77, alice));
        vm.assertEq(rewards.creditOf(alice, IERC20(address(usd))), 300, "the honest claim still pays");
    }

    function test_replayedNullifierReverts() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, 3);
        TestClaim memory c = claimOn(jobId, 0, 77, alice);
        submit(c);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.NullifierAlreadyUsed.selector, 77));
        submit(c);
    }

    function test_proofAgainstAnotherRoundsRootReverts() public {
        uint256 jobId = publishJob(900, 2, 1, 0);
        close(jobId, 3);
        close(jobId, 3);
        // made for round 0's group, submitted for round 1
        TestClaim memory c = claimOn(jobId, 0, 77, alice);
        c.round = 1;
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidProof.selector, jobId, 1, 77));
        submit(c);
    }

    function test_proofAgainstStaleRootOfSameRoundReverts() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, 3);
        TestClaim memory c = claimFor(jobId, 0, rootOf(jobId, 0) - 1, 77, alice);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidProof.selector, jobId, 0, 77));
        submit(c);
    }

    function test_claimOnUnclosedRoundReverts() public {
        uint256 jobId = publishJob(900, 2, 1, 0);
        TestClaim memory c = claimOn(jobId, 0, 77, alice);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.RoundNotClosed.selector, jobId, 0));
        submit(c);
    }

    function test_claimsBeyondGroupSizeRevert() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, 2);
        submit(claimOn(jobId, 0, 1, alice));
        submit(claimOn(jobId, 0, 2, alice));
        TestClaim memory third = claimOn(jobId, 0, 3, alice);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.RoundFullyClaimed.selector, jobId, 0));
        submit(third);
        vm.assertEq(rewards.creditOf(alice, IERC20(address(usd))), 900, "exactly the round's reward");
    }

    function test_batchCreditsEveryRecipientAndWithdrawsOnceForManyRounds() public {
        uint256 jobId = publishJob(900, 2, 1, 0);
        close(jobId, 3);
        close(jobId, 3);
        RoundRewards.RoundClaim[] memory batch = new RoundRewards.RoundClaim[](2);
        batch[0] = claimOn(jobId, 0, 1, alice).claim;
        batch[1] = claimOn(jobId, 0, 2, bob).claim;
        vm.prank(relayer);
        rewards.claim(jobId, 0, batch);
        submit(claimOn(jobId, 1, 3, alice));
        vm.assertEq(rewards.creditOf(alice, IERC20(address(usd))), 600, "two rounds for alice");
        vm.assertEq(rewards.creditOf(bob, IERC20(address(usd))), 300, "one for bob");
        vm.assertEq(rewards.getRound(jobId, 0).claimed, 2, "round 0 counted");
        vm.prank(alice);
        rewards.withdraw(IERC20(address(usd)));
        vm.assertEq(usd.balanceOf(alice), 600, "one withdrawal for both rounds");
    }

    function test_batchSkipsAUsedOrInvalidClaimAndPaysTheRest() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, 3);
        submit(claimOn(jobId, 0, 1, alice)); // front-run: nullifier 1 already paid
        RoundRewards.RoundClaim[] memory batch = new RoundRewards.RoundClaim[](3);
        batch[0] = claimOn(jobId, 0, 1, alice).claim;
        batch[1] = claimOn(jobId, 0, 2, bob).claim;
        batch[1].recipient = alice; // redirected: invalid
        batch[2] = claimOn(jobId, 0, 3, bob).claim;
        vm.prank(relayer);
        rewards.claim(jobId, 0, batch);
        vm.assertEq(rewards.creditOf(bob, IERC20(address(usd))), 300, "the valid claim paid");
        vm.assertEq(rewards.creditOf(alice, IERC20(address(usd))), 300, "only alice's own claim");
        vm.assertFalse(rewards.isNullifierUsed(2), "the invalid claim spent nothing");
        vm.assertEq(rewards.getRound(jobId, 0).claimed, 2, "counted once each");
    }

    function test_aNullifierRepeatedInsideABatchPaysOnce() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, 3);
        RoundRewards.RoundClaim[] memory batch = new RoundRewards.RoundClaim[](3);
        batch[0] = claimOn(jobId, 0, 1, alice).claim;
        batch[1] = claimOn(jobId, 0, 1, bob).claim;
        batch[2] = claimOn(jobId, 0, 2, bob).claim;
        vm.expectEmit(true, true, false, true, address(rewards));
        emit RoundRewards.ClaimSkipped(jobId, 0, 1, RoundRewards.NullifierAlreadyUsed.selector);
        rewards.claim(jobId, 0, batch);
        vm.assertEq(rewards.creditOf(alice, IERC20(address(usd))), 300, "the first use pays");
        vm.assertEq(rewards.creditOf(bob, IERC20(address(usd))), 300, "the repeat does not");
        vm.assertEq(rewards.getRound(jobId, 0).claimed, 2, "two claims counted");
    }

    function test_anInvalidProofInABatchGivesItsNullifierBack() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, 3);
        RoundRewards.RoundClaim[] memory batch = new RoundRewards.RoundClaim[](2);
        batch[0] = claimOn(jobId, 0, 1, alice).claim;
        batch[0].recipient = bob; // redirected: its proof fails
        batch[1] = claimOn(jobId, 0, 2, bob).claim;
        rewards.claim(jobId, 0, batch);
        vm.assertFalse(rewards.isNullifierUsed(1), "the failed claim's nullifier is free again");
        submit(claimOn(jobId, 0, 1, alice));
        vm.assertEq(rewards.creditOf(alice, IERC20(address(usd))), 300, "and its owner claims later");
    }

    function test_batchWhereNothingPaysRevertsWithTheFirstError() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, 3);
        RoundRewards.RoundClaim[] memory batch = new RoundRewards.RoundClaim[](2);
        batch[0] = claimOn(jobId, 0, 1, alice).claim;
        batch[0].recipient = bob;
        batch[1] = batch[0];
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidProof.selector, jobId, 0, 1));
        rewards.claim(jobId, 0, batch);
    }

    function test_batchLargerThanWhatIsLeftPaysOnlyWhatIsLeft() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, 2);
        RoundRewards.RoundClaim[] memory batch = new RoundRewards.RoundClaim[](3);
        for (uint256 i = 0; i < 3; ++i) batch[i] = claimOn(jobId, 0, 10 + i, alice).claim;
        rewards.claim(jobId, 0, batch);
        vm.assertEq(rewards.creditOf(alice, IERC20(address(usd))), 900, "exactly the round's reward");
        vm.assertFalse(rewards.isNullifierUsed(12), "the surplus claim is skipped");
    }

    function test_emptyClaimReverts() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, 2);
        vm.expectRevert(RoundRewards.NoClaims.selector);
        rewards.claim(jobId, 0, new RoundRewards.RoundClaim[](0));
    }

    function test_withdrawWithNothingCreditedReverts() public {
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.NothingToWithdraw.selector, address(usd)));
        vm.prank(alice);
        rewards.withdraw(IERC20(address(usd)));
    }

    // ---------------------------------------------------------------- emissions

    function test_aPaidRoundBurnsItsFeeAndEarnsItsValueInTrove() public {
        deploySystem(true);
        uint256 jobId = publishJob(1_000e18, 1, 1, 0);
        close(jobId, 4);
        // 2% of 1,000 is burned; its value, 20 TROVE, tops the round up (under the job's 100 cap)
        vm.assertEq(rewards.creditOf(rewards.BURN_ADDRESS(), IERC20(address(usd))), 20e18, "fee burned");
        RoundRewards.Round memory r = rewards.getRound(jobId, 0);
        vm.assertEq(r.perMember, 245e18, "980 over 4 members");
        vm.assertEq(r.topUpPerMember, 5e18, "20 TROVE over 4 members");
        vm.assertEq(rewards.emissionPool(), EPOCH_EMISSION - 20e18, "the rest stays pooled");
        submit(claimOn(jobId, 0, 9, alice));
        vm.prank(alice);
        (uint256 paid, uint256 topUp) = rewards.withdraw(IERC20(address(usd)));
        vm.assertEq(paid, 245e18, "job token paid");
        vm.assertEq(topUp, 5e18, "top-up paid in TROVE with it");
        vm.assertEq(trove.balanceOf(alice), 5e18, "TROVE received");
    }

    function test_feesInATokenOffTheAllowlistEarnNothing() public {
        deploySystem(true);
        TestToken own = new TestToken("Own", "OWN");
        uint256 jobId = publishIn(own, researcher, 1_000e18, 1, 1);
        close(jobId, 4);
        vm.assertEq(rewards.getRound(jobId, 0).topUpPerMember, 0, "no top-up");
        vm.assertEq(trove.totalSupply(), 0, "nothing released");
    }

    /// The issue's first drain: 1 wei per round in the attacker's own token, minimum 1, 40 rounds.
    function test_selfDealtOneWeiRoundsInAnOwnTokenEarnNoTrove() public {
        deploySystem(true);
        TestToken own = new TestToken("Own", "OWN");
        uint256 jobId = publishIn(own, researcher, 1, 40, 1);
        for (uint256 i = 0; i < 40; ++i) close(jobId, 1);
        vm.assertEq(trove.totalSupply() - rewards.emissionPool(), 0, "no TROVE left the pool");
        vm.assertEq(rewards.jobEmissions(jobId, 0), 0, "the job earned nothing");
    }

    /// The issue's second drain: 10 self-dealt rounds in an allowlisted token. Each TROVE earned
    /// burned at least its value in fees, and the job took at most its cap of the epoch.
    function test_selfDealtRoundsInAnAllowlistedTokenBurnAtLeastWhatTheyEarn() public {
        deploySystem(true);
        uint256 perRound = 1_000e18;
        uint256 jobId = publishJob(uint128(perRound), 10, 1, 0);
        uint256 earned;
        for (uint256 i = 0; i < 10; ++i) {
            uint256 round = close(jobId, 1);
            earned += rewards.getRound(jobId, round).topUpPerMember;
        }
        uint256 burned = rewards.creditOf(rewards.BURN_ADDRESS(), IERC20(address(usd)));
        vm.assertEq(burned, 10 * perRound * FEE_BPS / 10_000, "every round's fee burned");
        vm.assertLe(earned, burned * USD_RATE / 1e18, "earned at most the value burned");
        vm.assertEq(earned, EPOCH_EMISSION * JOB_EPOCH_CAP_BPS / 10_000, "capped at 10% of the epoch");
        // Positive control: without the cap the same rounds would have earned 200 TROVE.
        vm.assertGt(burned * USD_RATE / 1e18, earned, "the cap bound");
    }

    function test_allJobsTogetherEarnAtMostTheEpochsEmissions() public {
        deploySystem(true);
        uint256 total;
        for (uint256 i = 0; i < 12; ++i) {
            uint256 jobId = publishJob(5_000e18, 1, 1, 0); // a fee worth 100 TROVE each
            close(jobId, 1);
            total += rewards.getRound(jobId, 0).topUpPerMember;
        }
        vm.assertEq(total, EPOCH_EMISSION, "the epoch's emissions, not more");
        vm.assertEq(rewards.epochEmissions(0).paid, EPOCH_EMISSION, "recorded");
    }

    function test_whenAnEpochWasAskedTwiceOverTheNextPaysEachFeeHalf() public {
        deploySystem(true);
        for (uint256 i = 0; i < 20; ++i) close(publishJob(5_000e18, 1, 1, 0), 1); // 2,000 TROVE of fees asked
        vm.assertEq(rewards.epochEmissions(0).weight, 2 * EPOCH_EMISSION, "demand");
        vm.warp(block.timestamp + EPOCH);
        uint256 jobId = publishJob(1_000e18, 1, 1, 0); // 20 TROVE of fees
        close(jobId, 1);
        vm.assertEq(rewards.getRound(jobId, 0).topUpPerMember, 10e18, "pro rata: half of the fee's value");
    }

    function test_emissionsTaperWithTheSchedule() public {
        deploySystem(true);
        vm.warp(block.timestamp + HALVING * EPOCH); // the second halving period: 500 per epoch
        uint256 jobId = publishJob(50_000e18, 1, 1, 0);
        close(jobId, 1);
        vm.assertEq(rewards.getRound(jobId, 0).topUpPerMember, 50e18, "10% of 500");
    }

    function test_unpaidRoundGetsNoTopUp() public {
        deploySystem(true);
        uint256 jobId = publishJob(900e18, 1, 5, 0);
        close(jobId, 4);
        vm.assertEq(rewards.getRound(jobId, 0).topUpPerMember, 0, "no top-up");
        vm.assertEq(trove.totalSupply(), 0, "nothing released");
    }

    function test_jobPaidInTroveCreditsOneBalance() public {
        deploySystem(true);
        // earn TROVE through a first job, then publish a job paid in TROVE with it
        uint256 first = publishJob(5_000e18, 1, 1, 0);
        close(first, 1);
        submit(claimOn(first, 0, 1, researcher));
        vm.startPrank(researcher);
        rewards.withdraw(IERC20(address(usd)));
        trove.approve(address(registry), 90e18 + 4.5e18);
        uint256 jobId = registry.publish(params(IERC20(address(trove)), 90e18, 1, 1, 0));
        vm.stopPrank();
        close(jobId, 2);
        RoundRewards.Round memory r = rewards.getRound(jobId, 0);
        vm.assertGt(r.topUpPerMember, 0, "a TROVE fee earns TROVE");
        submit(claimOn(jobId, 0, 2, alice));
        vm.assertEq(rewards.creditOf(alice, IERC20(address(trove))), uint256(r.perMember) + r.topUpPerMember, "one sum");
    }

    /// @dev Publishes a job paid in `token` for `who`, minting the escrow and stake first.
    function publishIn(TestToken token, address who, uint128 perRound, uint32 rounds, uint32 minContributors) internal returns (uint256 jobId) {
        uint256 total = uint256(perRound) * rounds;
        total += (total * STAKE_BPS) / 10_000;
        token.mint(who, total);
        vm.startPrank(who);
        token.approve(address(registry), total);
        jobId = registry.publish(params(IERC20(address(token)), perRound, rounds, minContributors, 0));
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- unclaimed shares

    function test_aClaimAfterTheWindowIsRefused() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, 3);
        uint256 until = rewards.getRound(jobId, 0).claimsUntil;
        vm.assertEq(until, block.timestamp + CLAIM_WINDOW, "window from the close");
        vm.warp(until + 1);
        TestClaim memory late = claimOn(jobId, 0, 1, alice);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.ClaimWindowClosed.selector, jobId, 0, until));
        submit(late);
        // Positive control: the same claim at the window's last second pays.
        vm.warp(until);
        submit(claimOn(jobId, 0, 1, alice));
        vm.assertEq(rewards.creditOf(alice, IERC20(address(usd))), 300, "paid inside the window");
    }

    function test_unclaimedSharesAreBurnedAndTheirTopUpsGoBackToThePool() public {
        deploySystem(true);
        uint256 jobId = publishJob(1_000e18, 1, 1, 0);
        close(jobId, 4);
        submit(claimOn(jobId, 0, 1, alice));
        uint256 pool = rewards.emissionPool();
        uint256 burnedBefore = rewards.creditOf(rewards.BURN_ADDRESS(), IERC20(address(usd)));
        RoundRewards.Round memory r = rewards.getRound(jobId, 0);
        vm.warp(uint256(r.claimsUntil) + 1);
        rewards.sweepUnclaimed(jobId, 0);
        vm.assertEq(rewards.creditOf(rewards.BURN_ADDRESS(), IERC20(address(usd))) - burnedBefore, 3 * uint256(r.perMember), "three shares burned");
        vm.assertEq(rewards.emissionPool() - pool, 3 * uint256(r.topUpPerMember), "their top-ups back in the pool");
        vm.assertEq(rewards.getRound(jobId, 0).claimed, 4, "nothing left to claim");
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.NothingToSweep.selector, jobId, 0));
        rewards.sweepUnclaimed(jobId, 0);
    }

    function test_sweepingBeforeTheWindowEndsOrAnUnpaidRoundReverts() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, 3);
        vm.warp(uint256(rewards.getRound(jobId, 0).claimsUntil));
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.NothingToSweep.selector, jobId, 0));
        rewards.sweepUnclaimed(jobId, 0);
        uint256 unpaid = publishJob(900, 1, 5, 0);
        close(unpaid, 4);
        vm.warp(block.timestamp + CLAIM_WINDOW + 1);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.NothingToSweep.selector, unpaid, 0));
        rewards.sweepUnclaimed(unpaid, 0);
    }

    /// A group inflated with identities that never claim returns nothing to the researcher or the
    /// coordinator: their shares are burned.
    function test_anInflatedGroupsUnclaimedSharesDoNotGoBackToTheResearcher() public {
        uint256 jobId = publishJob(1_000, 1, 1, 0);
        close(jobId, 10); // 2 real members, 8 sybils that never claim
        submit(claimOn(jobId, 0, 1, alice));
        submit(claimOn(jobId, 0, 2, bob));
        uint256 researcherBefore = rewards.creditOf(researcher, IERC20(address(usd)));
        uint256 coordinatorBefore = rewards.creditOf(coordinator, IERC20(address(usd)));
        vm.warp(uint256(rewards.getRound(jobId, 0).claimsUntil) + 1);
        rewards.sweepUnclaimed(jobId, 0);
        vm.assertEq(rewards.creditOf(researcher, IERC20(address(usd))), researcherBefore, "researcher gets nothing back");
        vm.assertEq(rewards.creditOf(coordinator, IERC20(address(usd))), coordinatorBefore, "nor does the coordinator");
        vm.assertEq(rewards.creditOf(rewards.BURN_ADDRESS(), IERC20(address(usd))), 800, "the sybils' shares burned");
    }

    // ---------------------------------------------------------------- bonds

    function test_enrollmentPullsTheBondFromWhoeverSubmitsIt() public {
        uint256 jobId = publishJob(900, 2, 1, 50);
        enrollAs(jobId, relayer, 111);
        vm.assertEq(usd.balanceOf(address(rewards)), 50, "bond held");
        RoundRewards.Enrollment memory e = rewards.enrollmentOf(jobId, 0);
        vm.assertEq(e.bondOwner, relayer, "the payer owns the bond");
        vm.assertEq(uint256(e.bond), uint256(RoundRewards.BondStatus.Posted), "posted");
    }

    function test_aBondForACommitmentBySomeoneElseReverts() public {
        uint256 jobId = publishJob(900, 2, 1, 50);
        bytes32 key = keccak256(abi.encode("roster key", uint256(111)));
        // the identity named alice as the owner of its bond; bob copies the proof from the mempool
        RoundRewards.EnrollmentProof memory proof = enrollmentProof(jobId, 111, key, alice);
        usd.mint(bob, 50);
        vm.startPrank(bob);
        usd.approve(address(rewards), 50);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.EnrollmentNotAuthorized.selector, jobId, 111, bob));
        rewards.enroll(jobId, 111, key, proof);
        // nor can he bond an identity that authorized no bond at all
        RoundRewards.EnrollmentProof memory unbonded = enrollmentProof(jobId, 111, key, address(0));
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.EnrollmentNotAuthorized.selector, jobId, 111, bob));
        rewards.enroll(jobId, 111, key, unbonded);
        vm.stopPrank();
        vm.assertEq(usd.balanceOf(bob), 50, "bob's tokens untouched");
        // positive control: the owner the identity named posts it
        usd.mint(alice, 50);
        vm.startPrank(alice);
        usd.approve(address(rewards), 50);
        rewards.enroll(jobId, 111, key, proof);
        vm.stopPrank();
        vm.assertEq(rewards.enrollmentOf(jobId, 0).bondOwner, alice, "alice owns the bond");
        vm.assertEq(usd.balanceOf(address(rewards)), 50, "bond held");
    }

    function test_includedBondIsReclaimedByItsPayerOnceTheJobEnds() public {
        uint256 jobId = publishJob(900, 1, 1, 50);
        uint32 index = enrollAs(jobId, alice, 111);
        uint32[] memory roster = new uint32[](1);
        roster[0] = index;
        start(jobId, roster);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.BondNotReclaimable.selector, jobId, index));
        vm.prank(alice);
        rewards.reclaimBond(jobId, index);
        closeWith(jobId, positions(1));
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.BondNotReclaimable.selector, jobId, index));
        vm.prank(bob);
        rewards.reclaimBond(jobId, index);
        vm.prank(alice);
        rewards.reclaimBond(jobId, index);
        vm.assertEq(rewards.creditOf(alice, IERC20(address(usd))), 50, "bond back");
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.BondNotReclaimable.selector, jobId, index));
        vm.prank(alice);
        rewards.reclaimBond(jobId, index);
    }

    function test_droppedBondIsForfeitedToThePaidMembersNotTheResearcher() public {
        uint256 jobId = publishJob(900, 2, 1, 60);
        start(jobId, enrollMany(jobId, 3));
        uint32[] memory included = new uint32[](2);
        (included[0], included[1]) = (0, 2);
        closeWith(jobId, included);
        vm.assertEq(rewards.getRound(jobId, 0).perMember, 480, "900 / 2 + 60 / 2");
        vm.assertEq(rewards.creditOf(researcher, IERC20(address(usd))), 0, "nothing to the researcher");
        vm.assertEq(uint256(rewards.enrollmentOf(jobId, 1).bond), uint256(RoundRewards.BondStatus.Forfeited), "forfeited");
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.BondNotReclaimable.selector, jobId, 1));
        vm.prank(payerOf(1001));
        rewards.reclaimBond(jobId, 1);
    }

    function test_droppedBondsOfAnUnpaidRoundAreBurned() public {
        uint256 jobId = publishJob(900, 1, 3, 60);
        start(jobId, enrollMany(jobId, 3));
        closeWith(jobId, positions(2));
        vm.assertFalse(rewards.getRound(jobId, 0).paid, "below the minimum");
        vm.assertEq(rewards.creditOf(researcher, IERC20(address(usd))), 0, "nothing to the researcher");
        vm.assertEq(rewards.creditOf(coordinator, IERC20(address(usd))), 0, "nothing to the coordinator");
        vm.assertEq(rewards.creditOf(rewards.BURN_ADDRESS(), IERC20(address(usd))), 60, "burned");
    }

    function test_aStrayBondCannotBlockAClose() public {
        uint256 jobId = publishJob(900, 1, 1, 60);
        start(jobId, enrollMany(jobId, 2));
        // a stranger enrolls (and bonds) an unknown commitment after the roster froze
        uint32 stray = enrollAs(jobId, bob, 0xBAD);
        closeWith(jobId, positions(2));
        vm.assertTrue(rewards.getRound(jobId, 0).paid, "closed and paid");
        vm.prank(bob);
        rewards.reclaimBond(jobId, stray);
        vm.assertEq(rewards.creditOf(bob, IERC20(address(usd))), 60, "the stranger only gets its own bond back");
    }

    // ---------------------------------------------------------------- reentrancy

    function test_reentrantWithdrawThroughHostileTokenReverts() public {
        HostileToken host = new HostileToken();
        host.mint(researcher, 1050);
        vm.startPrank(researcher);
        host.approve(address(registry), 1050);
        uint256 jobId = registry.publish(params(IERC20(address(host)), 1000, 1, 1, 0));
        vm.stopPrank();
        close(jobId, 2);
        submit(claimOn(jobId, 0, 1, alice));
        // the token calls withdraw again from inside the payout
        host.arm(address(rewards), abi.encodeCall(RoundRewards.withdraw, (IERC20(address(host)))));
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        vm.prank(alice);
        rewards.withdraw(IERC20(address(host)));
        vm.assertEq(rewards.creditOf(alice, IERC20(address(host))), 500, "credit intact");
        vm.assertEq(host.balanceOf(address(rewards)), 1000, "funds intact");
    }

    function test_reentrantClaimThroughHostileTokenReverts() public {
        HostileToken host = new HostileToken();
        host.mint(researcher, 1050);
        vm.startPrank(researcher);
        host.approve(address(registry), 1050);
        uint256 jobId = registry.publish(params(IERC20(address(host)), 1000, 1, 1, 0));
        vm.stopPrank();
        close(jobId, 2);
        submit(claimOn(jobId, 0, 1, alice));
        host.arm(address(rewards), abi.encodeCall(RoundRewards.claim, (jobId, 0, one(claimOn(jobId, 0, 2, alice).claim))));
        vm.expectRevert(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
        vm.prank(alice);
        rewards.withdraw(IERC20(address(host)));
        vm.assertFalse(rewards.isNullifierUsed(2), "no claim slipped in");
    }

    // ---------------------------------------------------------------- fuzz

    /// Every member of any group gets the same share, and the round never pays more than its reward.
    function testFuzz_claimsNeverExceedRoundReward(uint128 perRound, uint32 size, uint8 claims) public {
        perRound = uint128(bound(perRound, 1, 1e30));
        size = uint32(bound(size, 1, 40));
        uint256 n = bound(claims, 0, size);
        uint256 jobId = publishJob(perRound, 1, 1, 0);
        close(jobId, size);
        for (uint256 i = 0; i < n; ++i) {
            submit(claimOn(jobId, 0, 1000 + i, alice));
        }
        uint256 credited = rewards.creditOf(alice, IERC20(address(usd)));
        vm.assertEq(credited, (uint256(perRound) / size) * n, "equal shares");
        uint256 remainder = rewards.creditOf(researcher, IERC20(address(usd)));
        vm.assertLe(credited + remainder, perRound, "never more than the round's reward");
        vm.assertEq(usd.balanceOf(address(rewards)), perRound, "the round's reward is all held");
    }

    /// A withdrawal pays exactly the credit and clears it.
    function testFuzz_withdrawPaysExactCredit(uint128 perRound, uint32 size) public {
        perRound = uint128(bound(perRound, 1, 1e30));
        size = uint32(bound(size, 1, 64));
        uint256 jobId = publishJob(perRound, 1, 1, 0);
        close(jobId, size);
        submit(claimOn(jobId, 0, 5, alice));
        uint256 credit = rewards.creditOf(alice, IERC20(address(usd)));
        uint256 topUp = rewards.topUpOf(alice, IERC20(address(usd)));
        if (credit == 0 && topUp == 0) {
            vm.expectRevert(abi.encodeWithSelector(RoundRewards.NothingToWithdraw.selector, address(usd)));
        }
        vm.prank(alice);
        rewards.withdraw(IERC20(address(usd)));
        vm.assertEq(usd.balanceOf(alice), credit, "paid the credit");
        vm.assertEq(trove.balanceOf(alice), topUp, "paid the top-up");
        vm.assertEq(rewards.creditOf(alice, IERC20(address(usd))), 0, "credit cleared");
        vm.assertEq(rewards.topUpOf(alice, IERC20(address(usd))), 0, "top-up cleared");
    }

    /// Bonds: forfeits of dropped roster members pay the included members (dust burned), kept
    /// bonds go back to their payers, and nothing goes to the researcher.
    function testFuzz_bondsAreReturnedOrForfeitedNeverLost(uint96 bond, uint8 rosterSize, uint8 droppedCount) public {
        bond = uint96(bound(bond, 1, 1e24));
        uint256 n = bound(rosterSize, 1, 12);
        uint256 d = bound(droppedCount, 0, n - 1);
        uint256 jobId = publishJob(1000, 1, 1, bond);
        uint32[] memory entries = enrollMany(jobId, n);
        start(jobId, entries);
        uint32[] memory included = new uint32[](n - d);
        for (uint256 i = d; i < n; ++i) included[i - d] = uint32(i);
        closeWith(jobId, included);
        uint256 returned;
        for (uint256 i = 0; i < n; ++i) {
            address payer = payerOf(rewards.enrollmentOf(jobId, entries[i]).commitment);
            if (i < d) continue;
            vm.prank(payer);
            rewards.reclaimBond(jobId, entries[i]);
            returned += rewards.creditOf(payer, IERC20(address(usd)));
        }
        vm.assertEq(returned, uint256(bond) * (n - d), "kept bonds returned");
        RoundRewards.Round memory r = rewards.getRound(jobId, 0);
        uint256 burned = rewards.creditOf(rewards.BURN_ADDRESS(), IERC20(address(usd)));
        uint256 toResearcher = rewards.creditOf(researcher, IERC20(address(usd)));
        vm.assertEq(uint256(r.perMember) * (n - d) + toResearcher + burned, 1000 + uint256(bond) * d, "forfeits join the pool");
        vm.assertLt(toResearcher, n - d, "the researcher gets at most the reward's dust");
        vm.assertEq(usd.balanceOf(address(rewards)), 1000 + uint256(bond) * n, "all held");
    }
}
