// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Fixture} from "./utils/Fixture.sol";
import {Vm} from "./utils/Test.sol";
import {IJobRegistry} from "../src/IJobRegistry.sol";
import {JobRegistry} from "../src/JobRegistry.sol";
import {RoundRewards} from "../src/RoundRewards.sol";
import {ReceiptChallenges} from "../src/ReceiptChallenges.sol";
import {ISemaphoreVerifier} from "@semaphore-protocol/contracts/interfaces/ISemaphoreVerifier.sol";
import {TroveToken} from "../src/TroveToken.sol";
import {MockSemaphoreVerifier} from "./mocks/MockSemaphoreVerifier.sol";
import {TestToken} from "./mocks/TestToken.sol";

/// @dev Drives the system the way researchers, coordinators, contributors and relayers would,
/// in random order, and keeps ghost totals of every token that entered and left.
contract Handler {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    uint8 internal constant DEPTH = 20;

    TroveToken public immutable trove;
    JobRegistry public immutable registry;
    RoundRewards public immutable rewards;
    MockSemaphoreVerifier public immutable verifier;
    TestToken public immutable usd;
    address public immutable researcher;
    address public immutable coordinator;

    address[] public actors;
    uint256[] public jobs;
    uint256 internal _nextCommitment = 1;

    uint256 public usdIn;
    uint256 public usdOut;
    uint256 public troveOut;
    uint256 public claimsPaid;
    uint256 public roundsClosed;
    uint256 public roundsStarted;
    uint256 public roundsExpired;
    uint256 public roundsSwept;
    uint256 public enrollments;
    uint256 public bondsReclaimed;
    uint256 public nullifiersPaidTwice;
    mapping(uint256 nullifier => uint256) public paysPerNullifier;
    /// Receipt challenges: omissions found open to challenge, challenges paid, and challenges that
    /// paid for a contributor the posted list included (must stay zero).
    uint256 public challengesFound;
    uint256 public challengesPaid;
    uint256 public wrongfulChallenges;

    ReceiptChallenges public challenges;
    uint256 internal _coordinatorKey;
    mapping(uint256 jobId => mapping(uint256 round => uint32[])) internal _included;
    mapping(uint256 jobId => mapping(uint256 round => mapping(uint256 position => bool))) internal _challenged;

    constructor(Fixture fixture_, TroveToken trove_, JobRegistry registry_, RoundRewards rewards_, MockSemaphoreVerifier verifier_, TestToken usd_, address researcher_, address coordinator_) {
        fixture_;
        trove = trove_;
        registry = registry_;
        rewards = rewards_;
        verifier = verifier_;
        usd = usd_;
        researcher = researcher_;
        coordinator = coordinator_;
        actors.push(address(0xA1));
        actors.push(address(0xB2));
        actors.push(address(0xC3));
        actors.push(researcher_);
    }

    /// The coordinator's key signs masked-input receipts; the challenge contract pays from stakes.
    function bindChallenges(ReceiptChallenges challenges_, uint256 coordinatorKey) external {
        require(address(challenges) == address(0), "bound once"); // the fuzzer calls it too
        challenges = challenges_;
        _coordinatorKey = coordinatorKey;
    }

    function jobCount() external view returns (uint256) {
        return jobs.length;
    }

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function publish(uint128 perRound, uint8 rounds, uint8 minimum, uint96 bond) external {
        perRound = uint128(_bound(perRound, 1, 1e24));
        rounds = uint8(_bound(rounds, 1, 5));
        minimum = uint8(_bound(minimum, 1, 4));
        bond = uint96(_bound(bond, 0, 1e20));
        if (bond % 2 == 0) bond = 0;
        uint256 escrow = uint256(perRound) * rounds;
        uint256 total = escrow + (escrow * registry.stakeBps()) / 10_000;
        usd.mint(researcher, total);
        vm.startPrank(researcher);
        usd.approve(address(registry), total);
        uint256 jobId = registry.publish(
            JobRegistry.JobParams({
                specHash: keccak256(abi.encode(jobs.length)),
                specURI: "ipfs://spec",
                coordinator: coordinator,
                rewardToken: usd,
                rewardPerRound: perRound,
                rounds: rounds,
                minContributors: minimum,
                deadline: uint64(block.timestamp + 20 days),
                bondAmount: bond
            })
        );
        vm.stopPrank();
        jobs.push(jobId);
        usdIn += total;
    }

    /// A contributor (or a relayer for one) enrolls a fresh commitment, paying the bond if asked.
    function enroll(uint256 jobSeed, uint256 actorSeed) external {
        if (jobs.length == 0) return;
        uint256 jobId = jobs[jobSeed % jobs.length];
        IJobRegistry.Job memory job = registry.getJob(jobId);
        address actor = actors[actorSeed % actors.length];
        uint256 commitment = _nextCommitment++;
        usd.mint(actor, job.bondAmount);
        vm.startPrank(actor);
        usd.approve(address(rewards), job.bondAmount);
        // the identity authorizes its enrollment and names the actor as its bond's owner
        address bondOwner = job.bondAmount != 0 ? actor : address(0);
        RoundRewards.EnrollmentProof memory proof;
        proof.nullifier = commitment ^ jobId;
        proof.points[0] = verifier.commitment(
            [commitment, proof.nullifier, _fieldHash(uint256(keccak256(abi.encode(bytes32(commitment), bondOwner)))), _fieldHash(rewards.enrollmentScopeOf(jobId))],
            rewards.ENROLLMENT_DEPTH()
        );
        try rewards.enroll(jobId, commitment, bytes32(commitment), proof) {
            ++enrollments;
            usdIn += job.bondAmount;
        } catch {
            usd.transfer(address(0xdead00), job.bondAmount); // keep minted-but-unused tokens out of the books
        }
        vm.stopPrank();
    }

    /// The coordinator freezes a roster from a random subset of the enrolled entries.
    /// The coordinator's usual path: start a round and close it.
    function runRound(uint256 jobSeed, uint256 pickMask, uint256 includeMask) external {
        this.startRound(jobSeed, pickMask);
        this.closeRound(jobSeed, includeMask);
    }

    function startRound(uint256 jobSeed, uint256 pickMask) public {
        if (jobs.length == 0) return;
        uint256 jobId = _jobWhere(jobSeed, _canStart);
        uint256 count = rewards.enrollmentCount(jobId);
        if (count > 64) count = 64;
        uint32[] memory picked = new uint32[](count);
        uint256 n;
        for (uint256 i = 0; i < count; ++i) {
            // Most rosters take everyone enrolled; the rest a random subset (often too small).
            if (pickMask & 3 != 0 || (pickMask >> (i + 2)) & 1 == 1) picked[n++] = uint32(i);
        }
        assembly ("memory-safe") {
            mstore(picked, n)
        }
        vm.prank(coordinator);
        try rewards.startRound(jobId, picked) {
            ++roundsStarted;
        } catch {}
    }

    /// The coordinator closes the started round with a random subset of its roster.
    function closeRound(uint256 jobSeed, uint256 includeMask) public {
        if (jobs.length == 0) return;
        uint256 jobId = _jobWhere(jobSeed, _inProgress);
        uint256 round = registry.getJob(jobId).roundsClosed;
        uint256 size = rewards.rosterOf(jobId, round).size;
        uint32[] memory included = new uint32[](size);
        uint256 n;
        for (uint256 i = 0; i < size; ++i) {
            // Most closes include everyone; the rest drop a random part of the roster.
            if (includeMask & 3 != 0 || (includeMask >> (i + 2)) & 1 == 1 || i == 0) included[n++] = uint32(i);
        }
        assembly ("memory-safe") {
            mstore(included, n)
        }
        uint256 closesFrom = rewards.rosterOf(jobId, round).startedAt + rewards.minRoundSeconds();
        if (size != 0 && block.timestamp < closesFrom) vm.warp(closesFrom);
        vm.prank(coordinator);
        try rewards.closeRound(jobId, included) {
            ++roundsClosed;
            _included[jobId][round] = included;
        } catch {}
    }

    /// A contributor the coordinator acknowledged but a close left out challenges it while it can;
    /// sometimes an included one tries (it must be refused).
    function challenge(uint256 jobSeed, uint256 positionSeed, uint256 actorSeed) external {
        if (jobs.length == 0) return;
        for (uint256 j = 0; j < jobs.length; ++j) {
            uint256 jobId = jobs[(jobSeed + j) % jobs.length];
            uint256 closed = registry.getJob(jobId).roundsClosed;
            for (uint256 round = 0; round < closed; ++round) {
                RoundRewards.Roster memory roster = rewards.rosterOf(jobId, round);
                if (block.timestamp > roster.closedAt + challenges.challengeWindowSeconds()) continue;
                uint256 position = positionSeed % roster.size;
                bool omitted = !_isIncluded(jobId, round, position);
                if (omitted && _challenged[jobId][round][position]) continue;
                ReceiptChallenges.Challenge memory c = _challengeOf(jobId, round, position, actors[actorSeed % actors.length]);
                uint256 before = usd.balanceOf(c.recipient);
                if (omitted) ++challengesFound;
                try challenges.challenge(jobId, round, c) returns (uint256 paid) {
                    if (!omitted || usd.balanceOf(c.recipient) != before + paid) ++wrongfulChallenges;
                    _challenged[jobId][round][position] = true;
                    ++challengesPaid;
                    usdOut += paid;
                } catch {}
                return;
            }
        }
    }

    function _isIncluded(uint256 jobId, uint256 round, uint256 position) internal view returns (bool) {
        uint32[] storage included = _included[jobId][round];
        for (uint256 i = 0; i < included.length; ++i) if (included[i] == position) return true;
        return false;
    }

    function _challengeOf(uint256 jobId, uint256 round, uint256 position, address recipient) internal view returns (ReceiptChallenges.Challenge memory c) {
        uint256 commitment = rewards.enrollmentOf(jobId, rewards.rosterEntries(jobId, round)[position]).commitment;
        c.receipt = ReceiptChallenges.MaskedInputReceipt(jobId, round, rewards.rosterOf(jobId, round).hash, commitment, keccak256(abi.encode(commitment)));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(_coordinatorKey, challenges.receiptDigest(c.receipt));
        c.signature = abi.encodePacked(r, s, v);
        c.position = uint32(position);
        c.included = _included[jobId][round];
        c.recipient = recipient;
        c.proof.points[0] = verifier.commitment(
            [commitment, 0, _fieldHash(uint256(keccak256(abi.encode(recipient)))), _fieldHash(challenges.challengeScopeOf(jobId, round))], 1
        );
    }

    /// Nullifiers come from a small space so replays are tried often.
    function claim(uint256 jobSeed, uint8 roundSeed, uint8 nullifierSeed, uint256 actorSeed) external {
        if (jobs.length == 0) return;
        uint256 jobId = _jobWhere(jobSeed, _hasClosedRound);
        uint256 round = _roundToClaim(jobId, roundSeed);
        RoundRewards.Round memory r = rewards.getRound(jobId, round);
        RoundRewards.RoundClaim[] memory batch = new RoundRewards.RoundClaim[](1);
        RoundRewards.RoundClaim memory c = batch[0];
        c.recipient = actors[actorSeed % actors.length];
        c.nullifier = uint256(nullifierSeed % 24) + 1;
        c.points[0] = verifier.commitment(
            [r.root, c.nullifier, _fieldHash(_message(c)), _fieldHash(rewards.scopeOf(jobId, round))], DEPTH
        );
        try rewards.claim(jobId, round, batch) {
            ++claimsPaid;
            if (++paysPerNullifier[c.nullifier] > 1) ++nullifiersPaidTwice;
        } catch {}
    }

    /// A relayer's batch of up to three claims on one round; nullifiers may repeat inside it.
    function claimBatch(uint256 jobSeed, uint8 roundSeed, uint8 count, uint256 seed) external {
        if (jobs.length == 0) return;
        uint256 jobId = _jobWhere(jobSeed, _hasClosedRound);
        uint256 round = _roundToClaim(jobId, roundSeed);
        uint256 root = rewards.getRound(jobId, round).root;
        uint256 scopeHash = _fieldHash(rewards.scopeOf(jobId, round));
        RoundRewards.RoundClaim[] memory batch = new RoundRewards.RoundClaim[](_bound(count, 1, 3));
        for (uint256 i = 0; i < batch.length; ++i) {
            RoundRewards.RoundClaim memory c = batch[i];
            c.recipient = actors[uint256(keccak256(abi.encode(seed, i))) % actors.length];
            c.nullifier = (uint256(keccak256(abi.encode(seed, i, "n"))) % 24) + 1;
            // Some claims pay a relayer (another actor, so credits still add up to one share each).
            c.fee = (seed >> (8 * i)) % 4;
            if (c.fee != 0) c.relayer = actors[(seed >> 64) % actors.length];
            c.points[0] = verifier.commitment([root, c.nullifier, _fieldHash(_message(c)), scopeHash], DEPTH);
        }
        bool[] memory usedBefore = new bool[](batch.length);
        for (uint256 i = 0; i < batch.length; ++i) usedBefore[i] = rewards.isNullifierUsed(batch[i].nullifier);
        uint256 creditedBefore = _creditedUsd();
        try rewards.claim(jobId, round, batch) {
            // Invalid and repeated claims are skipped: count each nullifier this batch spent, once,
            // and check the credits grew by exactly one share per spent nullifier.
            uint256 spent;
            for (uint256 i = 0; i < batch.length; ++i) {
                uint256 n = batch[i].nullifier;
                bool firstInBatch = true;
                for (uint256 j = 0; j < i; ++j) if (batch[j].nullifier == n) firstInBatch = false;
                if (!usedBefore[i] && firstInBatch && rewards.isNullifierUsed(n)) {
                    ++spent;
                    ++claimsPaid;
                    if (++paysPerNullifier[n] > 1) ++nullifiersPaidTwice;
                }
            }
            if (_creditedUsd() - creditedBefore != spent * rewards.getRound(jobId, round).perMember) ++nullifiersPaidTwice;
        } catch {}
    }

    function _message(RoundRewards.RoundClaim memory c) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(c.recipient, c.relayer, c.fee)));
    }

    function _creditedUsd() internal view returns (uint256 total) {
        for (uint256 a = 0; a < actors.length; ++a) total += rewards.creditOf(actors[a], usd);
    }

    function withdraw(uint256 actorSeed, bool inTrove) external {
        address actor = actors[actorSeed % actors.length];
        IERC20 token = inTrove ? IERC20(address(trove)) : IERC20(address(usd));
        vm.prank(actor);
        try rewards.withdraw(token) returns (uint256 amount, uint256 topUp) {
            if (inTrove) troveOut += amount + topUp;
            else (usdOut, troveOut) = (usdOut + amount, troveOut + topUp);
        } catch {}
    }

    /// Researchers settle now and then (a quarter of the calls); the first job runs all its rounds first.
    function settle(uint256 jobSeed) external {
        if (jobs.length == 0 || (jobSeed >> 128) % 4 != 0) return;
        uint256 jobId = jobs[jobSeed % jobs.length];
        IJobRegistry.Job memory job = registry.getJob(jobId);
        if (jobId == jobs[0] && job.roundsClosed < job.rounds) return;
        uint256 stake = registry.getJob(jobId).stake;
        vm.prank(researcher);
        try registry.settle(jobId) returns (uint256 refund) {
            usdOut += refund + stake;
        } catch {}
    }

    function reclaimBond(uint256 jobSeed, uint256 index) external {
        if (jobs.length == 0) return;
        uint256 jobId = jobs[jobSeed % jobs.length];
        uint256 count = rewards.enrollmentCount(jobId);
        if (count == 0) return;
        uint256 i = index % count;
        vm.prank(rewards.enrollmentOf(jobId, i).bondOwner);
        try rewards.reclaimBond(jobId, i) {
            ++bondsReclaimed;
        } catch {}
    }

    /// Anyone expires a round its coordinator left open: the escrow goes back, the stake to the bonded.
    function expireRound(uint256 jobSeed) external {
        if (jobs.length == 0) return;
        uint256 jobId = jobs[jobSeed % jobs.length];
        uint256 refund = registry.getJob(jobId).escrow;
        try rewards.expireRound(jobId) {
            usdOut += refund;
            ++roundsExpired;
        } catch {}
    }

    /// Claim windows (3 days in the fixture) run out as time advances; unclaimed shares are swept.
    function sweepUnclaimed(uint256 jobSeed, uint8 roundSeed) external {
        if (jobs.length == 0) return;
        uint256 jobId = _jobWhere(jobSeed, _hasClosedRound);
        uint256 round = _roundToClaim(jobId, roundSeed);
        try rewards.sweepUnclaimed(jobId, round) {
            ++roundsSwept;
        } catch {}
    }

    function advanceTime(uint32 secondsAhead) external {
        vm.warp(block.timestamp + _bound(secondsAhead, 1, 18 hours));
    }

    /// @dev The first job from a random place on that fits (or the random one when none does), so
    /// the handlers mostly act where they can, and sometimes where they cannot.
    function _jobWhere(uint256 seed, function(uint256) view returns (bool) fits) internal view returns (uint256) {
        uint256 n = jobs.length;
        if (seed % 8 == 0) return jobs[(seed >> 8) % n];
        for (uint256 i = 0; i < n; ++i) {
            uint256 jobId = jobs[(seed % n + i) % n];
            if (fits(jobId)) return jobId;
        }
        return jobs[seed % n];
    }

    function _canStart(uint256 jobId) internal view returns (bool) {
        IJobRegistry.Job memory job = registry.getJob(jobId);
        return job.status == IJobRegistry.JobStatus.Active && job.roundsClosed < job.rounds && rewards.enrollmentCount(jobId) >= job.minContributors
            && block.timestamp <= job.deadline;
    }

    function _inProgress(uint256 jobId) internal view returns (bool) {
        return rewards.roundInProgress(jobId) && block.timestamp <= registry.getJob(jobId).deadline;
    }

    function _hasClosedRound(uint256 jobId) internal view returns (bool) {
        uint256 closed = registry.getJob(jobId).roundsClosed;
        for (uint256 r = 0; r < closed; ++r) {
            RoundRewards.Round memory round = rewards.getRound(jobId, r);
            if (round.paid && round.claimed < round.size) return true;
        }
        return false;
    }

    /// @dev Mostly a paid round with shares left; sometimes any round, closed or not.
    function _roundToClaim(uint256 jobId, uint256 seed) internal view returns (uint256) {
        uint256 closed = registry.getJob(jobId).roundsClosed;
        if (closed == 0 || seed % 8 == 0) return seed % (closed + 1);
        for (uint256 i = 0; i < closed; ++i) {
            uint256 r = (seed % closed + i) % closed;
            RoundRewards.Round memory round = rewards.getRound(jobId, r);
            if (round.paid && round.claimed < round.size) return r;
        }
        return seed % closed;
    }

    function _bound(uint256 x, uint256 lo, uint256 hi) internal pure returns (uint256) {
        return lo + (x % (hi - lo + 1));
    }

    function _fieldHash(uint256 value) internal pure returns (uint256) {
        return uint256(keccak256(abi.encodePacked(value))) >> 8;
    }
}

