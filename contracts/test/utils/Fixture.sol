// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ISemaphoreVerifier} from "@semaphore-protocol/contracts/interfaces/ISemaphoreVerifier.sol";
import {Test} from "./Test.sol";
import {TroveToken} from "../../src/TroveToken.sol";
import {JobRegistry} from "../../src/JobRegistry.sol";
import {RoundRewards} from "../../src/RoundRewards.sol";
import {MockSemaphoreVerifier} from "../mocks/MockSemaphoreVerifier.sol";
import {TestToken} from "../mocks/TestToken.sol";

/// @dev The deployed system with a stand-in verifier, and helpers to publish jobs and make claims.
abstract contract Fixture is Test {
    uint8 internal constant DEPTH = 20;
    uint16 internal constant STAKE_BPS = 500;
    /// @dev The protocol fee and job cap of an emitting deployment (deploySystem(true)).
    uint16 internal constant FEE_BPS = 200;
    uint16 internal constant JOB_EPOCH_CAP_BPS = 1_000;
    /// @dev 1 TROVE per test dollar of fee, when the test dollar is allowlisted.
    uint256 internal constant USD_RATE = 1e18;
    uint256 internal constant EPOCH = 1 days;
    uint256 internal constant EPOCH_EMISSION = 1_000e18;
    uint256 internal constant HALVING = 4;
    uint256 internal constant CAP = 10_000e18;
    uint32 internal constant MIN_ROUND = 10 minutes;
    uint32 internal constant ROUND_TIMEOUT = 2 days;
    /// @dev Short, so the invariant runs see claim windows end.
    uint32 internal constant CLAIM_WINDOW = 3 days;

    address internal researcher = address(0xA11CE);
    address internal coordinator = address(0xC00D);
    address internal relayer = address(0x7E1A);

    TroveToken internal trove;
    JobRegistry internal registry;
    RoundRewards internal rewards;
    MockSemaphoreVerifier internal verifier;
    TestToken internal usd;

    /// @dev Without a protocol fee, so shares are whole numbers and no emissions flow.
    function deploySystem() internal {
        deploySystem(false);
    }

    /// @dev `emitting`: a 2% protocol fee, and the test dollar's fees earn TROVE at USD_RATE.
    function deploySystem(bool emitting) internal {
        vm.warp(1_700_000_000);
        usd = new TestToken("Test Dollar", "TUSD");
        registry = new JobRegistry(STAKE_BPS);
        verifier = new MockSemaphoreVerifier();
        // The token names its minter at construction: the rewards contract, deployed right after it.
        trove = new TroveToken(CAP, EPOCH, EPOCH_EMISSION, HALVING, vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1));
        rewards = new RoundRewards(registry, trove, ISemaphoreVerifier(address(verifier)), DEPTH, rules(emitting), MIN_ROUND, ROUND_TIMEOUT, CLAIM_WINDOW);
        vm.assertEq(trove.minter(), address(rewards), "minter predicted");
        registry.setRoundRewards(address(rewards));
    }

    function rules(bool emitting) internal view returns (RoundRewards.EmissionRules memory r) {
        if (!emitting) return r;
        r.feeBps = FEE_BPS;
        r.jobEpochCapBps = JOB_EPOCH_CAP_BPS;
        r.feeTokens = new IERC20[](2);
        r.trovePerToken = new uint256[](2);
        (r.feeTokens[0], r.trovePerToken[0]) = (IERC20(address(usd)), USD_RATE);
        (r.feeTokens[1], r.trovePerToken[1]) = (IERC20(address(trove)), 1e18);
    }

    function params(IERC20 token, uint128 perRound, uint32 rounds, uint32 minContributors, uint96 bond)
        internal
        view
        returns (JobRegistry.JobParams memory)
    {
        return JobRegistry.JobParams({
            specHash: keccak256("spec"),
            specURI: "ipfs://spec",
            coordinator: coordinator,
            rewardToken: token,
            rewardPerRound: perRound,
            rounds: rounds,
            minContributors: minContributors,
            deadline: uint64(block.timestamp + 30 days),
            bondAmount: bond
        });
    }

    /// @dev Publishes a job paid in the test dollar, funding the researcher first.
    function publishJob(uint128 perRound, uint32 rounds, uint32 minContributors, uint96 bond) internal returns (uint256 jobId) {
        uint256 total = uint256(perRound) * rounds;
        total += (total * STAKE_BPS) / 10_000;
        usd.mint(researcher, total);
        vm.startPrank(researcher);
        usd.approve(address(registry), total);
        jobId = registry.publish(params(usd, perRound, rounds, minContributors, bond));
        vm.stopPrank();
    }

    /// @dev Fresh commitments and roster keys: each enrollment gets new ones.
    uint256 internal nextCommitment = 1000;

    /// @dev Whoever pays the bond of the entry enrolled with `commitment` (a relayer-like account).
    function payerOf(uint256 commitment) internal pure returns (address) {
        return address(uint160(0xB000000 + commitment));
    }

    /// @dev Enrolls `commitment` with a roster key derived from it, funding the bond when required.
    function enrollAs(uint256 jobId, address payer, uint256 commitment) internal returns (uint32 index) {
        uint256 amount = registry.getJob(jobId).bondAmount;
        if (amount != 0) {
            usd.mint(payer, amount);
            vm.prank(payer);
            usd.approve(address(rewards), amount);
        }
        bytes32 key = keccak256(abi.encode("roster key", commitment));
        RoundRewards.EnrollmentProof memory proof = enrollmentProof(jobId, commitment, key, amount != 0 ? payer : address(0));
        vm.prank(payer);
        index = uint32(rewards.enroll(jobId, commitment, key, proof));
    }

    /// @dev The identity's authorization the stand-in verifier accepts for exactly this commitment
    /// (the root of its group of one), roster key, bond owner and job. Built without calls, so a
    /// vm.prank or vm.expectRevert before it still applies to the enrollment itself.
    function enrollmentProof(uint256 jobId, uint256 commitment, bytes32 rosterKey, address bondOwner)
        internal
        view
        returns (RoundRewards.EnrollmentProof memory p)
    {
        p.nullifier = uint256(keccak256(abi.encode("enrollment nullifier", jobId, commitment)));
        uint256 scope = uint256(keccak256(abi.encode(block.chainid, address(registry), jobId, keccak256("trove-enroll"))));
        uint256[4] memory signals = [commitment, p.nullifier, fieldHash(uint256(keccak256(abi.encode(rosterKey, bondOwner)))), fieldHash(scope)];
        // what MockSemaphoreVerifier.commitment gives, at the enrollment depth of 1
        p.points[0] = uint256(keccak256(abi.encode(signals, uint256(1))));
    }

    /// @dev Enrolls without a bond, as a relayer would submit it.
    function enrollFree(RoundRewards on, uint256 jobId, uint256 commitment, bytes32 rosterKey) internal returns (uint256) {
        return on.enroll(jobId, commitment, rosterKey, enrollmentProof(jobId, commitment, rosterKey, address(0)));
    }

    /// @dev Enrolls `n` new contributors and returns their enrollment indices.
    function enrollMany(uint256 jobId, uint256 n) internal returns (uint32[] memory entries) {
        entries = new uint32[](n);
        for (uint256 i = 0; i < n; ++i) {
            uint256 c = nextCommitment++;
            entries[i] = enrollAs(jobId, payerOf(c), c);
        }
    }

    function start(uint256 jobId, uint32[] memory entries) internal returns (uint256 round) {
        vm.prank(coordinator);
        (round,) = rewards.startRound(jobId, entries);
    }

    /// @dev Roster positions 0..n-1.
    function positions(uint256 n) internal pure returns (uint32[] memory p) {
        p = new uint32[](n);
        for (uint256 i = 0; i < n; ++i) p[i] = uint32(i);
    }

    /// @dev Moves time on to when the job's started round may close.
    function readyToClose(uint256 jobId) internal {
        RoundRewards.Roster memory r = rewards.rosterOf(jobId, registry.getJob(jobId).roundsClosed);
        if (block.timestamp < r.startedAt + MIN_ROUND) vm.warp(r.startedAt + MIN_ROUND);
    }

    /// @dev Closes once the round has run its minimum duration.
    function closeWith(uint256 jobId, uint32[] memory included) internal returns (uint256 round) {
        readyToClose(jobId);
        vm.prank(coordinator);
        round = rewards.closeRound(jobId, included);
    }

    /// @dev Runs a whole round: new contributors enroll and are frozen into the roster (at least the
    /// job's minimum of them), and the first `size` of them are included.
    function close(uint256 jobId, uint32 size) internal returns (uint256 round) {
        uint256 minimum = registry.getJob(jobId).minContributors;
        start(jobId, enrollMany(jobId, size > minimum ? size : minimum));
        round = closeWith(jobId, positions(size));
    }

    function rootOf(uint256 jobId, uint256 round) internal view returns (uint256) {
        return rewards.getRound(jobId, round).root;
    }

    /// @dev A claim on a closed round, against the root the contract computed.
    function claimOn(uint256 jobId, uint256 round, uint256 nullifier, address recipient) internal view returns (TestClaim memory) {
        return claimFor(jobId, round, rootOf(jobId, round), nullifier, recipient);
    }

    /// @dev A claim on a closed round that pays `fee` of the share to `relayer_`.
    function claimOn(uint256 jobId, uint256 round, uint256 nullifier, address recipient, address relayer_, uint256 fee)
        internal
        view
        returns (TestClaim memory)
    {
        return claimFor(jobId, round, rootOf(jobId, round), nullifier, recipient, relayer_, fee);
    }

    function fieldHash(uint256 value) internal pure returns (uint256) {
        return uint256(keccak256(abi.encodePacked(value))) >> 8;
    }

    /// @dev A claim on (jobId, round) as a test holds it before submitting.
    struct TestClaim {
        uint256 jobId;
        uint256 round;
        RoundRewards.RoundClaim claim;
    }

    /// @dev A claim the stand-in verifier accepts for exactly this root, nullifier, recipient and scope.
    function claimFor(uint256 jobId, uint256 round, uint256 root, uint256 nullifier, address recipient)
        internal
        view
        returns (TestClaim memory t)
    {
        return claimFor(jobId, round, root, nullifier, recipient, address(0), 0);
    }

    /// @dev A claim whose proof also binds a relayer and its fee.
    function claimFor(uint256 jobId, uint256 round, uint256 root, uint256 nullifier, address recipient, address relayer_, uint256 fee)
        internal
        view
        returns (TestClaim memory t)
    {
        t.jobId = jobId;
        t.round = round;
        t.claim.recipient = recipient;
        t.claim.relayer = relayer_;
        t.claim.fee = fee;
        t.claim.nullifier = nullifier;
        t.claim.points[0] = verifier.commitment(
            [root, nullifier, fieldHash(messageOf(recipient, relayer_, fee)), fieldHash(rewards.scopeOf(jobId, round))], DEPTH
        );
    }

    /// @dev The Semaphore message a claim proof signs.
    function messageOf(address recipient, address relayer_, uint256 fee) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(recipient, relayer_, fee)));
    }

    function one(RoundRewards.RoundClaim memory c) internal pure returns (RoundRewards.RoundClaim[] memory batch) {
        batch = new RoundRewards.RoundClaim[](1);
        batch[0] = c;
    }

    /// @dev Submits one claim as a transaction of its own.
    function submit(TestClaim memory t) internal {
        rewards.claim(t.jobId, t.round, one(t.claim));
    }
}
