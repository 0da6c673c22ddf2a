// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Fixture} from "./utils/Fixture.sol";
import {RoundRewards} from "../src/RoundRewards.sol";
import {JobRegistry} from "../src/JobRegistry.sol";
import {HostileToken} from "./mocks/HostileToken.sol";

contract RoundRewardsTest is Fixture {
    uint256 internal constant ROOT = 0x1234;
    address internal alice = address(0xA1);
    address internal bob = address(0xB0B);

    function setUp() public {
        deploySystem();
    }

    // ---------------------------------------------------------------- closing rounds

    function test_coordinatorClosesRoundAndRewardLeavesEscrow() public {
        uint256 jobId = publishJob(900, 3, 2, 0);
        uint256 round = close(jobId, ROOT, 3);
        vm.assertEq(round, 0, "first round");
        RoundRewards.Round memory r = rewards.getRound(jobId, 0);
        vm.assertEq(r.root, ROOT, "root stored");
        vm.assertEq(r.size, 3, "size stored");
        vm.assertTrue(r.paid, "paid");
        vm.assertEq(r.perMember, 300, "equal share");
        vm.assertEq(registry.getJob(jobId).escrow, 1800, "escrow holds the two other rounds");
        vm.assertEq(usd.balanceOf(address(rewards)), 900, "reward moved to rewards");
    }

    function test_closeByAnyoneButCoordinatorReverts() public {
        uint256 jobId = publishJob(900, 3, 2, 0);
        uint256[] memory none = new uint256[](0);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.NotCoordinator.selector, jobId, researcher));
        vm.prank(researcher);
        rewards.closeRound(jobId, ROOT, 3, none, none);
    }

    function test_closeAfterDeadlineReverts() public {
        uint256 jobId = publishJob(900, 3, 2, 0);
        uint64 deadline = registry.getJob(jobId).deadline;
        vm.warp(uint256(deadline) + 1);
        uint256[] memory none = new uint256[](0);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.DeadlinePassed.selector, jobId, deadline));
        vm.prank(coordinator);
        rewards.closeRound(jobId, ROOT, 3, none, none);
    }

    function test_closeBeyondLastRoundReverts() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, ROOT, 2);
        uint256[] memory none = new uint256[](0);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.AllRoundsClosed.selector, jobId));
        vm.prank(coordinator);
        rewards.closeRound(jobId, ROOT + 1, 2, none, none);
    }

    function test_groupLargerThanTreeReverts() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        uint256[] memory none = new uint256[](0);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidGroup.selector, ROOT, uint256(1 << 20) + 1));
        vm.prank(coordinator);
        rewards.closeRound(jobId, ROOT, uint32((1 << 20) + 1), none, none);
    }

    function test_rootOutsideTheFieldReverts() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        uint256 field = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
        uint256[] memory none = new uint256[](0);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidGroup.selector, field, 3));
        vm.prank(coordinator);
        rewards.closeRound(jobId, field, 3, none, none);
    }

    function test_roundBelowMinimumClosesUnpaidAndKeepsEscrow() public {
        uint256 jobId = publishJob(900, 2, 3, 0);
        close(jobId, ROOT, 2);
        RoundRewards.Round memory r = rewards.getRound(jobId, 0);
        vm.assertFalse(r.paid, "unpaid");
        vm.assertEq(registry.getJob(jobId).escrow, 1800, "escrow untouched");
        vm.assertEq(usd.balanceOf(address(rewards)), 0, "nothing moved");
    }

    function test_claimOnRoundBelowMinimumReverts() public {
        uint256 jobId = publishJob(900, 2, 3, 0);
        close(jobId, ROOT, 2);
        TestClaim memory c = claimFor(jobId, 0, ROOT, 1, alice);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.RoundBelowMinimum.selector, jobId, 0));
        submit(c);
    }

    function test_remainderOfUnevenSplitGoesToResearcher() public {
        uint256 jobId = publishJob(1000, 1, 1, 0);
        close(jobId, ROOT, 3);
        vm.assertEq(rewards.getRound(jobId, 0).perMember, 333, "share rounds down");
        vm.assertEq(rewards.creditOf(researcher, IERC20(address(usd))), 1, "remainder credited back");
    }

    // ---------------------------------------------------------------- claims

    function test_relayerSubmitsClaimAndRecipientWithdraws() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, ROOT, 3);
        vm.prank(relayer);
        submit(claimFor(jobId, 0, ROOT, 77, alice));
        vm.assertEq(rewards.creditOf(alice, IERC20(address(usd))), 300, "credited");
        vm.assertTrue(rewards.isNullifierUsed(77), "nullifier spent");
        vm.prank(alice);
        rewards.withdraw(IERC20(address(usd)));
        vm.assertEq(usd.balanceOf(alice), 300, "paid out");
        vm.assertEq(usd.balanceOf(relayer), 0, "relayer gets nothing");
    }

    function test_proofForAnotherRecipientReverts() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, ROOT, 3);
        TestClaim memory c = claimFor(jobId, 0, ROOT, 77, alice);
        c.claim.recipient = bob; // front-runner copies the proof from the mempool and swaps the recipient
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidProof.selector, jobId, 0, 77));
        submit(c);
        submit(claimFor(jobId, 0, ROOT, 77, alice));
        vm.assertEq(rewards.creditOf(alice, IERC20(address(usd))), 300, "the honest claim still pays");
    }

    function test_replayedNullifierReverts() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, ROOT, 3);
        TestClaim memory c = claimFor(jobId, 0, ROOT, 77, alice);
        submit(c);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.NullifierAlreadyUsed.selector, 77));
        submit(c);
    }

    function test_proofAgainstAnotherRoundsRootReverts() public {
        uint256 jobId = publishJob(900, 2, 1, 0);
        close(jobId, ROOT, 3);
        close(jobId, ROOT + 1, 3);
        // made for round 0's group, submitted for round 1
        TestClaim memory c = claimFor(jobId, 0, ROOT, 77, alice);
        c.round = 1;
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidProof.selector, jobId, 1, 77));
        submit(c);
    }

    function test_proofAgainstStaleRootOfSameRoundReverts() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, ROOT, 3);
        TestClaim memory c = claimFor(jobId, 0, ROOT - 1, 77, alice);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.InvalidProof.selector, jobId, 0, 77));
        submit(c);
    }

    function test_claimOnUnclosedRoundReverts() public {
        uint256 jobId = publishJob(900, 2, 1, 0);
        TestClaim memory c = claimFor(jobId, 0, ROOT, 77, alice);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.RoundNotClosed.selector, jobId, 0));
        submit(c);
    }

    function test_claimsBeyondGroupSizeRevert() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, ROOT, 2);
        submit(claimFor(jobId, 0, ROOT, 1, alice));
        submit(claimFor(jobId, 0, ROOT, 2, alice));
        TestClaim memory third = claimFor(jobId, 0, ROOT, 3, alice);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.RoundFullyClaimed.selector, jobId, 0));
        submit(third);
        vm.assertEq(rewards.creditOf(alice, IERC20(address(usd))), 900, "exactly the round's reward");
    }

    function test_batchCreditsEveryRecipientAndWithdrawsOnceForManyRounds() public {
        uint256 jobId = publishJob(900, 2, 1, 0);
        close(jobId, ROOT, 3);
        close(jobId, ROOT + 1, 3);
        RoundRewards.RoundClaim[] memory batch = new RoundRewards.RoundClaim[](2);
        batch[0] = claimFor(jobId, 0, ROOT, 1, alice).claim;
        batch[1] = claimFor(jobId, 0, ROOT, 2, bob).claim;
        vm.prank(relayer);
        rewards.claim(jobId, 0, batch);
        submit(claimFor(jobId, 1, ROOT + 1, 3, alice));
        vm.assertEq(rewards.creditOf(alice, IERC20(address(usd))), 600, "two rounds for alice");
        vm.assertEq(rewards.creditOf(bob, IERC20(address(usd))), 300, "one for bob");
        vm.assertEq(rewards.getRound(jobId, 0).claimed, 2, "round 0 counted");
        vm.prank(alice);
        rewards.withdraw(IERC20(address(usd)));
        vm.assertEq(usd.balanceOf(alice), 600, "one withdrawal for both rounds");
    }

    function test_batchIsAllOrNothing() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, ROOT, 3);
        RoundRewards.RoundClaim[] memory batch = new RoundRewards.RoundClaim[](2);
        batch[0] = claimFor(jobId, 0, ROOT, 1, alice).claim;
        batch[1] = claimFor(jobId, 0, ROOT, 1, bob).claim;
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.NullifierAlreadyUsed.selector, 1));
        rewards.claim(jobId, 0, batch);
        vm.assertFalse(rewards.isNullifierUsed(1), "first claim rolled back");
        vm.assertEq(rewards.getRound(jobId, 0).claimed, 0, "nothing counted");
    }

    function test_batchLargerThanWhatIsLeftReverts() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, ROOT, 2);
        RoundRewards.RoundClaim[] memory batch = new RoundRewards.RoundClaim[](3);
        for (uint256 i = 0; i < 3; ++i) batch[i] = claimFor(jobId, 0, ROOT, 10 + i, alice).claim;
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.RoundFullyClaimed.selector, jobId, 0));
        rewards.claim(jobId, 0, batch);
    }

    function test_emptyClaimReverts() public {
        uint256 jobId = publishJob(900, 1, 1, 0);
        close(jobId, ROOT, 2);
        vm.expectRevert(RoundRewards.NoClaims.selector);
        rewards.claim(jobId, 0, new RoundRewards.RoundClaim[](0));
    }

    function test_withdrawWithNothingCreditedReverts() public {
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.NothingToWithdraw.selector, address(usd)));
        vm.prank(alice);
        rewards.withdraw(IERC20(address(usd)));
    }

    // ---------------------------------------------------------------- emissions

    function test_paidRoundIsToppedUpFromEmissions() public {
        uint256 jobId = publishJob(900, 2, 1, 0);
        close(jobId, ROOT, 4);
        // epoch 0 unlocked 1000 TROVE; 10% of the pool tops the round up
        vm.assertEq(trove.totalSupply(), EPOCH_EMISSION, "epoch 0 released");
        vm.assertEq(rewards.getRound(jobId, 0).topUpPerMember, 25e18, "100 TROVE over 4 members");
        vm.assertEq(rewards.emissionPool(), 900e18, "rest stays pooled");
        submit(claimFor(jobId, 0, ROOT, 9, alice));
        vm.assertEq(rewards.topUpOf(alice, IERC20(address(usd))), 25e18, "top-up credited in TROVE");
        vm.assertEq(rewards.creditOf(alice, IERC20(address(usd))), 225, "reward credited in the job token");
        vm.prank(alice);
        (uint256 paid, uint256 topUp) = rewards.withdraw(IERC20(address(usd)));
        vm.assertEq(paid, 225, "job token paid");
        vm.assertEq(trove.balanceOf(alice), 25e18, "top-up paid in TROVE with it");
        vm.assertEq(topUp, 25e18, "reported");
    }

    function test_topUpsDrawThePoolDownAndEpochsRefillIt() public {
        uint256 jobId = publishJob(900, 4, 1, 0);
        close(jobId, ROOT, 1);
        close(jobId, ROOT + 1, 1);
        vm.assertEq(rewards.getRound(jobId, 0).topUpPerMember, 100e18, "10% of 1000");
        vm.assertEq(rewards.getRound(jobId, 1).topUpPerMember, 90e18, "10% of the 900 left");
        vm.warp(block.timestamp + EPOCH);
        close(jobId, ROOT + 2, 1);
        vm.assertEq(rewards.getRound(jobId, 2).topUpPerMember, 181e18, "10% of 810 + epoch 1's 1000");
        vm.assertEq(trove.totalSupply(), 2 * EPOCH_EMISSION, "two epochs released");
    }

    function test_unpaidRoundGetsNoTopUp() public {
        uint256 jobId = publishJob(900, 1, 5, 0);
        close(jobId, ROOT, 4);
        vm.assertEq(rewards.getRound(jobId, 0).topUpPerMember, 0, "no top-up");
        vm.assertEq(trove.totalSupply(), 0, "nothing released");
    }

    function test_jobPaidInTroveCreditsOneBalance() public {
        // earn TROVE through a first job, then publish a job paid in TROVE with it
        uint256 first = publishJob(900, 1, 1, 0);
        close(first, ROOT, 1);
        submit(claimFor(first, 0, ROOT, 1, researcher));
        vm.startPrank(researcher);
        rewards.withdraw(IERC20(address(usd)));
        trove.approve(address(registry), 90e18 + 4.5e18);
        uint256 jobId = registry.publish(params(IERC20(address(trove)), 90e18, 1, 1, 0));
        vm.stopPrank();
        close(jobId, ROOT + 1, 2);
        RoundRewards.Round memory r = rewards.getRound(jobId, 0);
        submit(claimFor(jobId, 0, ROOT + 1, 2, alice));
        vm.assertEq(rewards.creditOf(alice, IERC20(address(trove))), uint256(r.perMember) + r.topUpPerMember, "one sum");
    }

    // ---------------------------------------------------------------- bonds

    function test_includedBondIsReturnedAtClose() public {
        uint256 jobId = publishJob(900, 2, 1, 50);
        postBond(jobId, alice, 111);
        uint256[] memory included = new uint256[](1);
        included[0] = 111;
        vm.prank(coordinator);
        rewards.closeRound(jobId, ROOT, 3, included, new uint256[](0));
        vm.assertEq(rewards.creditOf(alice, IERC20(address(usd))), 50, "bond back");
        vm.assertEq(uint256(rewards.bondOf(jobId, 111).status), uint256(RoundRewards.BondStatus.Returned), "returned");
        vm.assertEq(rewards.pendingBonds(jobId), 0, "nothing pending");
    }

    function test_droppedBondIsForfeitedToTheRoundsPool() public {
        uint256 jobId = publishJob(900, 2, 1, 60);
        postBond(jobId, alice, 111);
        postBond(jobId, bob, 222);
        uint256[] memory included = new uint256[](1);
        included[0] = 111;
        uint256[] memory dropped = new uint256[](1);
        dropped[0] = 222;
        vm.prank(coordinator);
        rewards.closeRound(jobId, ROOT, 3, included, dropped);
        vm.assertEq(rewards.getRound(jobId, 0).perMember, 320, "(900 + 60) / 3");
        vm.assertEq(rewards.creditOf(bob, IERC20(address(usd))), 0, "dropout loses the bond");
        vm.assertEq(uint256(rewards.bondOf(jobId, 222).status), uint256(RoundRewards.BondStatus.Forfeited), "forfeited");
    }

    function test_closeMustAccountForEveryBond() public {
        uint256 jobId = publishJob(900, 2, 1, 60);
        postBond(jobId, alice, 111);
        postBond(jobId, bob, 222);
        uint256[] memory included = new uint256[](1);
        included[0] = 111;
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.BondsUnaccounted.selector, jobId, 2, 1));
        vm.prank(coordinator);
        rewards.closeRound(jobId, ROOT, 3, included, new uint256[](0));
    }

    function test_bondOfAnotherRoundCannotBeReported() public {
        uint256 jobId = publishJob(900, 2, 1, 60);
        uint256[] memory included = new uint256[](1);
        included[0] = 999;
        postBond(jobId, alice, 111);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.BondNotPosted.selector, jobId, 999));
        vm.prank(coordinator);
        rewards.closeRound(jobId, ROOT, 3, included, new uint256[](0));
    }

    function test_bondOnJobWithoutBondsReverts() public {
        uint256 jobId = publishJob(900, 2, 1, 0);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.BondsNotRequired.selector, jobId));
        vm.prank(alice);
        rewards.postBond(jobId, 111);
    }

    function test_sameCommitmentCannotBondTwiceInARound() public {
        uint256 jobId = publishJob(900, 2, 1, 60);
        postBond(jobId, alice, 111);
        usd.mint(bob, 60);
        vm.startPrank(bob);
        usd.approve(address(rewards), 60);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.BondAlreadyPosted.selector, jobId, 111));
        rewards.postBond(jobId, 111);
        vm.stopPrank();
    }

    function test_bondIsReclaimableOnlyAfterTheJobEnds() public {
        uint256 jobId = publishJob(900, 2, 1, 60);
        postBond(jobId, alice, 111);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.BondNotReclaimable.selector, jobId, 111));
        vm.prank(alice);
        rewards.reclaimBond(jobId, 111);
        vm.warp(uint256(registry.getJob(jobId).deadline) + 1);
        vm.expectRevert(abi.encodeWithSelector(RoundRewards.BondNotReclaimable.selector, jobId, 111));
        vm.prank(bob);
        rewards.reclaimBond(jobId, 111);
        vm.prank(alice);
        rewards.reclaimBond(jobId, 111);
        vm.assertEq(rewards.creditOf(alice, IERC20(address(usd))), 60, "bond back after the deadline");
    }

    // ---------------------------------------------------------------- reentrancy

    function test_reentrantWithdrawThroughHostileTokenReverts() public {
        HostileToken host = new HostileToken();
        host.mint(researcher, 1050);
        vm.startPrank(researcher);
        host.approve(address(registry), 1050);
        uint256 jobId = registry.publish(params(IERC20(address(host)), 1000, 1, 1, 0));
        vm.stopPrank();
        close(jobId, ROOT, 2);
        submit(claimFor(jobId, 0, ROOT, 1, alice));
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
        close(jobId, ROOT, 2);
        submit(claimFor(jobId, 0, ROOT, 1, alice));
        host.arm(address(rewards), abi.encodeCall(RoundRewards.claim, (jobId, 0, one(claimFor(jobId, 0, ROOT, 2, alice).claim))));
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
        close(jobId, ROOT, size);
        for (uint256 i = 0; i < n; ++i) {
            submit(claimFor(jobId, 0, ROOT, 1000 + i, alice));
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
        size = uint32(bound(size, 1, 1000));
        uint256 jobId = publishJob(perRound, 1, 1, 0);
        close(jobId, ROOT, size);
        submit(claimFor(jobId, 0, ROOT, 5, alice));
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

    /// Bonds: returned plus forfeited always equals what was posted, and forfeits pay the round.
    function testFuzz_bondsAreReturnedOrForfeitedNeverLost(uint96 bond, uint8 posted, uint8 droppedCount) public {
        bond = uint96(bound(bond, 1, 1e24));
        uint256 n = bound(posted, 1, 12);
        uint256 d = bound(droppedCount, 0, n);
        uint256 jobId = publishJob(1000, 1, 1, bond);
        uint256[] memory included = new uint256[](n - d);
        uint256[] memory dropped = new uint256[](d);
        for (uint256 i = 0; i < n; ++i) {
            postBond(jobId, address(uint160(0x1000 + i)), 500 + i);
            if (i < d) dropped[i] = 500 + i;
            else included[i - d] = 500 + i;
        }
        vm.prank(coordinator);
        rewards.closeRound(jobId, ROOT, uint32(n), included, dropped);
        uint256 returned;
        for (uint256 i = d; i < n; ++i) {
            returned += rewards.creditOf(address(uint160(0x1000 + i)), IERC20(address(usd)));
        }
        vm.assertEq(returned, uint256(bond) * (n - d), "included bonds returned");
        RoundRewards.Round memory r = rewards.getRound(jobId, 0);
        uint256 pool = 1000 + uint256(bond) * d;
        vm.assertEq(uint256(r.perMember) * n + rewards.creditOf(researcher, IERC20(address(usd))), pool, "forfeits join the pool");
        vm.assertEq(usd.balanceOf(address(rewards)), 1000 + uint256(bond) * n, "all held");
    }
}
