// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ISemaphoreVerifier} from "@semaphore-protocol/contracts/interfaces/ISemaphoreVerifier.sol";
import {IJobRegistry} from "./IJobRegistry.sol";
import {TroveToken} from "./TroveToken.sol";

/// @title RoundRewards
/// @notice Closes rounds and pays their contributors anonymously.
///
/// The job's coordinator closes a round by posting the Semaphore group (root and size) of the
/// contributors whose masked update was included. Each member then claims an equal share with a
/// Semaphore v4 proof: scope bound to (chain, this contract, job, round), message = recipient.
/// Proofs are checked with the official SemaphoreVerifier's view function and this contract keeps
/// its own nullifier set, so a proof copied from the mempool can neither be redirected nor burnt.
/// Anyone may submit claims (a relayer pays the gas, possibly many claims in one transaction);
/// claims credit balances that are withdrawn once, for any number of rounds.
///
/// Optional contributor bonds are posted against a per-job identity commitment, returned when the
/// round closes with the commitment included, and forfeited to the round's pool when the
/// coordinator reports the commitment as a dropout.
contract RoundRewards is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    enum BondStatus {
        None,
        Posted,
        Returned,
        Forfeited,
        Reclaimed
    }

    /// @notice A contributor's bond for one job.
    struct Bond {
        address owner;
        uint32 round;
        BondStatus status;
    }

    /// @notice A closed round. Packed into three slots so a claim reads little storage.
    struct Round {
        uint256 root;
        IERC20 token;
        uint32 size;
        uint32 claimed;
        bool paid;
        uint128 perMember;
        uint128 topUpPerMember;
    }

    /// @notice One anonymous claim on a round: a Semaphore v4 proof that a member of the round's
    /// group sends its share to `recipient`. `points` is the packed Groth16 proof.
    struct RoundClaim {
        address recipient;
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
    }

    /// @dev Group roots are field elements; the verifier rejects anything at or above this.
    uint256 private constant SNARK_SCALAR_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;

    /// @notice Where jobs and their escrow live.
    IJobRegistry public immutable registry;
    /// @notice The reward token whose emissions top up paid rounds.
    TroveToken public immutable trove;
    /// @notice The official Semaphore v4 verifier.
    ISemaphoreVerifier public immutable verifier;
    /// @notice Depth of every group's Merkle tree (and of the circuit proofs are made with).
    uint8 public immutable treeDepth;
    /// @notice Share of the emission pool given to each paid round, in basis points.
    uint16 public immutable topUpBps;

    /// @notice Released emissions not yet assigned to a round.
    uint256 public emissionPool;

    mapping(uint256 jobId => mapping(uint256 round => Round)) private _rounds;
    mapping(uint256 nullifier => bool) private _nullifierUsed;
    /// @dev What an account can withdraw for one token, in one slot so a claim writes storage once:
    /// the low 128 bits are the amount in that token, the high 128 bits the TROVE top-ups earned with it.
    mapping(address account => mapping(IERC20 token => uint256 packed)) private _credits;
    mapping(uint256 jobId => mapping(uint256 commitment => Bond)) private _bonds;
    mapping(uint256 jobId => uint256) private _pendingBonds;

    /// @notice Only the job's coordinator may close its rounds.
    error NotCoordinator(uint256 jobId, address caller);
    /// @notice The job does not exist or is settled.
    error JobNotActive(uint256 jobId);
    /// @notice The job's deadline has passed.
    error DeadlinePassed(uint256 jobId, uint256 deadline);
    /// @notice The posted group is empty, not a field element, too large for the tree depth, or
    /// smaller than the bonds it includes.
    error InvalidGroup(uint256 root, uint256 size);
    /// @notice Every bond posted for the round must be reported either included or dropped.
    error BondsUnaccounted(uint256 jobId, uint256 pending, uint256 reported);
    /// @notice The round has not been closed.
    error RoundNotClosed(uint256 jobId, uint256 round);
    /// @notice The round closed with fewer contributors than the job's minimum: it pays nothing.
    error RoundBelowMinimum(uint256 jobId, uint256 round);
    /// @notice Every member of the round has already claimed.
    error RoundFullyClaimed(uint256 jobId, uint256 round);
    /// @notice This nullifier has already been paid.
    error NullifierAlreadyUsed(uint256 nullifier);
    /// @notice The proof does not verify for this round, recipient and nullifier.
    error InvalidProof(uint256 jobId, uint256 round, uint256 nullifier);
    /// @notice The zero address cannot receive rewards.
    error ZeroRecipient();
    /// @notice The job takes no bonds.
    error BondsNotRequired(uint256 jobId);
    /// @notice A bond for this commitment is already posted for the job.
    error BondAlreadyPosted(uint256 jobId, uint256 commitment);
    /// @notice The bond is not posted for the round being closed (or at all).
    error BondNotPosted(uint256 jobId, uint256 commitment);
    /// @notice A bond can be reclaimed only by its owner, after the job ended without closing its round.
    error BondNotReclaimable(uint256 jobId, uint256 commitment);
    /// @notice A claim transaction must carry at least one claim.
    error NoClaims();
    /// @notice Nothing to withdraw.
    error NothingToWithdraw(IERC20 token);
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
        uint128 topUpPerMember
    );
    /// @notice Members' shares were credited, one per nullifier. Each recipient is bound by its
    /// proof and readable from the transaction's input; one event per transaction keeps a claim's
    /// log cost to 32 bytes.
    event Claimed(uint256 indexed jobId, uint256 indexed round, uint256[] nullifiers);
    /// @notice Credited tokens were paid out.
    event Withdrawn(address indexed account, IERC20 indexed token, uint256 amount);
    /// @notice Round remainder that cannot be split evenly, or dropouts' bonds of an unpaid round,
    /// credited to the job's researcher.
    event ResearcherCredited(uint256 indexed jobId, uint256 indexed round, uint256 amount);
    /// @notice Newly released emissions entered the pool.
    event EmissionsReceived(uint256 amount, uint256 pool);
    /// @notice A bond was posted for the job's current round.
    event BondPosted(uint256 indexed jobId, uint256 indexed commitment, address indexed owner, uint256 round, uint256 amount);
    /// @notice A bond was credited back to its owner (included in the round).
    event BondReturned(uint256 indexed jobId, uint256 indexed commitment, uint256 round);
    /// @notice A bond was forfeited (dropout) to the round's pool.
    event BondForfeited(uint256 indexed jobId, uint256 indexed commitment, uint256 round);
    /// @notice A bond was returned to its owner because its round never closed.
    event BondReclaimed(uint256 indexed jobId, uint256 indexed commitment, uint256 round);

    /// @param registry_ the job registry (it must bind this contract)
    /// @param trove_ the reward token (it must make this contract its minter)
    /// @param verifier_ the deployed SemaphoreVerifier
    /// @param treeDepth_ Merkle tree depth of every group, 1 to 32
    /// @param topUpBps_ share of the emission pool each paid round receives
    constructor(IJobRegistry registry_, TroveToken trove_, ISemaphoreVerifier verifier_, uint8 treeDepth_, uint16 topUpBps_) {
        if (treeDepth_ == 0 || treeDepth_ > 32 || topUpBps_ > 10_000) revert InvalidGroup(0, treeDepth_);
        registry = registry_;
        trove = trove_;
        verifier = verifier_;
        treeDepth = treeDepth_;
        topUpBps = topUpBps_;
    }

    // ---------------------------------------------------------------- rounds

    /// @notice Closes the job's next round. Only the job's coordinator, before the deadline.
    /// A round with fewer than the job's minimum contributors closes unpaid: its reward stays in
    /// escrow for the researcher. Every bond posted for the round must be listed exactly once.
    /// @param jobId the job
    /// @param root Semaphore group root of the contributors whose masked update was included
    /// @param size number of members in that group
    /// @param includedBonds bonded commitments included in the round (bonds returned)
    /// @param droppedBonds bonded commitments that registered but dropped out (bonds forfeited)
    /// @return round the index of the round closed
    function closeRound(
        uint256 jobId,
        uint256 root,
        uint32 size,
        uint256[] calldata includedBonds,
        uint256[] calldata droppedBonds
    ) external nonReentrant returns (uint256 round) {
        IJobRegistry.Job memory job = registry.getJob(jobId);
        if (job.status != IJobRegistry.JobStatus.Active) revert JobNotActive(jobId);
        if (msg.sender != job.coordinator) revert NotCoordinator(jobId, msg.sender);
        if (block.timestamp > job.deadline) revert DeadlinePassed(jobId, job.deadline);
        if (root == 0 || root >= SNARK_SCALAR_FIELD || size == 0 || uint256(size) > (uint256(1) << treeDepth) || includedBonds.length > size) {
            revert InvalidGroup(root, size);
        }
        uint256 pending = _pendingBonds[jobId];
        if (includedBonds.length + droppedBonds.length != pending) {
            revert BondsUnaccounted(jobId, pending, includedBonds.length + droppedBonds.length);
        }

        bool paid = size >= job.minContributors;
        round = registry.releaseRound(jobId, paid);
        uint256 forfeited = _settleBonds(jobId, round, job, includedBonds, droppedBonds);
        _pendingBonds[jobId] = 0;
        _record(jobId, round, root, size, paid, job, forfeited);
    }

    /// @notice Credits members' shares of a closed round, one per claim (all or nothing).
    /// Anyone may submit (a relayer pays the gas); each proof binds its recipient, so a proof copied
    /// from the mempool cannot be redirected. Batching a round's claims spreads the transaction's
    /// fixed costs over them.
    /// @param jobId the job
    /// @param round the round index
    /// @param claims one or more claims on that round
    function claim(uint256 jobId, uint256 round, RoundClaim[] calldata claims) external nonReentrant {
        Payout memory p = _openRound(jobId, round, claims.length);
        uint256[] memory nullifiers = new uint256[](claims.length);
        for (uint256 i = 0; i < claims.length; ++i) {
            nullifiers[i] = _pay(p, claims[i]);
        }
        emit Claimed(jobId, round, nullifiers);
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

    // ---------------------------------------------------------------- bonds

    /// @notice Posts the job's bond for its current round against a per-job identity commitment.
    /// @param jobId the job
    /// @param commitment the contributor's Semaphore identity commitment for this job
    function postBond(uint256 jobId, uint256 commitment) external nonReentrant {
        IJobRegistry.Job memory job = registry.getJob(jobId);
        if (job.status != IJobRegistry.JobStatus.Active || job.roundsClosed >= job.rounds) revert JobNotActive(jobId);
        if (block.timestamp > job.deadline) revert DeadlinePassed(jobId, job.deadline);
        if (job.bondAmount == 0) revert BondsNotRequired(jobId);
        Bond storage b = _bonds[jobId][commitment];
        if (b.status == BondStatus.Posted) revert BondAlreadyPosted(jobId, commitment);
        b.owner = msg.sender;
        b.round = job.roundsClosed;
        b.status = BondStatus.Posted;
        ++_pendingBonds[jobId];

        IERC20 token = job.rewardToken;
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), job.bondAmount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != job.bondAmount) revert UnsupportedToken(token, job.bondAmount, received);

        emit BondPosted(jobId, commitment, msg.sender, job.roundsClosed, job.bondAmount);
    }

    /// @notice Returns a posted bond to its owner when its round can no longer close
    /// (the job was settled or its deadline passed).
    /// @param jobId the job
    /// @param commitment the commitment the bond was posted against
    function reclaimBond(uint256 jobId, uint256 commitment) external nonReentrant {
        IJobRegistry.Job memory job = registry.getJob(jobId);
        Bond storage b = _bonds[jobId][commitment];
        bool ended = job.status != IJobRegistry.JobStatus.Active || block.timestamp > job.deadline;
        if (b.status != BondStatus.Posted || b.owner != msg.sender || !ended) revert BondNotReclaimable(jobId, commitment);
        b.status = BondStatus.Reclaimed;
        --_pendingBonds[jobId];
        _credit(msg.sender, job.rewardToken, job.bondAmount);
        emit BondReclaimed(jobId, commitment, b.round);
    }

    // ---------------------------------------------------------------- views

    /// @notice The Semaphore scope a proof for (jobId, round) must use.
    /// @param jobId the job
    /// @param round the round index
    function scopeOf(uint256 jobId, uint256 round) public view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(this), jobId, round)));
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

    /// @notice A job's bond for a commitment.
    /// @param jobId the job
    /// @param commitment the identity commitment
    function bondOf(uint256 jobId, uint256 commitment) external view returns (Bond memory) {
        return _bonds[jobId][commitment];
    }

    /// @notice Bonds posted for the job's current round and not yet returned, forfeited or reclaimed.
    /// @param jobId the job
    function pendingBonds(uint256 jobId) external view returns (uint256) {
        return _pendingBonds[jobId];
    }

    // ---------------------------------------------------------------- internals

    /// @dev Checks the round can take `n` more claims, counts them, and returns what each pays.
    function _openRound(uint256 jobId, uint256 round, uint256 n) private returns (Payout memory p) {
        if (n == 0) revert NoClaims();
        Round storage r = _rounds[jobId][round];
        p.root = r.root;
        if (p.root == 0) revert RoundNotClosed(jobId, round);
        if (!r.paid) revert RoundBelowMinimum(jobId, round);
        uint256 claimed = r.claimed + n;
        if (claimed > r.size) revert RoundFullyClaimed(jobId, round);
        r.claimed = uint32(claimed);
        p.jobId = jobId;
        p.round = round;
        p.scopeHash = _fieldHash(scopeOf(jobId, round));
        p.token = r.token;
        (p.amount, p.topUp) = (r.perMember, r.topUpPerMember);
        if (address(p.token) == address(trove)) (p.amount, p.topUp) = (p.amount + p.topUp, 0);
    }

    /// @dev Verifies one claim, spends its nullifier and credits its recipient.
    function _pay(Payout memory p, RoundClaim calldata c) private returns (uint256 nullifier) {
        nullifier = c.nullifier;
        address recipient = c.recipient;
        // The nullifier's slot in `_nullifierUsed`, computed once for the check and the write.
        uint256 slot;
        bool used;
        assembly ("memory-safe") {
            mstore(0, nullifier)
            mstore(0x20, _nullifierUsed.slot)
            slot := keccak256(0, 0x40)
            used := sload(slot)
        }
        if (used) revert NullifierAlreadyUsed(nullifier);
        if (recipient == address(0)) revert ZeroRecipient();
        if (!_verify(p.root, nullifier, recipient, p.scopeHash, c.points)) revert InvalidProof(p.jobId, p.round, nullifier);
        assembly ("memory-safe") {
            sstore(slot, 1)
        }
        _addCredit(recipient, p.token, p.amount, p.topUp);
    }

    /// @dev Calls the official verifier's view function. The packed proof points are already in
    /// the verifier's (pA, pB, pC) order, so the call is built in scratch memory with one copy.
    function _verify(uint256 root, uint256 nullifier, address recipient, uint256 scopeHash, uint256[8] calldata points)
        private
        view
        returns (bool ok)
    {
        uint256 messageHash = _fieldHash(uint256(uint160(recipient)));
        address target = address(verifier);
        uint256 depth = treeDepth;
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
            uint256 pool = uint256(job.rewardPerRound) + forfeited;
            uint128 perMember = SafeCast.toUint128(pool / size);
            uint128 topUpPerMember = SafeCast.toUint128(_takeTopUp() / size);
            r.perMember = perMember;
            r.topUpPerMember = topUpPerMember;
            emissionPool -= uint256(topUpPerMember) * size;
            _creditResearcher(jobId, round, job, pool - uint256(perMember) * size);
            emit RoundClosed(jobId, round, root, size, true, perMember, topUpPerMember);
        } else {
            _creditResearcher(jobId, round, job, forfeited);
            emit RoundClosed(jobId, round, root, size, false, 0, 0);
        }
    }

    function _settleBonds(
        uint256 jobId,
        uint256 round,
        IJobRegistry.Job memory job,
        uint256[] calldata includedBonds,
        uint256[] calldata droppedBonds
    ) private returns (uint256 forfeited) {
        for (uint256 i = 0; i < includedBonds.length; ++i) {
            Bond storage b = _postedBond(jobId, round, includedBonds[i]);
            b.status = BondStatus.Returned;
            _credit(b.owner, job.rewardToken, job.bondAmount);
            emit BondReturned(jobId, includedBonds[i], round);
        }
        for (uint256 i = 0; i < droppedBonds.length; ++i) {
            Bond storage b = _postedBond(jobId, round, droppedBonds[i]);
            b.status = BondStatus.Forfeited;
            forfeited += job.bondAmount;
            emit BondForfeited(jobId, droppedBonds[i], round);
        }
    }

    function _postedBond(uint256 jobId, uint256 round, uint256 commitment) private view returns (Bond storage b) {
        b = _bonds[jobId][commitment];
        if (b.status != BondStatus.Posted || b.round != round) revert BondNotPosted(jobId, commitment);
    }

    /// @dev Releases newly unlocked emissions into the pool and takes this round's share of it.
    function _takeTopUp() private returns (uint256 share) {
        if (topUpBps == 0) return 0;
        uint256 minted = trove.minter() == address(this) ? trove.release() : 0;
        uint256 pool = emissionPool + minted;
        emissionPool = pool;
        if (minted != 0) emit EmissionsReceived(minted, pool);
        share = (pool * topUpBps) / 10_000;
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
