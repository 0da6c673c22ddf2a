// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IJobRegistry} from "./IJobRegistry.sol";

/// @notice What the registry asks the round rewards contract.
interface IRoundState {
    /// @notice Whether the job's next round has been started (roster frozen) and not yet closed.
    function roundInProgress(uint256 jobId) external view returns (bool);
    /// @notice The largest group a round can have.
    function maxGroupSize() external view returns (uint256);
}

/// @notice What the registry asks the receipt challenge contract.
interface IReceiptChallengeWindow {
    /// @notice How long after a round's close a contributor may challenge it.
    function challengeWindowSeconds() external view returns (uint32);
}

/// @title JobRegistry
/// @notice Researchers publish jobs here and escrow the whole reward up front, plus a stake.
/// Each round's reward leaves the escrow only when the job's coordinator closes the round
/// with enough contributors; whatever is not earned goes back to the researcher on settle.
contract JobRegistry is IJobRegistry, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Parameters of a new job.
    struct JobParams {
        bytes32 specHash;
        string specURI;
        address coordinator;
        IERC20 rewardToken;
        uint128 rewardPerRound;
        uint32 rounds;
        uint32 minContributors;
        uint64 deadline;
        uint96 bondAmount;
    }

    /// @notice Stake the researcher locks, in basis points of the total reward.
    uint16 public immutable stakeBps;
    /// @notice A job's deadline is at most this far ahead: nothing (escrow, stake, bonds) can be
    /// held forever by a deadline that never comes and a coordinator that never acts.
    uint256 public constant MAX_JOB_SECONDS = 365 days;
    /// @notice The round rewards contract: the only caller of `releaseRound`. Set once.
    address public roundRewards;
    /// @notice Number of jobs published; job ids run from 1 to `jobCount`.
    uint256 public jobCount;
    /// @notice The receipt challenge contract: the only caller of `slashStake`. Set once.
    address public receiptChallenges;
    /// @notice How long after each close the stake stays for challenges (read from the challenge
    /// contract when it is bound; zero before).
    uint32 public challengeWindowSeconds;
    /// @notice When the job's last round was closed (zero before its first close).
    mapping(uint256 jobId => uint64) public lastClosedAt;

    address private immutable _deployer;
    mapping(uint256 jobId => Job) private _jobs;

    /// @notice A job parameter is out of range.
    error InvalidJob(string reason);
    /// @notice The job does not exist or is already settled.
    error JobNotActive(uint256 jobId);
    /// @notice Every round of the job is already closed.
    error AllRoundsClosed(uint256 jobId);
    /// @notice Only the job's researcher may do this.
    error NotResearcher(uint256 jobId, address caller);
    /// @notice Only the round rewards contract may do this.
    error NotRoundRewards(address caller);
    /// @notice Only the deployer may bind the round rewards contract, once.
    error NotDeployer(address caller);
    /// @notice The round rewards contract is already bound.
    error RoundRewardsAlreadySet();
    /// @notice The receipt challenge contract is already bound.
    error ReceiptChallengesAlreadySet();
    /// @notice Only the receipt challenge contract may do this.
    error NotReceiptChallenges(address caller);
    /// @notice The last close can still be challenged until `until`: the stake stays until then.
    error StakeLocked(uint256 jobId, uint256 until);
    /// @notice The token moved a different amount than asked (fee-on-transfer tokens are refused).
    error UnsupportedToken(IERC20 token, uint256 expected, uint256 received);
    /// @notice A round has started: settling now would take back the reward its contributors are
    /// earning. Let the coordinator close the round, or expire it once it timed out (the stake pays).
    error RoundInProgress(uint256 jobId, uint256 round);

    /// @notice The round rewards contract was bound.
    event RoundRewardsSet(address indexed roundRewards);
    /// @notice A job was published and its reward and stake escrowed. The app discovers jobs from this.
    event JobPublished(
        uint256 indexed jobId,
        address indexed researcher,
        address indexed coordinator,
        IERC20 rewardToken,
        bytes32 specHash,
        string specURI,
        uint128 rewardPerRound,
        uint32 rounds,
        uint32 minContributors,
        uint64 deadline,
        uint96 bondAmount,
        uint128 stake
    );
    /// @notice A round was closed; `paid` says whether its reward left the escrow.
    event RoundReleased(uint256 indexed jobId, uint256 indexed round, bool paid, uint256 amount);
    /// @notice A round timed out: the escrow went back to the researcher and the stake to the round's contributors.
    event StakeForfeited(uint256 indexed jobId, uint256 refund, uint256 stake);
    /// @notice The job was settled: unearned escrow and stake went back to the researcher.
    event JobSettled(uint256 indexed jobId, uint256 refund, uint256 stake, bool cancelled);
    /// @notice The receipt challenge contract was bound.
    event ReceiptChallengesSet(address indexed receiptChallenges, uint32 challengeWindowSeconds);
    /// @notice A successful receipt challenge took `amount` of the job's stake for a harmed contributor.
    event StakeSlashed(uint256 indexed jobId, address indexed to, uint256 amount);

    /// @param stakeBps_ researcher stake in basis points of the total reward (at most 10000)
    constructor(uint16 stakeBps_) {
        if (stakeBps_ > 10_000) revert InvalidJob("stakeBps");
        stakeBps = stakeBps_;
        _deployer = msg.sender;
    }

    /// @notice Binds the round rewards contract. Callable once, by the deployer.
    /// @param roundRewards_ the contract that closes rounds and pays contributors
    function setRoundRewards(address roundRewards_) external {
        if (msg.sender != _deployer) revert NotDeployer(msg.sender);
        if (roundRewards != address(0)) revert RoundRewardsAlreadySet();
        if (roundRewards_ == address(0)) revert InvalidJob("roundRewards");
        roundRewards = roundRewards_;
        emit RoundRewardsSet(roundRewards_);
    }

    /// @notice Binds the receipt challenge contract and takes its challenge window. Callable once,
    /// by the deployer. From then on the stake of a job stays until its last close can no longer be
    /// challenged.
    /// @param receiptChallenges_ the contract that pays successful challenges from stakes
    function setReceiptChallenges(address receiptChallenges_) external {
        if (msg.sender != _deployer) revert NotDeployer(msg.sender);
        if (receiptChallenges != address(0)) revert ReceiptChallengesAlreadySet();
        if (receiptChallenges_ == address(0)) revert InvalidJob("receiptChallenges");
        receiptChallenges = receiptChallenges_;
        challengeWindowSeconds = IReceiptChallengeWindow(receiptChallenges_).challengeWindowSeconds();
        emit ReceiptChallengesSet(receiptChallenges_, challengeWindowSeconds);
    }

    /// @notice Publishes a job and escrows `rewardPerRound * rounds` plus the stake from the caller.
    /// @param p the job's parameters; the caller must have approved the reward token for the total
    /// @return jobId the new job's id
    function publish(JobParams calldata p) external nonReentrant returns (uint256 jobId) {
        if (p.coordinator == address(0)) revert InvalidJob("coordinator");
        if (address(p.rewardToken) == address(0)) revert InvalidJob("rewardToken");
        if (p.rewardPerRound == 0) revert InvalidJob("rewardPerRound");
        if (p.rounds == 0) revert InvalidJob("rounds");
        if (roundRewards == address(0)) revert InvalidJob("roundRewards");
        if (p.minContributors == 0 || p.minContributors > IRoundState(roundRewards).maxGroupSize()) revert InvalidJob("minContributors");
        if (p.deadline <= block.timestamp || p.deadline > block.timestamp + MAX_JOB_SECONDS) revert InvalidJob("deadline");
        if (p.specHash == bytes32(0)) revert InvalidJob("specHash");

        uint256 escrow = uint256(p.rewardPerRound) * p.rounds;
        if (escrow > type(uint128).max) revert InvalidJob("reward");
        uint256 stake = (escrow * stakeBps) / 10_000;

        jobId = ++jobCount;
        _jobs[jobId] = Job({
            researcher: msg.sender,
            deadline: p.deadline,
            rounds: p.rounds,
            coordinator: p.coordinator,
            roundsClosed: 0,
            minContributors: p.minContributors,
            status: JobStatus.Active,
            rewardToken: p.rewardToken,
            bondAmount: p.bondAmount,
            rewardPerRound: p.rewardPerRound,
            escrow: uint128(escrow),
            stake: uint128(stake),
            specHash: p.specHash
        });

        _pull(p.rewardToken, msg.sender, escrow + stake);

        emit JobPublished(
            jobId,
            msg.sender,
            p.coordinator,
            p.rewardToken,
            p.specHash,
            p.specURI,
            p.rewardPerRound,
            p.rounds,
            p.minContributors,
            p.deadline,
            p.bondAmount,
            uint128(stake)
        );
    }

    /// @inheritdoc IJobRegistry
    /// @dev Only the round rewards contract, which checks the coordinator and the deadline.
    function releaseRound(uint256 jobId, bool paid) external nonReentrant returns (uint256 round) {
        if (msg.sender != roundRewards) revert NotRoundRewards(msg.sender);
        Job storage job = _jobs[jobId];
        if (job.status != JobStatus.Active) revert JobNotActive(jobId);
        round = job.roundsClosed;
        if (round >= job.rounds) revert AllRoundsClosed(jobId);
        job.roundsClosed = uint32(round + 1);
        lastClosedAt[jobId] = uint64(block.timestamp);
        uint256 amount = paid ? job.rewardPerRound : 0;
        if (paid) {
            job.escrow -= uint128(amount);
            job.rewardToken.safeTransfer(msg.sender, amount);
        }
        emit RoundReleased(jobId, round, paid, amount);
    }

    /// @inheritdoc IJobRegistry
    function forfeitStake(uint256 jobId) external nonReentrant returns (uint256 stake) {
        if (msg.sender != roundRewards) revert NotRoundRewards(msg.sender);
        Job storage job = _jobs[jobId];
        if (job.status != JobStatus.Active) revert JobNotActive(jobId);
        _checkStakeFree(jobId);
        uint256 refund = job.escrow;
        stake = job.stake;
        job.status = JobStatus.Settled;
        job.escrow = 0;
        job.stake = 0;
        if (refund != 0) job.rewardToken.safeTransfer(job.researcher, refund);
        if (stake != 0) job.rewardToken.safeTransfer(msg.sender, stake);
        emit StakeForfeited(jobId, refund, stake);
    }

    /// @notice Ends the job and returns the unearned escrow and the stake to the researcher.
    /// Before the deadline this cancels the job; rounds already paid stay with their contributors.
    /// @param jobId the job to settle
    /// @return refund the escrow returned (the stake is returned on top)
    function settle(uint256 jobId) external nonReentrant returns (uint256 refund) {
        Job storage job = _jobs[jobId];
        if (job.status != JobStatus.Active) revert JobNotActive(jobId);
        if (msg.sender != job.researcher) revert NotResearcher(jobId, msg.sender);
        bool cancelled = job.roundsClosed < job.rounds && block.timestamp <= job.deadline;
        // A started round's reward is locked until the round closes or expires, deadline or not.
        if (IRoundState(roundRewards).roundInProgress(jobId)) revert RoundInProgress(jobId, job.roundsClosed);
        _checkStakeFree(jobId);
        refund = job.escrow;
        uint256 stake = job.stake;
        job.status = JobStatus.Settled;
        job.escrow = 0;
        job.stake = 0;
        job.rewardToken.safeTransfer(job.researcher, refund + stake);
        emit JobSettled(jobId, refund, stake, cancelled);
    }

    /// @notice Pays `amount` of the job's stake (at most what is left) to a contributor that proved
    /// the coordinator omitted its acknowledged masked input. Only the receipt challenge contract,
    /// which checks the challenge and its window.
    /// @param jobId the job
    /// @param to the harmed contributor's payout address
    /// @param amount what the challenge is owed
    /// @return paid what the stake paid
    function slashStake(uint256 jobId, address to, uint256 amount) external nonReentrant returns (uint256 paid) {
        if (msg.sender != receiptChallenges) revert NotReceiptChallenges(msg.sender);
        Job storage job = _jobs[jobId];
        paid = amount < job.stake ? amount : job.stake;
        if (paid == 0) return 0;
        job.stake -= uint128(paid);
        job.rewardToken.safeTransfer(to, paid);
        emit StakeSlashed(jobId, to, paid);
    }

    /// @notice Until when the job's stake stays for challenges of its last close (zero: free).
    /// @param jobId the job
    function stakeLockedUntil(uint256 jobId) public view returns (uint256) {
        uint256 closedAt = lastClosedAt[jobId];
        return closedAt == 0 || receiptChallenges == address(0) ? 0 : closedAt + challengeWindowSeconds;
    }

    /// @inheritdoc IJobRegistry
    function getJob(uint256 jobId) external view returns (Job memory) {
        return _jobs[jobId];
    }

    function _checkStakeFree(uint256 jobId) private view {
        uint256 until = stakeLockedUntil(jobId);
        if (block.timestamp <= until) revert StakeLocked(jobId, until);
    }

    function _pull(IERC20 token, address from, uint256 amount) private {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(from, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received != amount) revert UnsupportedToken(token, amount, received);
    }
}
