// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "./utils/Test.sol";
import {TroveToken} from "../src/TroveToken.sol";

contract TroveTokenTest is Test {
    TroveToken internal token;
    address internal minter = address(0x4D1);

    function setUp() public {
        vm.warp(1_700_000_000);
        token = new TroveToken(10_000e18, 1 days, 1_000e18, 4, minter);
    }

    function test_nothingExistsBeforeRelease() public view {
        vm.assertEq(token.totalSupply(), 0, "no premint");
        vm.assertEq(token.releasable(), 1_000e18, "epoch 0 unlocked");
    }

    function test_emissionHalvesEveryInterval() public view {
        vm.assertEq(token.epochEmission(0), 1_000e18, "epoch 0");
        vm.assertEq(token.epochEmission(3), 1_000e18, "epoch 3");
        vm.assertEq(token.epochEmission(4), 500e18, "first halving");
        vm.assertEq(token.epochEmission(8), 250e18, "second halving");
        vm.assertEq(token.cumulativeEmission(6), 5_000e18, "4 * 1000 + 2 * 500");
        vm.assertEq(token.scheduleTotal(), token.cumulativeEmission(type(uint64).max), "schedule total is the limit");
    }

    function test_releaseMintsOnlyWhatIsUnlocked() public {
        vm.prank(minter);
        vm.assertEq(token.release(), 1_000e18, "epoch 0");
        vm.prank(minter);
        vm.assertEq(token.release(), 0, "nothing new in the same epoch");
        vm.warp(block.timestamp + 5 days);
        vm.prank(minter);
        vm.assertEq(token.release(), 4_000e18, "epochs 1..3 at 1000, 4..5 at 500");
        vm.assertEq(token.balanceOf(minter), 5_000e18, "all to the minter");
    }

    function test_onlyMinterReleases() public {
        vm.expectRevert(abi.encodeWithSelector(TroveToken.NotMinter.selector, address(this)));
        token.release();
    }

    function test_theMinterIsFixedAtConstruction() public {
        vm.assertEq(token.minter(), minter, "the constructor's minter");
        (bool ok,) = address(token).call(abi.encodeWithSignature("setMinter(address)", address(0xBAD)));
        vm.assertFalse(ok, "no function can change it");
        vm.expectRevert(TroveToken.ZeroAddress.selector);
        new TroveToken(10_000e18, 1 days, 1_000e18, 4, address(0));
    }

    function test_scheduleAboveCapIsRefused() public {
        // 1000 * 4 * (1 + 1/2 + ...) is just under 8000: a cap of 7000 cannot hold it
        uint256 total = token.scheduleTotal();
        vm.assertLe(total, 8_000e18, "geometric bound");
        vm.assertGe(total, 7_999e18, "close to it");
        vm.expectRevert(abi.encodeWithSelector(TroveToken.ScheduleExceedsCap.selector, total, 7_000e18));
        new TroveToken(7_000e18, 1 days, 1_000e18, 4, minter);
    }

    function test_permitApprovesBySignature() public {
        uint256 ownerKey = 0xA11CE;
        address owner = vm.addr(ownerKey);
        address spender = address(0x5E);
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                owner,
                spender,
                123,
                token.nonces(owner),
                deadline
            )
        );
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(ownerKey, digest);
        token.permit(owner, spender, 123, deadline, v, r, s);
        vm.assertEq(token.allowance(owner, spender), 123, "allowance set");
        vm.assertEq(token.nonces(owner), 1, "nonce used");
    }

    /// For any schedule the constructor accepts, no amount of time lets supply pass the cap.
    function testFuzz_scheduleNeverExceedsCap(uint256 emission, uint256 interval, uint256 elapsedEpochs) public {
        emission = bound(emission, 1, 1e30);
        interval = bound(interval, 1, 10_000);
        uint256 cap = 2 * emission * interval;
        TroveToken t = new TroveToken(cap, 1 hours, emission, interval, address(this));
        uint256 epochs = bound(elapsedEpochs, 0, 4_000_000);
        t.release();
        vm.warp(block.timestamp + epochs * 1 hours);
        t.release();
        vm.assertLe(t.totalSupply(), cap, "supply within cap");
        vm.assertLe(t.scheduleTotal(), cap, "schedule within cap");
        vm.assertEq(t.totalSupply(), t.cumulativeEmission(epochs + 1), "exactly the schedule");
        vm.warp(block.timestamp + 300 * interval * 1 hours);
        t.release();
        vm.assertEq(t.totalSupply(), t.scheduleTotal(), "eventually everything, never more");
    }

    /// Emission per epoch never increases.
    function testFuzz_emissionTapers(uint256 a, uint256 b) public view {
        a = bound(a, 0, 1e9);
        b = bound(b, a, 1e9);
        vm.assertGe(token.epochEmission(a), token.epochEmission(b), "non-increasing");
    }
}
