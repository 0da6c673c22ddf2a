// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Capped} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Capped.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title TroveToken
/// @notice The reward token. Nothing is minted up front: supply appears only through a public
/// emission schedule that unlocks `initialEpochEmission` per epoch and halves it every
/// `halvingInterval` epochs. The whole schedule is checked against the cap at deployment.
contract TroveToken is ERC20Capped, ERC20Permit {
    /// @notice Start of epoch 0 (unix seconds).
    uint256 public immutable genesis;
    /// @notice Length of one epoch in seconds.
    uint256 public immutable epochLength;
    /// @notice Tokens unlocked in each epoch of the first halving period.
    uint256 public immutable initialEpochEmission;
    /// @notice Number of epochs after which the per-epoch emission halves.
    uint256 public immutable halvingInterval;

    /// @notice The only account that may release emissions (the round rewards contract), fixed at
    /// construction: no one, the deployer included, can point the emissions anywhere else later.
    address public immutable minter;
    /// @notice Total minted so far through the schedule.
    uint256 public totalEmitted;

    /// @notice The schedule's parameters are unusable (zero epoch length, interval or emission).
    error InvalidSchedule();
    /// @notice The schedule could mint more than the cap in total.
    error ScheduleExceedsCap(uint256 scheduleTotal, uint256 cap);
    /// @notice Only the minter may release emissions.
    error NotMinter(address caller);
    /// @notice The zero address is not a valid minter.
    error ZeroAddress();

    /// @notice `amount` new tokens were minted to the minter, up to `epoch` inclusive.
    event EmissionReleased(address indexed minter, uint256 amount, uint256 epoch);

    /// @param cap_ hard cap on total supply
    /// @param epochLength_ seconds per epoch
    /// @param initialEpochEmission_ tokens per epoch before the first halving
    /// @param halvingInterval_ epochs per halving period
    /// @param minter_ the round rewards contract (deployed next: its address is known in advance)
    constructor(uint256 cap_, uint256 epochLength_, uint256 initialEpochEmission_, uint256 halvingInterval_, address minter_)
        ERC20("Trove", "TROVE")
        ERC20Capped(cap_)
        ERC20Permit("Trove")
    {
        if (epochLength_ == 0 || initialEpochEmission_ == 0 || halvingInterval_ == 0) revert InvalidSchedule();
        if (minter_ == address(0)) revert ZeroAddress();
        minter = minter_;
        genesis = block.timestamp;
        epochLength = epochLength_;
        initialEpochEmission = initialEpochEmission_;
        halvingInterval = halvingInterval_;
        uint256 total = scheduleTotal();
        if (total > cap_) revert ScheduleExceedsCap(total, cap_);
    }

    /// @notice Mints everything the schedule has unlocked so far to the minter.
    /// @return amount the tokens minted by this call (zero when nothing new is unlocked)
    function release() external returns (uint256 amount) {
        if (msg.sender != minter) revert NotMinter(msg.sender);
        uint256 epoch = currentEpoch();
        amount = cumulativeEmission(epoch + 1) - totalEmitted;
        if (amount == 0) return 0;
        totalEmitted += amount;
        _mint(msg.sender, amount);
        emit EmissionReleased(msg.sender, amount, epoch);
    }

    /// @notice The epoch that `block.timestamp` falls in.
    function currentEpoch() public view returns (uint256) {
        return (block.timestamp - genesis) / epochLength;
    }

    /// @notice Tokens the schedule unlocks in epoch `epoch`.
    /// @param epoch zero-based epoch index
    function epochEmission(uint256 epoch) public view returns (uint256) {
        uint256 period = epoch / halvingInterval;
        return period >= 256 ? 0 : initialEpochEmission >> period;
    }

    /// @notice Tokens unlocked in epochs [0, epochs).
    /// @param epochs number of epochs from genesis
    function cumulativeEmission(uint256 epochs) public view returns (uint256 total) {
        uint256 fullPeriods = epochs / halvingInterval;
        uint256 perEpoch = initialEpochEmission;
        for (uint256 i = 0; i < fullPeriods && perEpoch != 0; ++i) {
            total += perEpoch * halvingInterval;
            perEpoch >>= 1;
        }
        if (perEpoch != 0) total += perEpoch * (epochs % halvingInterval);
    }

    /// @notice Everything the schedule will ever mint.
    function scheduleTotal() public view returns (uint256 total) {
        for (uint256 perEpoch = initialEpochEmission; perEpoch != 0; perEpoch >>= 1) {
            total += perEpoch * halvingInterval;
        }
    }

    /// @notice Tokens unlocked but not yet minted.
    function releasable() external view returns (uint256) {
        return cumulativeEmission(currentEpoch() + 1) - totalEmitted;
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Capped) {
        super._update(from, to, value);
    }
}
