// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ISemaphoreVerifier} from "@semaphore-protocol/contracts/interfaces/ISemaphoreVerifier.sol";
import {PoseidonT3} from "poseidon-solidity/PoseidonT3.sol";
import {IJobRegistry} from "./IJobRegistry.sol";
import {ISemaphoreBatchVerifier} from "./ISemaphoreBatchVerifier.sol";
import {TroveToken} from "./TroveToken.sol";

/// @title RoundRewards
/// @notice Closes rounds and pays their contributors anonymously.
///
/// Contributors enroll on-chain (commitment + secure-aggregation signing key, through any relayer),
/// each enrollment authorized by the identity itself with a Semaphore proof over its group of one.
/// The job's coordinator starts a round by freezing its roster from enrolled entries, so every
/// client checks the same roster and the coordinator cannot invent members later. It closes the
/// round by naming which roster positions were included; the contract computes the Semaphore
/// group (LeanIMT root) of exactly those commitments. Each member then claims an equal share with a
/// Semaphore v4 proof: scope bound to (chain, this contract, job, round), message = hash of (recipient,
/// relayer, relayer fee).
/// Proofs are checked with the official SemaphoreVerifier's view function and this contract keeps
/// its own nullifier set, so a proof copied from the mempool can neither be redirected nor burnt.
/// Anyone may submit claims (a relayer pays the gas, possibly many claims in one transaction);
/// claims credit balances that are withdrawn once, for any number of rounds.
///
/// Optional contributor bonds are pulled at enrollment. A bonded entry frozen into a round's roster
/// and left out of its group forfeits its bond to that round's paid members (burned when the round
/// pays nothing); otherwise the payer takes it back once the job has ended.
contract RoundRewards is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    enum BondStatus {
        None,
        Posted,
        Forfeited,
        Reclaimed
    }

    /// @notice One enrolled contributor of a job: its per-job Semaphore identity commitment, its
    /// 32-byte Ed25519 secure-aggregation signing key, and its bond when the job asks for one.
    struct Enrollment {
        uint256 commitment;
        bytes32 rosterKey;
        address bondOwner;
        BondStatus bond;
    }

    /// @notice A round's frozen roster: keccak256 of its roster keys in roster order, and its size.
    /// Once closed, when, and keccak256 of the included positions as posted (abi.encodePacked), so a
    /// receipt challenge (ReceiptChallenges) checks omission against exactly the posted list.
    struct Roster {
        bytes32 hash;
        uint32 size;
        uint64 startedAt;
        bool closed;
        uint64 closedAt;
        bytes32 includedHash;
    }

    /// @notice A closed round. Packed into three slots so a claim reads little storage.
    struct Round {
        uint256 root;
        IERC20 token;
        uint32 size;
        uint32 claimed;
        bool paid;
        uint128 perMember;
        uint96 topUpPerMember;
        uint32 claimsUntil;
    }

    /// @notice One anonymous claim on a round: a Semaphore v4 proof that a member of the round's
    /// group sends its share to `recipient`, less `fee` (in the round's reward token) to `relayer`
    /// for submitting it. The proof's message is keccak256(abi.encode(recipient, relayer, fee)), so
    /// whoever submits it can change none of the three. `points` is the packed Groth16 proof.
    struct RoundClaim {
        address recipient;
        address relayer;
        uint256 fee;
        uint256 nullifier;
        uint256[8] points;
    }

    /// @notice An identity's authorization of its own enrollment: a Semaphore v4 proof (packed points)
    /// and its nullifier for the job's enrollment scope.
    struct EnrollmentProof {
        uint256 nullifier;
        uint256[8] points;
    }

    /// @dev What every claim on one round pays, read from storage once per transaction.
    struct Payout {
        uint256 jobId;
        uint256 round;
        uint256 root;
        uint256 scopeHash;
        IERC20 token;
        uint128 amount;
        uint128 topUp;
        address relayer;
        uint256 fees;
    }

    /// @notice How TROVE emissions follow protocol fees. Fixed at deployment.
    /// @param feeBps protocol fee on each paid round's reward, burned in the job's token
    /// @param jobEpochCapBps the most of one epoch's emissions a single job can earn
    /// @param feeTokens reward tokens whose fees earn emissions (an allowlist)
    /// @param trovePerToken for each, TROVE earned per unit of fee, scaled by 1e18
    struct EmissionRules {
        uint16 feeBps;
        uint16 jobEpochCapBps;
        IERC20[] feeTokens;
        uint256[] trovePerToken;
    }

    /// @notice One epoch's emissions: the fee weight (TROVE value of the fees paid) that asked for
    /// them, and what was given out.
    struct EpochEmissions {
        uint128 weight;
        uint128 paid;
    }

    /// @dev A batch's claims that passed the checks: their positions in the batch, their nullifier
    /// slots, and their proofs and public inputs for the verifier.
    struct Candidates {
        uint256[] index;
        uint256[] slots;
        uint256[8][] points;
        uint256[4][] inputs;
    }

    /// @notice Depth of an enrollment proof's group of one (the smallest the verifier accepts).
    uint256 public constant ENROLLMENT_DEPTH = 1;
    /// @dev Sets enrollment scopes apart from claim scopes.
    bytes32 private constant ENROLLMENT_PURPOSE = keccak256("trove-enroll");

    /// @dev Salt of the transient seen-set of roster keys while a roster is frozen.
    bytes32 private constant ROSTER_KEY_SEEN = 0x0104c5faa6bc37d91f853bd8899b631f77d8a72a5aece6f1db1059f48ffb670d; // keccak256("trove-roster-key-seen")

    /// @dev Group roots are field elements; the verifier rejects anything at or above this.
    uint256 private constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice Forfeits that no member receives are credited here, where no one can withdraw them.
    address public constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;

    /// @notice Where jobs and their escrow live.
    IJobRegistry public immutable registry;
    /// @notice The reward token whose emissions top up paid rounds.
    TroveToken public immutable trove;
    /// @notice The Semaphore v4 verifier: the official `verifyProof` for a single claim, and
    /// `ISemaphoreBatchVerifier.verifyEach` (same keys) for a batch.
    ISemaphoreVerifier public immutable verifier;
    /// @notice Depth of every group's Merkle tree (and of the circuit proofs are made with).
    uint8 public immutable treeDepth;
    /// @notice Protocol fee on each paid round's reward, in basis points of it, burned in the job's token.
    uint16 public immutable feeBps;
    /// @notice The most of one epoch's emissions a single job can earn, in basis points of them.
    uint16 public immutable jobEpochCapBps;
    /// @notice A round closes no sooner than this many seconds after it started.
    uint32 public immutable minRoundSeconds;
    /// @notice Members claim a paid round's shares for this many seconds after its close; what is
    /// left unclaimed then is burned (TROVE top-ups go back to the emission pool).
    uint32 public immutable claimWindowSeconds;
    /// @notice A round not closed this many seconds after it started (or by the job's deadline)
    /// can be expired by anyone: the researcher's stake goes to the round's bonded contributors.
    uint32 public immutable roundTimeoutSeconds;

    /// @notice Released emissions not yet assigned to a round.
    uint256 public emissionPool;
    /// @notice TROVE (18 decimals) earned per unit of protocol fee paid in a reward token, scaled by
    /// 1e18; zero for every token not allowlisted at deployment. Never more than the fee is worth,
    /// so a researcher that pays its own sybils burns at least the value it extracts.
    mapping(IERC20 token => uint256) public emissionRate;
    mapping(uint256 epoch => EpochEmissions) private _epochs;
    mapping(uint256 jobId => mapping(uint256 epoch => uint256)) private _jobEmissions;

    mapping(uint256 jobId => mapping(uint256 round => Round)) private _rounds;
    mapping(uint256 nullifier => bool) private _nullifierUsed;
    /// @dev What an account can withdraw for one token, in one slot so a claim writes storage once:
    /// the low 128 bits are the amount in that token, the high 128 bits the TROVE top-ups earned with it.
    mapping(address account => mapping(IERC20 token => uint256 packed)) private _credits;
    mapping(uint256 jobId => Enrollment[]) private _enrollments;
    mapping(uint256 jobId => mapping(uint256 commitment => bool)) private _commitmentEnrolled;
    mapping(uint256 jobId => mapping(uint256 round => Roster)) private _rosters;
    /// @dev Enrollment indices of each round's roster, in roster order.
    mapping(uint256 jobId => mapping(uint256 round => uint32[])) private _rosterEntries;

    /// @notice Only the job's coordinator may close its rounds.
    error NotCoordinator(uint256 jobId, address caller);
    /// @notice The job does not exist or is settled.
    error JobNotActive(uint256 jobId);
    /// @notice Every round of the job is already closed.
    error AllRoundsClosed(uint256 jobId);
    /// @notice The job's deadline has passed.
    error DeadlinePassed(uint256 jobId, uint256 deadline);
    /// @notice The tree depth is out of range (constructor).
    error InvalidGroup(uint256 root, uint256 size);
    /// @notice The commitment is zero or not a field element, or the roster key is zero.
    error InvalidEnrollment(uint256 jobId, uint256 commitment, bytes32 rosterKey);
    /// @notice The enrollment proof is not the identity's own authorization of this commitment,
    /// roster key and bond owner for this job.
    error EnrollmentNotAuthorized(uint256 jobId, uint256 commitment, address bondOwner);
    /// @notice The commitment is already enrolled in the job.
    error AlreadyEnrolled(uint256 jobId, uint256 commitment, bytes32 rosterKey);
    /// @notice A roster must list enrolled entries in increasing order, at least the job's minimum
    /// and at most 2^treeDepth of them.
    error InvalidRoster(uint256 jobId, uint256 size);
    /// @notice Two entries of a roster share a roster key. Keys are not unique at enrollment (anyone
    /// could then squat a contributor's key seen in the mempool); a roster lists each at most once.
    error RosterKeyRepeated(uint256 jobId, bytes32 rosterKey);
    /// @notice The round's roster has not been frozen with startRound.
    error RoundNotStarted(uint256 jobId, uint256 round);
    /// @notice Included positions must be increasing positions of the round's roster, at least one.
    error InvalidInclusion(uint256 jobId, uint256 round);
    /// @notice The round started less than minRoundSeconds ago.
    error RoundTooShort(uint256 jobId, uint256 round, uint256 closesFrom);
    /// @notice The round ran past its timeout: it can only be expired now.
    error RoundTimedOut(uint256 jobId, uint256 round);
    /// @notice The round is not started, already closed, or not yet past its timeout or the deadline.
    error RoundNotExpirable(uint256 jobId, uint256 round);
    /// @notice The round has not been closed.
    error RoundNotClosed(uint256 jobId, uint256 round);
    /// @notice The round closed with fewer contributors than the job's minimum: it pays nothing.
    error RoundBelowMinimum(uint256 jobId, uint256 round);
    /// @notice The round's claim window has ended: its unclaimed shares are burned, not paid.
    error ClaimWindowClosed(uint256 jobId, uint256 round, uint256 claimsUntil);
    /// @notice Only a paid round whose claim window has ended, with shares left, can be swept.
    error NothingToSweep(uint256 jobId, uint256 round);
    /// @notice Every member of the round has already claimed.
    error RoundFullyClaimed(uint256 jobId, uint256 round);
    /// @notice This nullifier has already been paid.
    error NullifierAlreadyUsed(uint256 nullifier);
    /// @notice The proof does not verify for this round, recipient and nullifier.
    error InvalidProof(uint256 jobId, uint256 round, uint256 nullifier);
    /// @notice The zero address cannot receive rewards.
    error ZeroRecipient();
    /// @notice A claim without a relayer cannot carry a fee.
    error FeeWithoutRelayer(uint256 nullifier, uint256 fee);
    /// @notice The relayer's fee is larger than the member's share in the reward token.
    error FeeAboveShare(uint256 nullifier, uint256 fee, uint256 share);
    /// @notice A bond can be reclaimed only by whoever paid it, once the job has ended, if it was not forfeited.
    error BondNotReclaimable(uint256 jobId, uint256 enrollment);
    /// @notice A claim transaction must carry at least one claim.
    error NoClaims();
    /// @notice Nothing to withdraw.
    error NothingToWithdraw(IERC20 token);
    /// @notice A fee of 100% or more, a job cap above 100%, or fee tokens without rates (constructor).
    error InvalidEmissionRules();
    /// @notice The token moved a different amount than asked.
    error UnsupportedToken(IERC20 token, uint256 expected, uint256 received);

    /// @notice A round was closed with the group of included contributors.
    event RoundClosed(
        uint256 indexed jobId,
        uint256 indexed round,
        uint256 root,
        uint32 size,
        bool paid,
        uint128 perMember,
        uint96 topUpPerMember
    );
    /// @notice Members' shares were credited, one per nullifier. Each recipient is bound by its
    /// proof and readable from the transaction's input; one event per transaction keeps a claim's
    /// log cost to 32 bytes.
    event Claimed(uint256 indexed jobId, uint256 indexed round, uint256[] nullifiers);
    /// @notice A claim in a batch was not paid; `reason` is the selector of the error it would revert
    /// with on its own (InvalidProof, NullifierAlreadyUsed, ZeroRecipient, FeeWithoutRelayer,
    /// FeeAboveShare, RoundFullyClaimed).
    event ClaimSkipped(uint256 indexed jobId, uint256 indexed round, uint256 nullifier, bytes4 reason);
    /// @notice A round's claim window ended with `members` shares unclaimed: their reward was burned
    /// and their TROVE top-ups went back to the emission pool.
    event UnclaimedSwept(uint256 indexed jobId, uint256 indexed round, uint256 members, uint256 burned, uint256 toPool);
    /// @notice Credited tokens were paid out.
    event Withdrawn(address indexed account, IERC20 indexed token, uint256 amount);
    /// @notice Round remainder that cannot be split evenly, credited to the job's researcher.
    event ResearcherCredited(uint256 indexed jobId, uint256 indexed round, uint256 amount);
    /// @notice A paid round's protocol fee was burned and earned `topUp` TROVE for its members.
    event ProtocolFeePaid(uint256 indexed jobId, uint256 indexed round, uint256 epoch, uint256 fee, uint256 topUp);
    /// @notice Newly released emissions entered the pool.
    event EmissionsReceived(uint256 amount, uint256 pool);
    /// @notice A contributor enrolled in the job as entry `index`. The payer of any bond is not
    /// logged: a contributor that enrolls through a relayer links no wallet to its commitment.
    event Enrolled(uint256 indexed jobId, uint256 index, uint256 commitment, bytes32 rosterKey, uint256 bond);
    /// @notice The coordinator froze the round's roster (again, if the round had to be restarted).
    event RoundStarted(uint256 indexed jobId, uint256 indexed round, bytes32 rosterHash, uint32 size, uint32[] entries);
    /// @notice A roster member left out of the round's group forfeited its bond (to the round's
    /// paid members, or burned when the round pays nothing).
    event BondForfeited(uint256 indexed jobId, uint256 indexed round, uint256 enrollment, bool burned);
    /// @notice The round was not closed in time: the job ended and the researcher's stake went to
    /// the round's bonded contributors (burned when none was bonded).
    event RoundExpired(uint256 indexed jobId, uint256 indexed round, uint256 stake, uint256 bondedMembers);
    /// @notice A bond went back to whoever paid it after the job ended.
    event BondReclaimed(uint256 indexed jobId, uint256 enrollment);

    /// @param registry_ the job registry (it must bind this contract)
    /// @param trove_ the reward token (it must make this contract its minter)
    /// @param verifier_ the deployed SemaphoreBatchVerifier (the official verifier plus batch checks)
    /// @param treeDepth_ Merkle tree depth of every group, 1 to 32
    /// @param rules_ how emissions follow protocol fees (fixed here, for good)
    /// @param minRoundSeconds_ shortest time from a round's start to its close
    /// @param roundTimeoutSeconds_ longest time from a round's start to its close, above the minimum
    /// @param claimWindowSeconds_ how long members may claim a paid round after its close (1 day to 2 years)
    constructor(
        IJobRegistry registry_,
        TroveToken trove_,
        ISemaphoreVerifier verifier_,
        uint8 treeDepth_,
        EmissionRules memory rules_,
        uint32 minRoundSeconds_,
        uint32 roundTimeoutSeconds_,
        uint32 claimWindowSeconds_
    ) {
        if (claimWindowSeconds_ < 1 days || claimWindowSeconds_ > 730 days) revert InvalidGroup(0, claimWindowSeconds_);
        claimWindowSeconds = claimWindowSeconds_;
        if (treeDepth_ == 0 || treeDepth_ > 32) revert InvalidGroup(0, treeDepth_);
        if (roundTimeoutSeconds_ <= minRoundSeconds_) revert InvalidGroup(0, roundTimeoutSeconds_);
        if (rules_.feeBps >= 10_000 || rules_.jobEpochCapBps > 10_000 || rules_.feeTokens.length != rules_.trovePerToken.length) {
            revert InvalidEmissionRules();
        }
        feeBps = rules_.feeBps;
        jobEpochCapBps = rules_.jobEpochCapBps;
        for (uint256 i = 0; i < rules_.feeTokens.length; ++i) emissionRate[rules_.feeTokens[i]] = rules_.trovePerToken[i];
        minRoundSeconds = minRoundSeconds_;
        roundTimeoutSeconds = roundTimeoutSeconds_;
        registry = registry_;
        trove = trove_;
        verifier = verifier_;
        treeDepth = treeDepth_;
    }

    // ---------------------------------------------------------------- rounds

    /// @notice Freezes the roster of the job's next round from enrolled entries and starts it.
    /// Only the job's coordinator, before the deadline. A round that was started but not closed
    /// (its secure aggregation had to be restarted) may be started again with a new roster; the
    /// close is always bound to the roster frozen last, and clients check it before taking part.
    /// @param jobId the job
    /// @param entries enrollment indices of the roster, increasing; roster position i is entries[i]
    /// @return round the index of the round started
    /// @return rosterHash keccak256 of the entries' roster keys concatenated in roster order
    function startRound(uint256 jobId, uint32[] calldata entries) external nonReentrant returns (uint256 round, bytes32 rosterHash) {
        IJobRegistry.Job memory job = _coordinatedJob(jobId);
        if (job.roundsClosed >= job.rounds) revert AllRoundsClosed(jobId);
        round = job.roundsClosed;
        uint256 n = entries.length;
        if (n == 0 || n < job.minContributors || n > (uint256(1) << treeDepth)) revert InvalidRoster(jobId, n);
        Enrollment[] storage enrolled = _enrollments[jobId];
        bytes memory keys = new bytes(n * 32);
        uint256 previous;
        for (uint256 i = 0; i < n; ++i) {
            uint256 entry = entries[i];
            if ((i != 0 && entry <= previous) || entry >= enrolled.length) revert InvalidRoster(jobId, n);
            previous = entry;
            bytes32 key = enrolled[entry].rosterKey;
            bool repeated;
            assembly ("memory-safe") {
                mstore(add(add(keys, 32), mul(i, 32)), key)
                // Seen-set in transient storage, at a hash of the key so no key can name another slot.
                mstore(0, key)
                mstore(0x20, ROSTER_KEY_SEEN)
                let seen := keccak256(0, 0x40)
                repeated := tload(seen)
                tstore(seen, 1)
            }
            if (repeated) revert RosterKeyRepeated(jobId, key);
        }
        for (uint256 i = 0; i < n; ++i) {
            assembly ("memory-safe") {
                mstore(0, mload(add(add(keys, 32), mul(i, 32))))
                mstore(0x20, ROSTER_KEY_SEEN)
                tstore(keccak256(0, 0x40), 0)
            }
        }
        rosterHash = keccak256(keys);
        _rosters[jobId][round] = Roster({hash: rosterHash, size: uint32(n), startedAt: uint64(block.timestamp), closed: false, closedAt: 0, includedHash: 0});
        _rosterEntries[jobId][round] = entries;
        emit RoundStarted(jobId, round, rosterHash, uint32(n), entries);
    }

    /// @notice Closes the job's started round with the roster positions whose masked update was
    /// included. The contract builds the Semaphore group (LeanIMT root) of exactly those members'
    /// commitments, so the coordinator can neither pay identities outside the roster nor inflate
    /// the group's size. A round with fewer included than the job's minimum closes unpaid: its
    /// reward stays in escrow. Bonded roster members left out forfeit their bond to the paid members.
    /// The close time and a hash of `included` are recorded: a member left out whose masked input
    /// the coordinator acknowledged can challenge the close with its receipt (ReceiptChallenges).
    /// @param jobId the job
    /// @param included positions in the round's roster, increasing, at least one
    /// @return round the index of the round closed
    function closeRound(uint256 jobId, uint32[] calldata included) external nonReentrant returns (uint256 round) {
        IJobRegistry.Job memory job = _coordinatedJob(jobId);
        round = job.roundsClosed;
        Roster storage roster = _rosters[jobId][round];
        if (roster.hash == bytes32(0)) revert RoundNotStarted(jobId, round);
        uint256 startedAt = roster.startedAt;
        if (block.timestamp < startedAt + minRoundSeconds) revert RoundTooShort(jobId, round, startedAt + minRoundSeconds);
        if (block.timestamp > startedAt + roundTimeoutSeconds) revert RoundTimedOut(jobId, round);
        uint256 size = included.length;
        uint256[] memory nodes = _includedCommitments(jobId, round, roster.size, included);

        bool paid = size >= job.minContributors;
        roster.closed = true;
        roster.closedAt = uint64(block.timestamp);
        roster.includedHash = keccak256(abi.encodePacked(included));
        // Balance-checked: a token that takes a fee on transfer would leave the round short.
        uint256 held = paid ? job.rewardToken.balanceOf(address(this)) : 0;
        registry.releaseRound(jobId, paid);
        if (paid) {
            uint256 received = job.rewardToken.balanceOf(address(this)) - held;
            if (received != job.rewardPerRound) revert UnsupportedToken(job.rewardToken, job.rewardPerRound, received);
        }
        uint256 forfeited = _forfeitDropouts(jobId, round, job, included, paid);
        uint256 root = _groupRoot(nodes);
        _record(jobId, round, root, uint32(size), paid, job, forfeited);
    }

    /// @notice Ends a job whose started round was not closed by its timeout or the job's deadline.
    /// Anyone may call it. The unearned escrow goes back to the researcher, the researcher's stake is
    /// split among whoever paid the bonds of the round's roster (burned when none was bonded), and
    /// every bond not forfeited becomes reclaimable.
    /// @param jobId the job
    /// @return round the index of the round expired
    function expireRound(uint256 jobId) external nonReentrant returns (uint256 round) {
        IJobRegistry.Job memory job = registry.getJob(jobId);
        round = job.roundsClosed;
        Roster storage roster = _rosters[jobId][round];
        bool due = block.timestamp > roster.startedAt + roundTimeoutSeconds || block.timestamp > job.deadline;
        if (job.status != IJobRegistry.JobStatus.Active || roster.hash == bytes32(0) || roster.closed || !due) revert RoundNotExpirable(jobId, round);
        roster.closed = true;
        uint256 stake = registry.forfeitStake(jobId);

        uint32[] storage entries = _rosterEntries[jobId][round];
        Enrollment[] storage enrolled = _enrollments[jobId];
        uint256 bonded;
        for (uint256 i = 0; i < entries.length; ++i) {
            if (enrolled[entries[i]].bond == BondStatus.Posted) ++bonded;
        }
        if (bonded == 0) {
            _credit(BURN_ADDRESS, job.rewardToken, stake);
        } else {
            uint256 share = stake / bonded;
            for (uint256 i = 0; i < entries.length; ++i) {
                Enrollment storage e = enrolled[entries[i]];
                if (e.bond == BondStatus.Posted) _credit(e.bondOwner, job.rewardToken, share);
            }
            if (stake % bonded != 0) _credit(BURN_ADDRESS, job.rewardToken, stake % bonded);
        }
        emit RoundExpired(jobId, round, stake, bonded);
    }

    /// @notice Credits members' shares of a closed round, one per valid claim. Invalid, already used
    /// or surplus claims are skipped with ClaimSkipped; a batch where none pays reverts with the
    /// first claim's error.
    /// Anyone may submit (a relayer pays the gas); each proof binds its recipient, relayer and fee,
    /// so a proof copied from the mempool cannot be redirected. A single claim is checked with the
    /// official verifier; a batch with one multi-pairing (`SemaphoreBatchVerifier.verifyEach`),
    /// which judges each proof alone only when the batch fails, so the valid claims still pay.
    /// @param jobId the job
    /// @param round the round index
    /// @param claims one or more claims on that round
    function claim(uint256 jobId, uint256 round, RoundClaim[] calldata claims) external nonReentrant {
        uint256 n = claims.length;
        Payout memory p = _openRound(jobId, round, n);
        Round storage r = _rounds[jobId][round];
        uint256 room = r.size - r.claimed;
        uint256[] memory nullifiers = new uint256[](n);
        uint256 paid;
        bytes[] memory failures = new bytes[](n);
        if (n == 1) {
            failures[0] = _payOne(p, claims[0]);
            if (failures[0].length == 0) nullifiers[paid++] = claims[0].nullifier;
        } else {
            paid = _payBatch(p, claims, room, nullifiers, failures);
        }
        for (uint256 i = 0; i < n; ++i) {
            if (failures[i].length == 0) continue;
            // One bad or front-run claim does not sink the relayer's whole batch.
            if (paid == 0) {
                bytes memory failure = failures[i];
                assembly ("memory-safe") {
                    revert(add(failure, 32), mload(failure))
                }
            }
            emit ClaimSkipped(jobId, round, claims[i].nullifier, bytes4(failures[i]));
        }
        _payRelayer(p);
        r.claimed = uint32(r.claimed + paid);
        assembly ("memory-safe") {
            mstore(nullifiers, paid)
        }
        emit Claimed(jobId, round, nullifiers);
    }

    /// @notice Ends a paid round's claims once its claim window is over. Anyone may call it. The
    /// shares nobody claimed are burned in the job's token and their TROVE top-ups go back to the
    /// emission pool: neither the researcher nor the coordinator gets anything back for members
    /// that never claim, so inflating a group with identities that never claim gains them nothing.
    /// @param jobId the job
    /// @param round the round index
    function sweepUnclaimed(uint256 jobId, uint256 round) external nonReentrant {
        Round storage r = _rounds[jobId][round];
        uint256 members = r.size - r.claimed;
        if (!r.paid || members == 0 || block.timestamp <= r.claimsUntil) revert NothingToSweep(jobId, round);
        r.claimed = r.size;
        uint256 burned = members * r.perMember;
        uint256 toPool = members * r.topUpPerMember;
        _credit(BURN_ADDRESS, r.token, burned);
        emissionPool += toPool;
        emit UnclaimedSwept(jobId, round, members, burned, toPool);
    }

    /// @notice Pays out everything credited to the caller under `token`: the amount in `token`
    /// and the TROVE top-ups earned with it.
    /// @param token the token to withdraw
    /// @return amount the amount paid in `token`
    /// @return topUp the amount paid in TROVE on top
    function withdraw(IERC20 token) external nonReentrant returns (uint256 amount, uint256 topUp) {
        uint256 packed = _credits[msg.sender][token];
        (amount, topUp) = (uint128(packed), packed >> 128);
        if (amount == 0 && topUp == 0) revert NothingToWithdraw(token);
        delete _credits[msg.sender][token];
        if (amount != 0) {
            token.safeTransfer(msg.sender, amount);
            emit Withdrawn(msg.sender, token, amount);
        }
        if (topUp != 0) {
            IERC20(address(trove)).safeTransfer(msg.sender, topUp);
            emit Withdrawn(msg.sender, IERC20(address(trove)), topUp);
        }
    }

    // ---------------------------------------------------------------- enrollment and bonds

    /// @notice Enrolls a contributor in a job, authorized by the identity itself: a Semaphore v4 proof
    /// over the group of one whose root is `commitment` (depth ENROLLMENT_DEPTH), with scope
    /// enrollmentScopeOf(jobId) and message keccak256(abi.encode(rosterKey, bondOwner)). Only the
    /// holder of the identity can make it, so no one can squat a commitment, pair it with another
    /// roster key, or post a bond for it that it did not ask for. Anyone may submit it (a relayer, so
    /// the contributor needs no ETH and links no wallet). The job's bond, if any, is pulled from the
    /// caller, who must be the `bondOwner` the proof names; without a bond `bondOwner` is zero.
    /// @param jobId the job
    /// @param commitment the contributor's Semaphore identity commitment for this job
    /// @param rosterKey the contributor's 32-byte Ed25519 secure-aggregation signing key
    /// @param proof the identity's proof: its nullifier for the enrollment scope and its packed points
    /// @return index the entry's enrollment index, which rosters refer to
    function enroll(uint256 jobId, uint256 commitment, bytes32 rosterKey, EnrollmentProof calldata proof) external nonReentrant returns (uint256 index) {
        IJobRegistry.Job memory job = registry.getJob(jobId);
        if (job.status != IJobRegistry.JobStatus.Active || job.roundsClosed >= job.rounds) revert JobNotActive(jobId);
        if (block.timestamp > job.deadline) revert DeadlinePassed(jobId, job.deadline);
        if (commitment == 0 || commitment >= SNARK_SCALAR_FIELD || rosterKey == bytes32(0)) revert InvalidEnrollment(jobId, commitment, rosterKey);
        if (_commitmentEnrolled[jobId][commitment]) revert AlreadyEnrolled(jobId, commitment, rosterKey);
        bool bonded = job.bondAmount != 0;
        address bondOwner = bonded ? msg.sender : address(0);
        // A group of one: its LeanIMT root is the commitment itself.
        if (!_verify(commitment, proof.nullifier, _fieldHash(uint256(keccak256(abi.encode(rosterKey, bondOwner)))), _fieldHash(enrollmentScopeOf(jobId)), proof.points, ENROLLMENT_DEPTH)) {
            revert EnrollmentNotAuthorized(jobId, commitment, bondOwner);
        }
        _commitmentEnrolled[jobId][commitment] = true;
        index = _enrollments[jobId].length;
        _enrollments[jobId].push(
            Enrollment({commitment: commitment, rosterKey: rosterKey, bondOwner: bondOwner, bond: bonded ? BondStatus.Posted : BondStatus.None})
        );
        if (bonded) {
            IERC20 token = job.rewardToken;
            uint256 before = token.balanceOf(address(this));
            token.safeTransferFrom(msg.sender, address(this), job.bondAmount);
            uint256 received = token.balanceOf(address(this)) - before;
            if (received != job.bondAmount) revert UnsupportedToken(token, job.bondAmount, received);
        }
        emit Enrolled(jobId, index, commitment, rosterKey, job.bondAmount);
    }

    /// @notice Credits a bond back to whoever paid it, once the job has ended (settled, every round
    /// closed, or past its deadline) and the bond was not forfeited.
    /// @param jobId the job
    /// @param index the enrollment index the bond was paid with
    function reclaimBond(uint256 jobId, uint256 index) external nonReentrant {
        IJobRegistry.Job memory job = registry.getJob(jobId);
        if (index >= _enrollments[jobId].length) revert BondNotReclaimable(jobId, index);
        Enrollment storage e = _enrollments[jobId][index];
        bool ended = job.status != IJobRegistry.JobStatus.Active || job.roundsClosed >= job.rounds || block.timestamp > job.deadline;
        if (e.bond != BondStatus.Posted || e.bondOwner != msg.sender || !ended) revert BondNotReclaimable(jobId, index);
        e.bond = BondStatus.Reclaimed;
        _credit(msg.sender, job.rewardToken, job.bondAmount);
        emit BondReclaimed(jobId, index);
    }

    // ---------------------------------------------------------------- views

    /// @notice The Semaphore scope a proof for (jobId, round) must use.
    /// @param jobId the job
    /// @param round the round index
    function scopeOf(uint256 jobId, uint256 round) public view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(this), jobId, round)));
    }

    /// @notice The Semaphore scope an enrollment proof for `jobId` must use. It names the registry
    /// (which the app knows before it enrolls) and a purpose no claim scope can take.
    /// @param jobId the job
    function enrollmentScopeOf(uint256 jobId) public view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(registry), jobId, ENROLLMENT_PURPOSE)));
    }

    /// @notice A closed round (root zero when not closed).
    /// @param jobId the job
    /// @param round the round index
    function getRound(uint256 jobId, uint256 round) external view returns (Round memory) {
        return _rounds[jobId][round];
    }

    /// @notice Whether a nullifier has been paid.
    /// @param nullifier the Semaphore nullifier
    function isNullifierUsed(uint256 nullifier) external view returns (bool) {
        return _nullifierUsed[nullifier];
    }

    /// @notice Tokens credited to `account` in `token` and not yet withdrawn.
    /// @param account the account
    /// @param token the token
    function creditOf(address account, IERC20 token) external view returns (uint256) {
        return uint128(_credits[account][token]);
    }

    /// @notice TROVE top-ups credited to `account` together with its `token` credits.
    /// @param account the account
    /// @param token the token the top-ups were earned with
    function topUpOf(address account, IERC20 token) external view returns (uint256) {
        return _credits[account][token] >> 128;
    }

    /// @notice Number of enrolled entries of a job.
    /// @param jobId the job
    function enrollmentCount(uint256 jobId) external view returns (uint256) {
        return _enrollments[jobId].length;
    }

    /// @notice One enrolled entry of a job.
    /// @param jobId the job
    /// @param index the enrollment index
    function enrollmentOf(uint256 jobId, uint256 index) external view returns (Enrollment memory) {
        return _enrollments[jobId][index];
    }

    /// @notice A round's frozen roster (hash zero when the round has not started).
    /// @param jobId the job
    /// @param round the round index
    function rosterOf(uint256 jobId, uint256 round) external view returns (Roster memory) {
        return _rosters[jobId][round];
    }

    /// @notice Enrollment indices of a round's roster, in roster order.
    /// @param jobId the job
    /// @param round the round index
    function rosterEntries(uint256 jobId, uint256 round) external view returns (uint32[] memory) {
        return _rosterEntries[jobId][round];
    }

    /// @notice Whether the job's next round has been started and not yet closed.
    /// @param jobId the job
    function roundInProgress(uint256 jobId) external view returns (bool) {
        IJobRegistry.Job memory job = registry.getJob(jobId);
        return job.roundsClosed < job.rounds && _rosters[jobId][job.roundsClosed].hash != bytes32(0);
    }

    /// @notice One epoch's emissions: the fee weight that asked for them and what was given out.
    /// @param epoch the token's epoch
    function epochEmissions(uint256 epoch) external view returns (EpochEmissions memory) {
        return _epochs[epoch];
    }

    /// @notice TROVE a job's rounds earned in one epoch (at most jobEpochCapBps of its emissions).
    /// @param jobId the job
    /// @param epoch the token's epoch
    function jobEmissions(uint256 jobId, uint256 epoch) external view returns (uint256) {
        return _jobEmissions[jobId][epoch];
    }

    /// @notice The largest group a round can have: 2^treeDepth.
    function maxGroupSize() external view returns (uint256) {
        return uint256(1) << treeDepth;
    }

    // ---------------------------------------------------------------- internals

    /// @dev Checks the round can take `n` more claims, counts them, and returns what each pays.
    function _openRound(uint256 jobId, uint256 round, uint256 n) private view returns (Payout memory p) {
        if (n == 0) revert NoClaims();
        Round storage r = _rounds[jobId][round];
        p.root = r.root;
        if (p.root == 0) revert RoundNotClosed(jobId, round);
        if (!r.paid) revert RoundBelowMinimum(jobId, round);
        if (r.claimed >= r.size) revert RoundFullyClaimed(jobId, round);
        if (block.timestamp > r.claimsUntil) revert ClaimWindowClosed(jobId, round, r.claimsUntil);
        p.jobId = jobId;
        p.round = round;
        p.scopeHash = _fieldHash(scopeOf(jobId, round));
        p.token = r.token;
        (p.amount, p.topUp) = (r.perMember, r.topUpPerMember);
        if (address(p.token) == address(trove)) (p.amount, p.topUp) = (p.amount + p.topUp, 0);
    }

    /// @dev The checks a claim passes before its proof is looked at; returns the nullifier's
    /// storage slot and the error the claim fails with (empty when it may go on to its proof).
    function _precheck(Payout memory p, RoundClaim calldata c) private view returns (uint256 slot, bytes memory failure) {
        uint256 nullifier = c.nullifier;
        bool used;
        assembly ("memory-safe") {
            mstore(0, nullifier)
            mstore(0x20, _nullifierUsed.slot)
            slot := keccak256(0, 0x40)
            used := sload(slot)
        }
        if (used) return (slot, abi.encodeWithSelector(NullifierAlreadyUsed.selector, nullifier));
        if (c.recipient == address(0)) return (slot, abi.encodeWithSelector(ZeroRecipient.selector));
        uint256 fee = c.fee;
        if (fee != 0 && c.relayer == address(0)) return (slot, abi.encodeWithSelector(FeeWithoutRelayer.selector, nullifier, fee));
        if (fee > p.amount) return (slot, abi.encodeWithSelector(FeeAboveShare.selector, nullifier, fee, p.amount));
    }

    /// @dev One claim in its own transaction: the official verifier.
    function _payOne(Payout memory p, RoundClaim calldata c) private returns (bytes memory failure) {
        uint256 slot;
        (slot, failure) = _precheck(p, c);
        if (failure.length != 0) return failure;
        if (!_verify(p.root, c.nullifier, _messageHash(c.recipient, c.relayer, c.fee), p.scopeHash, c.points, treeDepth)) {
            return abi.encodeWithSelector(InvalidProof.selector, p.jobId, p.round, c.nullifier);
        }
        assembly ("memory-safe") {
            sstore(slot, 1)
        }
        _creditClaim(p, c);
    }

    /// @dev A batch: the claims that pass the checks (at most `room`) have their nullifiers spent
    /// at once, so a nullifier repeated inside the batch fails like a used one; their proofs are
    /// checked in one call, and the nullifiers of the proofs that fail are given back.
    function _payBatch(Payout memory p, RoundClaim[] calldata claims, uint256 room, uint256[] memory nullifiers, bytes[] memory failures)
        private
        returns (uint256 paid)
    {
        Candidates memory b = _candidates(p, claims, room, failures);
        uint256 k = b.index.length;
        if (k == 0) return 0;
        bool[] memory valid = ISemaphoreBatchVerifier(address(verifier)).verifyEach(b.points, b.inputs, treeDepth);
        for (uint256 j = 0; j < k; ++j) {
            RoundClaim calldata c = claims[b.index[j]];
            if (valid[j]) {
                _creditClaim(p, c);
                nullifiers[paid++] = c.nullifier;
            } else {
                uint256 slot = b.slots[j];
                assembly ("memory-safe") {
                    sstore(slot, 0)
                }
                failures[b.index[j]] = abi.encodeWithSelector(InvalidProof.selector, p.jobId, p.round, c.nullifier);
            }
        }
    }

    /// @dev The claims of a batch that pass the checks, their nullifiers spent, and what their
    /// proofs are verified against.
    function _candidates(Payout memory p, RoundClaim[] calldata claims, uint256 room, bytes[] memory failures)
        private
        returns (Candidates memory b)
    {
        uint256 n = claims.length;
        b.index = new uint256[](n);
        b.slots = new uint256[](n);
        b.points = new uint256[8][](n);
        b.inputs = new uint256[4][](n);
        uint256 k;
        for (uint256 i = 0; i < n; ++i) {
            if (k == room) {
                failures[i] = abi.encodeWithSelector(RoundFullyClaimed.selector, p.jobId, p.round);
                continue;
            }
            RoundClaim calldata c = claims[i];
            uint256 slot;
            (slot, failures[i]) = _precheck(p, c);
            if (failures[i].length != 0) continue;
            assembly ("memory-safe") {
                sstore(slot, 1)
            }
            b.index[k] = i;
            b.slots[k] = slot;
            b.points[k] = c.points;
            b.inputs[k] = [p.root, c.nullifier, _messageHash(c.recipient, c.relayer, c.fee), p.scopeHash];
            ++k;
        }
        (uint256[] memory index, uint256[] memory slots, uint256[8][] memory points, uint256[4][] memory inputs) = (b.index, b.slots, b.points, b.inputs);
        assembly ("memory-safe") {
            mstore(index, k)
            mstore(slots, k)
            mstore(points, k)
            mstore(inputs, k)
        }
    }

    /// @dev Credits a paid claim's recipient with its share less the relayer fee, and gathers the fee
    /// in `p` while consecutive claims name the same relayer.
    function _creditClaim(Payout memory p, RoundClaim calldata c) private {
        uint256 fee = c.fee;
        _addCredit(c.recipient, p.token, p.amount - fee, p.topUp);
        if (fee == 0) return;
        address relayer = c.relayer;
        if (relayer != p.relayer) {
            _payRelayer(p);
            p.relayer = relayer;
        }
        p.fees += fee;
    }

    /// @dev Credits the fees gathered for `p.relayer`.
    function _payRelayer(Payout memory p) private {
        if (p.fees == 0) return;
        _credit(p.relayer, p.token, p.fees);
        p.fees = 0;
    }

    /// @dev Semaphore's hash of a claim's message, keccak256(abi.encode(recipient, relayer, fee)),
    /// hashed into the field as every Semaphore message is.
    function _messageHash(address recipient, address relayer, uint256 fee) private pure returns (uint256 h) {
        assembly ("memory-safe") {
            // Above the free memory pointer: scratch that nothing else holds.
            let ptr := mload(0x40)
            mstore(ptr, recipient)
            mstore(add(ptr, 32), relayer)
            mstore(add(ptr, 64), fee)
            mstore(0, keccak256(ptr, 96))
            h := shr(8, keccak256(0, 32))
        }
    }

    /// @dev Calls the official verifier's view function. The packed proof points are already in
    /// the verifier's (pA, pB, pC) order, so the call is built in scratch memory with one copy.
    function _verify(uint256 root, uint256 nullifier, uint256 messageHash, uint256 scopeHash, uint256[8] calldata points, uint256 depth)
        private
        view
        returns (bool ok)
    {
        address target = address(verifier);
        bytes4 selector = ISemaphoreVerifier.verifyProof.selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            calldatacopy(add(ptr, 4), points, 256)
            mstore(add(ptr, 260), root)
            mstore(add(ptr, 292), nullifier)
            mstore(add(ptr, 324), messageHash)
            mstore(add(ptr, 356), scopeHash)
            mstore(add(ptr, 388), depth)
            let success := staticcall(gas(), target, ptr, 420, ptr, 32)
            ok := and(success, and(eq(returndatasize(), 32), eq(mload(ptr), 1)))
        }
    }

    function _credit(address account, IERC20 token, uint256 amount) private {
        _addCredit(account, token, amount, 0);
    }

    /// @dev One read and one write of the account's packed credit; reverts if either half overflows.
    function _addCredit(address account, IERC20 token, uint256 amount, uint256 topUp) private {
        uint256 packed = _credits[account][token];
        uint256 newAmount = uint128(packed) + amount;
        uint256 newTopUp = (packed >> 128) + topUp;
        _credits[account][token] = (uint256(SafeCast.toUint128(newTopUp)) << 128) | SafeCast.toUint128(newAmount);
    }

    function _record(
        uint256 jobId,
        uint256 round,
        uint256 root,
        uint32 size,
        bool paid,
        IJobRegistry.Job memory job,
        uint256 forfeited
    ) private {
        Round storage r = _rounds[jobId][round];
        r.root = root;
        r.token = job.rewardToken;
        r.size = size;
        r.paid = paid;
        if (paid) {
            uint256 reward = job.rewardPerRound;
            uint256 fee = (reward * feeBps) / 10_000;
            uint256 net = reward - fee;
            uint128 perMember = SafeCast.toUint128(net / size + forfeited / size);
            uint256 topUp = _takeTopUp(jobId, round, job.rewardToken, fee, size);
            uint96 topUpPerMember = SafeCast.toUint96(topUp / size);
            r.perMember = perMember;
            r.topUpPerMember = topUpPerMember;
            r.claimsUntil = SafeCast.toUint32(block.timestamp + claimWindowSeconds);
            // The reward's indivisible remainder goes back; the fee and the forfeits' remainder are burned.
            _creditResearcher(jobId, round, job, net % size);
            if (fee + forfeited % size != 0) _credit(BURN_ADDRESS, job.rewardToken, fee + forfeited % size);
            emit RoundClosed(jobId, round, root, size, true, perMember, topUpPerMember);
        } else {
            emit RoundClosed(jobId, round, root, size, false, 0, 0);
        }
    }

    /// @dev The job, checked active, before its deadline, and called by its coordinator.
    function _coordinatedJob(uint256 jobId) private view returns (IJobRegistry.Job memory job) {
        job = registry.getJob(jobId);
        if (job.status != IJobRegistry.JobStatus.Active) revert JobNotActive(jobId);
        if (msg.sender != job.coordinator) revert NotCoordinator(jobId, msg.sender);
        if (block.timestamp > job.deadline) revert DeadlinePassed(jobId, job.deadline);
    }

    /// @dev The commitments at the included roster positions, in roster order.
    function _includedCommitments(uint256 jobId, uint256 round, uint256 rosterSize, uint32[] calldata included)
        private
        view
        returns (uint256[] memory nodes)
    {
        uint256 size = included.length;
        if (size == 0 || size > rosterSize) revert InvalidInclusion(jobId, round);
        uint32[] storage entries = _rosterEntries[jobId][round];
        Enrollment[] storage enrolled = _enrollments[jobId];
        nodes = new uint256[](size);
        uint256 previous;
        for (uint256 i = 0; i < size; ++i) {
            uint256 position = included[i];
            if ((i != 0 && position <= previous) || position >= rosterSize) revert InvalidInclusion(jobId, round);
            previous = position;
            nodes[i] = enrolled[entries[position]].commitment;
        }
    }

    /// @dev Forfeits the bonds of roster members left out of the group: to the paid members when
    /// the round pays, burned otherwise. Never to the researcher or the coordinator.
    function _forfeitDropouts(uint256 jobId, uint256 round, IJobRegistry.Job memory job, uint32[] calldata included, bool paid)
        private
        returns (uint256 forfeited)
    {
        if (job.bondAmount == 0) return 0;
        uint32[] storage entries = _rosterEntries[jobId][round];
        Enrollment[] storage enrolled = _enrollments[jobId];
        uint256 n = entries.length;
        uint256 next;
        for (uint256 position = 0; position < n; ++position) {
            if (next < included.length && included[next] == position) {
                ++next;
                continue;
            }
            uint256 entry = entries[position];
            Enrollment storage e = enrolled[entry];
            if (e.bond != BondStatus.Posted) continue;
            e.bond = BondStatus.Forfeited;
            forfeited += job.bondAmount;
            emit BondForfeited(jobId, round, entry, !paid);
        }
        if (!paid && forfeited != 0) {
            _credit(BURN_ADDRESS, job.rewardToken, forfeited);
            forfeited = 0;
        }
    }

    /// @dev Root of the LeanIMT (Semaphore v4 group) with these leaves: each level hashes pairs
    /// with Poseidon and carries an odd last node up unchanged. Overwrites `nodes`.
    function _groupRoot(uint256[] memory nodes) private pure returns (uint256) {
        uint256 n = nodes.length;
        while (n > 1) {
            uint256 half = n >> 1;
            for (uint256 i = 0; i < half; ++i) {
                nodes[i] = PoseidonT3.hash([nodes[2 * i], nodes[2 * i + 1]]);
            }
            if (n & 1 == 1) {
                nodes[half] = nodes[n - 1];
                n = half + 1;
            } else {
                n = half;
            }
        }
        return nodes[0];
    }

    /// @dev The TROVE a paid round earns with its burned protocol fee, taken from the pool: the fee's
    /// TROVE value at the allowlisted rate (zero for any other token), scaled down pro rata when the
    /// previous epoch's fees asked for more than this epoch's emissions, and capped by what is left
    /// of this epoch's emissions, of this job's share of them, and of the pool. Emissions taper with
    /// the token's schedule; a multiple of `size` so every member gets the same.
    function _takeTopUp(uint256 jobId, uint256 round, IERC20 token, uint256 fee, uint256 size) private returns (uint256 share) {
        uint256 weight = (fee * emissionRate[token]) / 1e18;
        uint256 epoch = trove.currentEpoch();
        if (weight != 0) {
            uint256 minted = trove.release();
            if (minted != 0) emit EmissionsReceived(minted, emissionPool + minted);
            emissionPool += minted;
            share = _earned(jobId, epoch, weight);
            share -= share % size;
            EpochEmissions storage spent = _epochs[epoch];
            spent.weight = SafeCast.toUint128(spent.weight + weight);
            spent.paid = SafeCast.toUint128(spent.paid + share);
            _jobEmissions[jobId][epoch] += share;
            emissionPool -= share;
        }
        emit ProtocolFeePaid(jobId, round, epoch, fee, share);
    }

    /// @dev What a fee weight earns now, before rounding to the group: see _takeTopUp.
    function _earned(uint256 jobId, uint256 epoch, uint256 weight) private view returns (uint256 share) {
        uint256 budget = trove.epochEmission(epoch);
        share = weight;
        if (epoch != 0) {
            uint256 demand = _epochs[epoch - 1].weight;
            if (demand > budget) share = (weight * budget) / demand;
        }
        uint256 jobCap = (budget * jobEpochCapBps) / 10_000;
        uint256 jobSpent = _jobEmissions[jobId][epoch];
        share = _min(share, budget - _epochs[epoch].paid);
        share = _min(share, jobCap > jobSpent ? jobCap - jobSpent : 0);
        share = _min(share, emissionPool);
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }

    function _creditResearcher(uint256 jobId, uint256 round, IJobRegistry.Job memory job, uint256 amount) private {
        if (amount == 0) return;
        _credit(job.researcher, job.rewardToken, amount);
        emit ResearcherCredited(jobId, round, amount);
    }

    /// @dev Semaphore's hash of a message or scope: keccak256 shifted into the SNARK field.
    /// Hashed in scratch space so a batch does not grow memory per claim.
    function _fieldHash(uint256 value) private pure returns (uint256 h) {
        assembly ("memory-safe") {
            mstore(0, value)
            h := shr(8, keccak256(0, 32))
        }
    }
}
