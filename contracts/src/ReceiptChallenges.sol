// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ISemaphoreVerifier} from "@semaphore-protocol/contracts/interfaces/ISemaphoreVerifier.sol";
import {IJobRegistry} from "./IJobRegistry.sol";
import {RoundRewards} from "./RoundRewards.sol";

/// @title ReceiptChallenges
/// @notice The challenge of a round's close: a contributor whose masked input the coordinator
/// acknowledged with a signed receipt, but whose roster position the posted included list omits,
/// is paid from the researcher's stake.
///
/// The coordinator answers every masked input it accepts with an EIP-712 `MaskedInputReceipt`
/// (job, round, the frozen roster's hash, the contributor's enrolled commitment, a hash of the
/// masked input). `RoundRewards.closeRound` records when the round closed and a hash of the included
/// positions it was given; the registry keeps the job's stake until its last close's challenge
/// window has passed. During the window, the receipt, the contributor's roster position and the
/// posted list are enough to show the omission on-chain. The payout goes where the identity itself
/// says, with a Semaphore proof over its group of one (as at enrollment): the coordinator, which
/// can sign any receipt, cannot collect for the contributors it wrongs.
contract ReceiptChallenges is EIP712, ReentrancyGuardTransient {
    /// @notice The coordinator's acknowledgement of one masked input. Signed with EIP-712 under this
    /// contract's domain (name "Trove", version "1", chain id, this contract).
    struct MaskedInputReceipt {
        uint256 jobId;
        uint256 round;
        bytes32 rosterHash;
        uint256 commitment;
        bytes32 maskedInputHash;
    }

    /// @notice The identity's word on where its compensation goes: a Semaphore v4 proof over its
    /// group of one (root = commitment, depth CLAIMANT_DEPTH), scope challengeScopeOf(jobId, round),
    /// message keccak256(abi.encode(recipient)).
    struct ClaimantProof {
        uint256 nullifier;
        uint256[8] points;
    }

    /// @notice A challenge as submitted: the receipt and its signature, the contributor's roster
    /// position, the included positions exactly as the close posted them, the recipient of the
    /// compensation and the identity's proof that it chose it.
    struct Challenge {
        MaskedInputReceipt receipt;
        bytes signature;
        uint32 position;
        uint32[] included;
        address recipient;
        ClaimantProof proof;
    }

    bytes32 public constant RECEIPT_TYPEHASH =
        keccak256("MaskedInputReceipt(uint256 jobId,uint256 round,bytes32 rosterHash,uint256 commitment,bytes32 maskedInputHash)");
    /// @notice Depth of the claimant proof's group of one (the smallest the verifier accepts).
    uint256 public constant CLAIMANT_DEPTH = 1;
    /// @dev Sets challenge scopes apart from claim and enrollment scopes.
    bytes32 private constant CHALLENGE_PURPOSE = keccak256("trove-challenge");

    /// @notice Where jobs and their stakes live.
    IJobRegistry public immutable registry;
    /// @notice Where rounds are started and closed.
    RoundRewards public immutable rewards;
    /// @notice The official Semaphore verifier (its view function).
    ISemaphoreVerifier public immutable verifier;
    /// @notice How long after a round's close it can be challenged.
    uint32 public immutable challengeWindowSeconds;

    mapping(uint256 jobId => mapping(uint256 round => mapping(uint256 commitment => bool))) private _challenged;

    /// @notice A window of zero, or longer than a round's timeout (an expiry would wait on it).
    error InvalidChallengeWindow(uint256 seconds_);
    /// @notice The round has not been closed.
    error RoundNotClosed(uint256 jobId, uint256 round);
    /// @notice The round's challenge window ended at `until`.
    error ChallengeWindowClosed(uint256 jobId, uint256 round, uint256 until);
    /// @notice The receipt names another job, round or roster than the round challenged (a receipt
    /// of an earlier, restarted roster, or of another round or job).
    error ReceiptNotForRound(uint256 jobId, uint256 round);
    /// @notice The receipt is not signed by the job's coordinator.
    error InvalidReceipt(uint256 jobId, uint256 round, address signer);
    /// @notice The included list is not the one posted at the close.
    error IncludedListMismatch(uint256 jobId, uint256 round);
    /// @notice The roster position does not hold the receipt's commitment.
    error NotOnRoster(uint256 jobId, uint256 round, uint256 position);
    /// @notice The contributor is in the posted list: the close did not omit it.
    error ContributorIncluded(uint256 jobId, uint256 round, uint256 position);
    /// @notice This commitment has already challenged this round.
    error AlreadyChallenged(uint256 jobId, uint256 round, uint256 commitment);
    /// @notice The payout is not authorized by the receipt's identity (or goes to the zero address).
    error ChallengeNotAuthorized(uint256 jobId, uint256 round, uint256 commitment, address recipient);

    /// @notice A close was shown to omit an acknowledged masked input; `paid` of the stake went to `recipient`.
    event ReceiptChallenged(uint256 indexed jobId, uint256 indexed round, uint256 commitment, address recipient, uint256 owed, uint256 paid);

    /// @param registry_ the job registry (it must bind this contract)
    /// @param rewards_ the round rewards contract whose closes are challenged
    /// @param verifier_ the Semaphore verifier
    /// @param challengeWindowSeconds_ how long after a close it can be challenged (at most a round's timeout)
    constructor(IJobRegistry registry_, RoundRewards rewards_, ISemaphoreVerifier verifier_, uint32 challengeWindowSeconds_) EIP712("Trove", "1") {
        if (challengeWindowSeconds_ == 0 || challengeWindowSeconds_ > rewards_.roundTimeoutSeconds()) revert InvalidChallengeWindow(challengeWindowSeconds_);
        registry = registry_;
        rewards = rewards_;
        verifier = verifier_;
        challengeWindowSeconds = challengeWindowSeconds_;
    }

    /// @notice Shows that a closed round omitted a masked input its coordinator acknowledged, and pays
    /// the contributor from the researcher's stake: what the round's reward would have paid it as one
    /// more member, `rewardPerRound / (included + 1)`, plus its bond when it was forfeited (at most
    /// what is left of the stake). Anyone may submit it; the payout goes only where the identity's
    /// proof says.
    /// @param jobId the job
    /// @param round the round index
    /// @param c the receipt, its signature, the contributor's roster position, the posted list, and
    /// the identity's authorization of the recipient
    /// @return paid what the stake paid
    function challenge(uint256 jobId, uint256 round, Challenge calldata c) external nonReentrant returns (uint256 paid) {
        RoundRewards.Roster memory roster = rewards.rosterOf(jobId, round);
        if (roster.closedAt == 0) revert RoundNotClosed(jobId, round);
        uint256 until = roster.closedAt + challengeWindowSeconds;
        if (block.timestamp > until) revert ChallengeWindowClosed(jobId, round, until);
        MaskedInputReceipt calldata receipt = c.receipt;
        if (receipt.jobId != jobId || receipt.round != round || receipt.rosterHash != roster.hash) revert ReceiptNotForRound(jobId, round);
        IJobRegistry.Job memory job = registry.getJob(jobId);
        (address signer,,) = ECDSA.tryRecoverCalldata(receiptDigest(receipt), c.signature);
        if (signer == address(0) || signer != job.coordinator) revert InvalidReceipt(jobId, round, signer);
        if (keccak256(abi.encodePacked(c.included)) != roster.includedHash) revert IncludedListMismatch(jobId, round);
        bool bondForfeited = _omitted(jobId, round, receipt.commitment, c.position, c.included);

        uint256 commitment = receipt.commitment;
        if (_challenged[jobId][round][commitment]) revert AlreadyChallenged(jobId, round, commitment);
        if (c.recipient == address(0) || !_authorized(jobId, round, commitment, c.recipient, c.proof)) {
            revert ChallengeNotAuthorized(jobId, round, commitment, c.recipient);
        }
        _challenged[jobId][round][commitment] = true;

        uint256 owed = job.rewardPerRound / (c.included.length + 1);
        if (bondForfeited) owed += job.bondAmount;
        paid = registry.slashStake(jobId, c.recipient, owed);
        emit ReceiptChallenged(jobId, round, commitment, c.recipient, owed, paid);
    }

    /// @notice The EIP-712 digest the coordinator signs for a receipt.
    /// @param receipt the receipt
    function receiptDigest(MaskedInputReceipt calldata receipt) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(RECEIPT_TYPEHASH, receipt)));
    }

    /// @notice The Semaphore scope of a claimant proof for (jobId, round).
    /// @param jobId the job
    /// @param round the round index
    function challengeScopeOf(uint256 jobId, uint256 round) public view returns (uint256) {
        return uint256(keccak256(abi.encode(block.chainid, address(this), jobId, round, CHALLENGE_PURPOSE)));
    }

    /// @notice Whether `commitment` has challenged (jobId, round).
    /// @param jobId the job
    /// @param round the round index
    /// @param commitment the contributor's enrolled commitment
    function challenged(uint256 jobId, uint256 round, uint256 commitment) external view returns (bool) {
        return _challenged[jobId][round][commitment];
    }

    /// @dev Checks the roster position holds the commitment and the posted list leaves it out;
    /// returns whether its bond was forfeited.
    function _omitted(uint256 jobId, uint256 round, uint256 commitment, uint256 position, uint32[] calldata included) private view returns (bool) {
        uint32[] memory entries = rewards.rosterEntries(jobId, round);
        if (position >= entries.length) revert NotOnRoster(jobId, round, position);
        RoundRewards.Enrollment memory e = rewards.enrollmentOf(jobId, entries[position]);
        if (e.commitment != commitment) revert NotOnRoster(jobId, round, position);
        for (uint256 i = 0; i < included.length; ++i) {
            if (included[i] == position) revert ContributorIncluded(jobId, round, position);
        }
        return e.bond == RoundRewards.BondStatus.Forfeited;
    }

    /// @dev The identity's proof over its group of one that it sends its compensation to `recipient`.
    function _authorized(uint256 jobId, uint256 round, uint256 commitment, address recipient, ClaimantProof calldata proof) private view returns (bool) {
        uint256[8] calldata p = proof.points;
        uint256[4] memory signals =
            [commitment, proof.nullifier, _fieldHash(uint256(keccak256(abi.encode(recipient)))), _fieldHash(challengeScopeOf(jobId, round))];
        try verifier.verifyProof([p[0], p[1]], [[p[2], p[3]], [p[4], p[5]]], [p[6], p[7]], signals, CLAIMANT_DEPTH) returns (bool ok) {
            return ok;
        } catch {
            return false;
        }
    }

    /// @dev Semaphore's hash of a message or scope: keccak256 shifted into the SNARK field.
    function _fieldHash(uint256 value) private pure returns (uint256) {
        return uint256(keccak256(abi.encodePacked(value))) >> 8;
    }
}