contract InvariantsTest is Fixture {
    Handler public handler;

    uint256 internal constant COORDINATOR_KEY = 0xC0FFEE;

    function setUp() public {
        deploySystem(true);
        coordinator = vm.addr(COORDINATOR_KEY);
        ReceiptChallenges challenges = new ReceiptChallenges(registry, rewards, ISemaphoreVerifier(address(verifier)), 1 days);
        registry.setReceiptChallenges(address(challenges));
        handler = new Handler(this, trove, registry, rewards, verifier, usd, researcher, coordinator);
        handler.bindChallenges(challenges, COORDINATOR_KEY);
        targetContract(address(handler));
        // Every run starts with one job and two contributors, so rounds can start early.
        handler.publish(1000, 4, 0, 1); // 5 rounds, minimum 1, bond 1

        handler.enroll(0, 0);
        handler.enroll(0, 1);
    }

    /// Every token that entered the system is either still held by it or was paid out: registry +
    /// rewards + bonds together hold exactly deposits minus payouts.
    function invariant_tokensAreConserved() public view {
        vm.assertEq(
            usd.balanceOf(address(registry)) + usd.balanceOf(address(rewards)),
            handler.usdIn() - handler.usdOut(),
            "usd in - out"
        );
        vm.assertEq(trove.balanceOf(address(rewards)) + handler.troveOut(), trove.totalSupply(), "trove minted = held + paid");
    }

    /// The registry holds exactly the escrow and stake of its active jobs: escrow never goes
    /// negative, and nothing is paid from one job's escrow for another.
    function invariant_registryHoldsExactlyActiveEscrow() public view {
        uint256 owed;
        for (uint256 i = 0; i < handler.jobCount(); ++i) {
            IJobRegistry.Job memory job = registry.getJob(handler.jobs(i));
            if (job.status == IJobRegistry.JobStatus.Active) {
                owed += uint256(job.escrow) + job.stake;
                uint256 paid;
                for (uint256 round = 0; round < job.roundsClosed; ++round) {
                    if (rewards.getRound(handler.jobs(i), round).paid) ++paid;
                }
                vm.assertEq(job.escrow, uint256(job.rewardPerRound) * (job.rounds - paid), "escrow = unpaid rounds");
            } else {
                vm.assertEq(job.escrow + job.stake, 0, "settled jobs hold nothing");
            }
        }
        vm.assertEq(usd.balanceOf(address(registry)), owed, "registry balance");
    }

    /// The rewards contract can always pay every credit, every unclaimed share and every pending bond.
    function invariant_rewardsCanPayEverything() public view {
        uint256 owedUsd;
        uint256 owedTrove = rewards.emissionPool();
        for (uint256 a = 0; a < handler.actorCount(); ++a) {
            owedUsd += rewards.creditOf(handler.actors(a), IERC20(address(usd)));
            owedTrove += rewards.creditOf(handler.actors(a), IERC20(address(trove)));
            owedTrove += rewards.topUpOf(handler.actors(a), IERC20(address(trove)));
            owedTrove += rewards.topUpOf(handler.actors(a), IERC20(address(usd)));
        }
        for (uint256 i = 0; i < handler.jobCount(); ++i) {
            uint256 jobId = handler.jobs(i);
            IJobRegistry.Job memory job = registry.getJob(jobId);
            for (uint256 round = 0; round < job.roundsClosed; ++round) {
                RoundRewards.Round memory r = rewards.getRound(jobId, round);
                vm.assertLe(r.claimed, r.size, "never more claims than members");
                if (r.paid) {
                    owedUsd += uint256(r.perMember) * (r.size - r.claimed);
                    owedTrove += uint256(r.topUpPerMember) * (r.size - r.claimed);
                }
            }
            for (uint256 e = 0; e < rewards.enrollmentCount(jobId); ++e) {
                if (rewards.enrollmentOf(jobId, e).bond == RoundRewards.BondStatus.Posted) owedUsd += job.bondAmount;
            }
        }
        owedUsd += rewards.creditOf(rewards.BURN_ADDRESS(), IERC20(address(usd)));
        vm.assertEq(usd.balanceOf(address(rewards)), owedUsd, "usd owed");
        vm.assertEq(trove.balanceOf(address(rewards)), owedTrove, "trove owed");
    }

    /// The run did something: an always-reverting handler would leave these at zero.
    function afterInvariant() public view {
        vm.assertGt(handler.enrollments(), 0, "contributors enrolled");
        vm.assertGt(handler.roundsStarted(), 0, "rounds started");
        vm.assertGt(handler.roundsClosed(), 0, "rounds closed");
        vm.assertGt(handler.claimsPaid(), 0, "claims paid");
        // every omission found open to challenge, with the coordinator's receipt, was paid
        vm.assertEq(handler.challengesPaid(), handler.challengesFound(), "omissions challenged and paid");
    }

    /// Positive control for the challenge handler: a close that leaves out all but position 0 is
    /// challenged and paid; position 0, included, is refused and not counted.
    function test_theChallengeHandlerIsPaidForAnOmission() public {
        handler.enroll(0, 2);
        handler.runRound(0, 1, 0); // everyone on the roster, only position 0 included
        handler.challenge(0, 0, 1); // position 0: included
        vm.assertEq(handler.challengesPaid(), 0, "an included contributor is refused");
        handler.challenge(0, 1, 1); // position 1: left out
        vm.assertEq(handler.challengesFound(), 1, "found");
        vm.assertEq(handler.challengesPaid(), 1, "paid");
        vm.assertEq(handler.wrongfulChallenges(), 0, "rightful");
        invariant_tokensAreConserved();
        invariant_registryHoldsExactlyActiveEscrow();
    }

    /// A challenge pays only a contributor the posted list left out, and only what the stake paid.
    function invariant_onlyOmittedContributorsWinChallenges() public view {
        vm.assertEq(handler.wrongfulChallenges(), 0, "wrongful challenge");
    }

    /// No nullifier is ever paid twice.
    function invariant_noNullifierPaysTwice() public view {
        vm.assertEq(handler.nullifiersPaidTwice(), 0, "double pay");
    }
}
