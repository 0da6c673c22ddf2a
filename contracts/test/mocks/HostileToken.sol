// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @dev A reward token that, when armed, calls back into a target on every outgoing transfer
/// (the reentrancy a researcher could attempt by publishing a job paid in their own token).
/// The callback's revert is bubbled up, so a guarded target makes the whole transfer fail.
contract HostileToken is ERC20 {
    address public target;
    bytes public callbackData;

    constructor() ERC20("Hostile", "HOST") {}

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    function arm(address target_, bytes calldata data) external {
        target = target_;
        callbackData = data;
    }

    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        address t = target;
        if (t != address(0) && from == t) {
            target = address(0);
            (bool ok, bytes memory ret) = t.call(callbackData);
            if (!ok) {
                assembly {
                    revert(add(ret, 32), mload(ret))
                }
            }
        }
    }
}
