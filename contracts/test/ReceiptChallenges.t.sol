// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ISemaphoreVerifier} from "@semaphore-protocol/contracts/interfaces/ISemaphoreVerifier.sol";
import {Fixture} from "./utils/Fixture.sol";
import {JobRegistry} from "../src/JobRegistry.sol";
import {RoundRewards} from "../src/RoundRewards.sol";
import {ReceiptChallenges} from "../src/ReceiptChallenges.sol";

/// @dev The optimistic close's challenge: a coordinator's signed receipt for a masked input the
/// posted list omits pays the contributor from the researcher's stake. Receipts are really signed
/// (EIP-712, vm.sign); the claimant's Semaphore proof uses the stand-in verifier.
contract ReceiptChallengesTest is Fixture {
    uint256 internal constant COORDINATOR_KEY = 0xC0FFEE;
    uint256 internal constant STRANGER_KEY = 0xBAD;
    uint32 internal constant WINDOW = 1 days;
    uint128 internal constant REWARD = 900;
    address internal payee = address(0xFA11);

    ReceiptChallenges internal challenges;

    function setUp() public {
        deploySystem();
        coordinator = vm.addr(COORDINATOR_KEY);
        challenges = new ReceiptChallenges(registry, rewards, ISemaphoreVerifier(address(verifier)), WINDOW);
        registry.setReceiptChallenges(address(challenges));
    }

    // ---------------------------------------------------------------- helpers

    /// @dev A job of 10 rounds (stake 450), a roster of `n` fresh contributors, closed with `included`.
    function closedRound(uint256 n, uint32[] memory included, uint96 bond) internal returns (uint256 jobId, uint32[] memory entries) {
        jobId = publishJob(REWARD, 10, 1, bond);
        entries = enrollMany(jobId, n);
        start(jobId, entries);
        closeWith(jobId, included);
    }

    function commitmentAt(uint256 jobId, uint256 round, uint256 position) internal view returns (uint256) {
        return rewards.enrollmentOf(jobId, rewards.rosterEntries(jobId, round)[position]).commitment;
    }

    function receiptFor(uint256 jobId, uint256 round, uint256 commitment) internal view returns (ReceiptChallenges.MaskedInputReceipt memory) {
        return ReceiptChallenges.MaskedInputReceipt({
            jobId: jobId,
            round: round,
            rosterHash: rewards.rosterOf(jobId, round).hash,
            commitment: commitment,
            maskedInputHash: keccak256(abi.encode("masked input", commitment))
        });
    }

    function signed(uint256 key, ReceiptChallenges.MaskedInputReceipt memory receipt) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, challenges.receiptDigest(receipt));
        return abi.encodePacked(r, s, v);
    }

    /// @dev What the stand-in verifier accepts as the identity's choice of `recipient` for (jobId, round).
    function claimantProof(uint256 jobId, uint256 round, uint256 commitment, address recipient)
        internal
        view
        returns (ReceiptChallenges.ClaimantProof memory p)
    {
        p.nullifier = uint256(keccak256(abi.encode("challenge nullifier", commitment)));
        uint256[4] memory signals =
            [commitment, p.nullifier, fieldHash(uint256(keccak256(abi.encode(recipient)))), fieldHash(challenges.challengeScopeOf(jobId, round))];
        p.points[0] = verifier.commitment(signals, 1);
    }

    /// @dev The challenge of the contributor at `position`, with an honest receipt and proof.
    function challengeOf(uint256 jobId, uint256 round, uint32 position, uint32[] memory included)
        internal
        view
        returns (ReceiptChallenges.Challenge memory c)
    {
        uint256 commitment = commitmentAt(jobId, round, position);
        c.receipt = receiptFor(jobId, round, commitment);
        c.signature = signed(COORDINATOR_KEY, c.receipt);
        c.position = position;
        c.included = included;
        c.recipient = payee;
        c.proof = claimantProof(jobId, round, commitment, payee);
    }

    function pair(uint32 a, uint32 b) internal pure returns (uint32[] memory p) {
        p = new uint32[](2);
        (p[0], p[1]) = (a, b);
    }

    // ---------------------------------------------------------------- the challenge

    function test_anOmittedContributorWithAReceiptIsPaidFromTheStake() public {
        (uint256 jobId,) = closedRound(3, pair(0, 1), 0);
        uint256 stake = registry.getJob(jobId).stake;
        vm.assertEq(stake, 450, "stake: 5% of 10 rounds of 900");
        ReceiptChallenges.Challenge memory c = challengeOf(jobId, 0, 2, pair(0, 1));
        vm.prank(relayer);
        uint256 paid = challenges.challenge(jobId, 0, c);
        // what the round would have paid it as a third member
        vm.assertEq(paid, REWARD / 3, "one more member's share");
        vm.assertEq(usd.balanceOf(payee), REWARD / 3, "paid to the recipient the identity chose");
        vm.assertEq(registry.getJob(jobId).stake, stake - REWARD / 3, "slashed from the stake");
        vm.assertTrue(challenges.challenged(jobId, 0, c.receipt.commitment), "recorded");
    }

    function test_anIncludedContributorCannotChallenge() public {
        (uint256 jobId,) = closedRound(3, pair(0, 1), 0);
        for (uint32 position = 0; position < 2; ++position) {
            ReceiptChallenges.Challenge memory c = challengeOf(jobId, 0, position, pair(0, 1));
            vm.expectRevert(abi.encodeWithSelector(ReceiptChallenges.ContributorIncluded.selector, jobId, 0, position));
            challenges.challenge(jobId, 0, c);
        }
        // positive control: the omitted one, same round and list, wins
        challenges.challenge(jobId, 0, challengeOf(jobId, 0, 2, pair(0, 1)));
        vm.assertEq(usd.balanceOf(payee), REWARD / 3, "paid");
    }

    function test_anHonestCloseCannotBeChallenged() public {
        uint32[] memory all = positions(4);
        (uint256 jobId,) = closedRound(4, all, 0);
        uint256 stake = registry.getJob(jobId).stake;
        for (uint32 position = 0; position < 4; ++position) {
            ReceiptChallenges.Challenge memory c = challengeOf(jobId, 0, position, all);
            vm.expectRevert(abi.encodeWithSelector(ReceiptChallenges.ContributorIncluded.selector, jobId, 0, position));
            challenges.challenge(jobId, 0, c);
            // claiming the list was shorter than posted does not help
            c.included = pair(0, 1);
            vm.expectRevert(abi.encodeWithSelector(ReceiptChallenges.IncludedListMismatch.selector, jobId, 0));
            challenges.challenge(jobId, 0, c);
        }
        vm.assertEq(registry.getJob(jobId).stake, stake, "stake untouched");
    }

    function test_aForgedOrAlteredReceiptIsRefused() public {
        (uint256 jobId,) = closedRound(3, pair(0, 1), 0);
        ReceiptChallenges.Challenge memory c = challengeOf(jobId, 0, 2, pair(0, 1));
        // signed by someone other than the job's coordinator
        bytes memory honest = c.signature;
        c.signature = signed(STRANGER_KEY, c.receipt);
        vm.expectRevert(abi.encodeWithSelector(ReceiptChallenges.InvalidReceipt.selector, jobId, 0, vm.addr(STRANGER_KEY)));
        challenges.challenge(jobId, 0, c);
        // the coordinator's signature over another masked input
        c.signature = honest;
        c.receipt.maskedInputHash = keccak256("another input");
        vm.expectRevert();
        challenges.challenge(jobId, 0, c);
        // not a signature at all
        c = challengeOf(jobId, 0, 2, pair(0, 1));
        c.signature = hex"1234";
        vm.expectRevert(abi.encodeWithSelector(ReceiptChallenges.InvalidReceipt.selector, jobId, 0, address(0)));
        challenges.challenge(jobId, 0, c);
        // positive control
        c.signature = honest;
        challenges.challenge(jobId, 0, c);
    }

    function test_aReceiptOfAnotherRoundJobOrRosterIsRefused() public {
        (uint256 jobId,) = closedRound(3, pair(0, 1), 0);
        // round 1: the same contributors, all included
        start(jobId, rewards.rosterEntries(jobId, 0));
        closeWith(jobId, positions(3));
        uint256 commitment = commitmentAt(jobId, 0, 2);

        // round 0's receipt used on round 1, where the contributor was included anyway
        ReceiptChallenges.Challenge memory c = challengeOf(jobId, 0, 2, pair(0, 1));
        c.included = positions(3);
        vm.expectRevert(abi.encodeWithSelector(ReceiptChallenges.ReceiptNotForRound.selector, jobId, 1));
        challenges.challenge(jobId, 1, c);

        // a receipt for round 0 naming a roster other than the one frozen last (a restarted round)
        c = challengeOf(jobId, 0, 2, pair(0, 1));
        c.receipt.rosterHash = keccak256("the roster before the restart");
        c.signature = signed(COORDINATOR_KEY, c.receipt);
        vm.expectRevert(abi.encodeWithSelector(ReceiptChallenges.ReceiptNotForRound.selector, jobId, 0));
        challenges.challenge(jobId, 0, c);

        // another job's receipt, though the coordinator signed it
        (uint256 other,) = closedRound(3, pair(0, 1), 0);
        c = challengeOf(other, 0, 2, pair(0, 1));
        vm.expectRevert(abi.encodeWithSelector(ReceiptChallenges.ReceiptNotForRound.selector, jobId, 0));
        challenges.challenge(jobId, 0, c);

        // a receipt naming someone else's roster position
        c = challengeOf(jobId, 0, 2, pair(0, 1));
        c.position = 1;
        vm.expectRevert(abi.encodeWithSelector(ReceiptChallenges.NotOnRoster.selector, jobId, 0, 1));
        challenges.challenge(jobId, 0, c);
        c.position = 7;
        vm.expectRevert(abi.encodeWithSelector(ReceiptChallenges.NotOnRoster.selector, jobId, 0, 7));
        challenges.challenge(jobId, 0, c);

        // positive control: round 0's own receipt on round 0
        challenges.challenge(jobId, 0, challengeOf(jobId, 0, 2, pair(0, 1)));
        vm.assertTrue(challenges.challenged(jobId, 0, commitment), "paid once");
    }

    function test_aChallengeAfterTheWindowIsRefused() public {
        (uint256 jobId,) = closedRound(3, pair(0, 1), 0);
        uint256 until = rewards.rosterOf(jobId, 0).closedAt + WINDOW;
        ReceiptChallenges.Challenge memory c = challengeOf(jobId, 0, 2, pair(0, 1));
        vm.warp(until + 1);
        vm.expectRevert(abi.encodeWithSelector(ReceiptChallenges.ChallengeWindowClosed.selector, jobId, 0, until));
        challenges.challenge(jobId, 0, c);
        // positive control: at the window's last second it still pays
        vm.warp(until);
        challenges.challenge(jobId, 0, c);
    }

    function test_aRoundNotClosedCannotBeChallenged() public {
        uint256 jobId = publishJob(REWARD, 10, 1, 0);
        start(jobId, enrollMany(jobId, 3));
        ReceiptChallenges.Challenge memory c;
        vm.expectRevert(abi.encodeWithSelector(ReceiptChallenges.RoundNotClosed.selector, jobId, 0));
        challenges.challenge(jobId, 0, c);
    }

    function test_aSecondChallengeOfTheSameOmissionIsRefused() public {
        (uint256 jobId,) = closedRound(3, pair(0, 1), 0);
        ReceiptChallenges.Challenge memory c = challengeOf(jobId, 0, 2, pair(0, 1));
        challenges.challenge(jobId, 0, c);
        vm.expectRevert(abi.encodeWithSelector(ReceiptChallenges.AlreadyChallenged.selector, jobId, 0, c.receipt.commitment));
        challenges.challenge(jobId, 0, c);
        vm.assertEq(usd.balanceOf(payee), REWARD / 3, "paid once");
    }

    function test_theCoordinatorCannotCollectForTheContributorItWronged() public {
        (uint256 jobId,) = closedRound(3, pair(0, 1), 0);
        ReceiptChallenges.Challenge memory c = challengeOf(jobId, 0, 2, pair(0, 1));
        // the coordinator holds the receipt it signed, but not the identity: a proof for its own address fails
        c.recipient = coordinator;
        vm.expectRevert(abi.encodeWithSelector(ReceiptChallenges.ChallengeNotAuthorized.selector, jobId, 0, c.receipt.commitment, coordinator));
        vm.prank(coordinator);
        challenges.challenge(jobId, 0, c);
        // nor can it reuse the identity's proof for another round's scope
        c.recipient = payee;
        c.proof = claimantProof(jobId, 1, c.receipt.commitment, payee);
        vm.expectRevert(abi.encodeWithSelector(ReceiptChallenges.ChallengeNotAuthorized.selector, jobId, 0, c.receipt.commitment, payee));
        challenges.challenge(jobId, 0, c);
        // positive control: the identity's own proof for its recipient
        c.proof = claimantProof(jobId, 0, c.receipt.commitment, payee);
        challenges.challenge(jobId, 0, c);
        vm.assertEq(usd.balanceOf(coordinator), 0, "nothing to the coordinator");
        vm.assertEq(usd.balanceOf(payee), REWARD / 3, "to the identity's recipient");
    }

    function test_aForfeitedBondIsPaidBackWithTheShare() public {
        uint96 bond = 40;
        (uint256 jobId,) = closedRound(3, pair(0, 1), bond);
        vm.assertEq(uint256(rewards.enrollmentOf(jobId, rewards.rosterEntries(jobId, 0)[2]).bond), uint256(RoundRewards.BondStatus.Forfeited), "forfeited at close");
        uint256 paid = challenges.challenge(jobId, 0, challengeOf(jobId, 0, 2, pair(0, 1)));
        vm.assertEq(paid, REWARD / 3 + bond, "share and bond");
    }

    function test_thePayoutIsCappedByWhatIsLeftOfTheStake() public {
        // 1 round: stake 45, less than one share of 300
        uint256 jobId = publishJob(REWARD, 1, 1, 0);
        start(jobId, enrollMany(jobId, 3));
        closeWith(jobId, pair(0, 1));
        uint256 paid = challenges.challenge(jobId, 0, challengeOf(jobId, 0, 2, pair(0, 1)));
        vm.assertEq(paid, 45, "all that is left");
        vm.assertEq(registry.getJob(jobId).stake, 0, "stake spent");
    }

    // ---------------------------------------------------------------- the stake stays for the window

    function test_theStakeStaysUntilTheLastClosesWindowHasPassed() public {
        (uint256 jobId,) = closedRound(3, pair(0, 1), 0);
        uint256 until = rewards.rosterOf(jobId, 0).closedAt + WINDOW;
        vm.assertEq(registry.stakeLockedUntil(jobId), until, "locked until the window ends");
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.StakeLocked.selector, jobId, until));
        vm.prank(researcher);
        registry.settle(jobId);
        vm.warp(until + 1);
        uint256 before = usd.balanceOf(researcher);
        vm.prank(researcher);
        registry.settle(jobId);
        vm.assertEq(usd.balanceOf(researcher), before + 9 * REWARD + 450, "escrow and stake back after the window");
        // and a challenge now finds the window closed
        ReceiptChallenges.Challenge memory c = challengeOf(jobId, 0, 2, pair(0, 1));
        vm.expectRevert(abi.encodeWithSelector(ReceiptChallenges.ChallengeWindowClosed.selector, jobId, 0, until));
        challenges.challenge(jobId, 0, c);
    }

    function test_onlyTheChallengeContractSlashesAndItIsBoundOnce() public {
        uint256 jobId = publishJob(REWARD, 10, 1, 0);
        vm.expectRevert(abi.encodeWithSelector(JobRegistry.NotReceiptChallenges.selector, coordinator));
        vm.prank(coordinator);
        registry.slashStake(jobId, coordinator, 1);
        vm.expectRevert(JobRegistry.ReceiptChallengesAlreadySet.selector);
        registry.setReceiptChallenges(address(0xBEEF));
    }

    function test_aWindowLongerThanARoundsTimeoutIsRefused() public {
        vm.expectRevert(abi.encodeWithSelector(ReceiptChallenges.InvalidChallengeWindow.selector, uint256(ROUND_TIMEOUT) + 1));
        new ReceiptChallenges(registry, rewards, ISemaphoreVerifier(address(verifier)), ROUND_TIMEOUT + 1);
    }

    // ---------------------------------------------------------------- fuzz

    /// Any roster, any posted list, any challenger: it wins exactly when the list omits it, and is
    /// paid one more member's share, at most the stake.
    function testFuzz_aChallengeWinsExactlyWhenTheListOmitsTheContributor(uint256 n, uint256 mask, uint256 who) public {
        n = bound(n, 1, 12);
        uint32 position = uint32(bound(who, 0, n - 1));
        mask = bound(mask, 1, (uint256(1) << n) - 1);
        uint256 size;
        for (uint256 i = 0; i < n; ++i) if (mask & (uint256(1) << i) != 0) ++size;
        uint32[] memory included = new uint32[](size);
        uint256 k;
        for (uint256 i = 0; i < n; ++i) if (mask & (uint256(1) << i) != 0) included[k++] = uint32(i);

        (uint256 jobId,) = closedRound(n, included, 0);
        uint256 stake = registry.getJob(jobId).stake;
        ReceiptChallenges.Challenge memory c = challengeOf(jobId, 0, position, included);
        if (mask & (uint256(1) << position) != 0) {
            vm.expectRevert(abi.encodeWithSelector(ReceiptChallenges.ContributorIncluded.selector, jobId, 0, position));
            challenges.challenge(jobId, 0, c);
            vm.assertEq(registry.getJob(jobId).stake, stake, "stake untouched");
        } else {
            uint256 owed = REWARD / (size + 1);
            uint256 paid = challenges.challenge(jobId, 0, c);
            vm.assertEq(paid, owed < stake ? owed : stake, "one more member's share, at most the stake");
            vm.assertEq(registry.getJob(jobId).stake, stake - paid, "from the stake");
        }
    }

    /// Any change to a signed receipt's fields makes it a receipt the coordinator did not sign.
    function testFuzz_anyChangeToASignedReceiptIsRefused(uint256 field, uint256 value) public {
        (uint256 jobId,) = closedRound(3, pair(0, 1), 0);
        ReceiptChallenges.Challenge memory c = challengeOf(jobId, 0, 2, pair(0, 1));
        field = bound(field, 0, 1);
        if (field == 0) {
            vm.assume(bytes32(value) != c.receipt.maskedInputHash);
            c.receipt.maskedInputHash = bytes32(value);
        } else {
            // another enrolled commitment of the roster, omitted too
            vm.assume(value != c.receipt.commitment);
            c.receipt.commitment = value;
        }
        vm.expectRevert();
        challenges.challenge(jobId, 0, c);
        vm.assertEq(usd.balanceOf(payee), 0, "nothing paid");
    }
}
