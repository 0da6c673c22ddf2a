// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {SemaphoreVerifier} from "@semaphore-protocol/contracts/base/SemaphoreVerifier.sol";
import {Test} from "./utils/Test.sol";
import {ISemaphoreBatchVerifier} from "../src/ISemaphoreBatchVerifier.sol";
import {SemaphoreBatchVerifier} from "../src/SemaphoreBatchVerifier.sol";

/// @dev The cheatcodes that read the proof fixtures the build makes.
interface FixtureFiles {
    function readFile(string calldata path) external view returns (string memory);
    function parseBytes(string calldata value) external pure returns (bytes memory);
}

/// @dev Real depth-20 Semaphore v4 proofs (made by `npm run build:contracts` into out/fixtures),
/// checked by the batch verifier and, proof by proof, by the official SemaphoreVerifier.
contract SemaphoreBatchVerifierTest is Test {
    uint256 internal constant DEPTH = 20;
    uint256 internal constant R = 21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 internal constant Q = 21888242871839275222246405745257275088696311157297823662689037894645226208583;
    string internal constant FIXTURES = "out/fixtures/semaphore-proofs-20.abi";

    SemaphoreVerifier internal official;
    SemaphoreBatchVerifier internal batch;
    uint256[8][] internal fixturePoints;
    uint256[4][] internal fixtureInputs;

    function setUp() public {
        official = new SemaphoreVerifier();
        batch = new SemaphoreBatchVerifier();
        FixtureFiles files = FixtureFiles(address(vm));
        (uint256[8][] memory points, uint256[4][] memory inputs) =
            abi.decode(files.parseBytes(files.readFile(FIXTURES)), (uint256[8][], uint256[4][]));
        vm.assertGe(points.length, 8, "the build made the proof fixtures");
        for (uint256 i = 0; i < points.length; ++i) {
            fixturePoints.push(points[i]);
            fixtureInputs.push(inputs[i]);
        }
    }

    // ---------------------------------------------------------------- building batches

    function officialVerdict(uint256[8] memory p, uint256[4] memory x, uint256 depth) internal view returns (bool) {
        return official.verifyProof([p[0], p[1]], [[p[2], p[3]], [p[4], p[5]]], [p[6], p[7]], x, depth);
    }

    /// @dev The first `n` fixtures, in order.
    function firstProofs(uint256 n) internal view returns (uint256[8][] memory points, uint256[4][] memory inputs) {
        points = new uint256[8][](n);
        inputs = new uint256[4][](n);
        for (uint256 i = 0; i < n; ++i) {
            points[i] = fixturePoints[i % fixturePoints.length];
            inputs[i] = fixtureInputs[i % fixtureInputs.length];
        }
    }

    function ecAdd(uint256 x1, uint256 y1, uint256 x2, uint256 y2) internal view returns (uint256 x, uint256 y) {
        (bool success, bytes memory out) = address(0x06).staticcall(abi.encode(x1, y1, x2, y2));
        require(success, "ecAdd");
        (x, y) = abi.decode(out, (uint256, uint256));
    }

    function allTrue(bool[] memory verdicts) internal pure returns (bool) {
        for (uint256 i = 0; i < verdicts.length; ++i) if (!verdicts[i]) return false;
        return true;
    }

    // ---------------------------------------------------------------- valid batches

    function test_everyFixtureIsValidForTheOfficialVerifier() public view {
        for (uint256 i = 0; i < fixturePoints.length; ++i) {
            vm.assertTrue(officialVerdict(fixturePoints[i], fixtureInputs[i], DEPTH), "fixture proof is valid");
        }
    }

    function test_acceptsEveryValidBatchFromOneToSixtyFour() public view {
        uint256[5] memory sizes = [uint256(1), 2, 4, 16, 64];
        for (uint256 s = 0; s < sizes.length; ++s) {
            (uint256[8][] memory points, uint256[4][] memory inputs) = firstProofs(sizes[s]);
            vm.assertTrue(batch.verifyProofs(points, inputs, DEPTH), "valid batch accepted");
            vm.assertTrue(allTrue(batch.verifyEach(points, inputs, DEPTH)), "every proof of a valid batch is valid");
        }
    }

    function testFuzz_acceptsAnyValidBatch(uint256 seed, uint256 size) public view {
        size = bound(size, 1, 24);
        uint256[8][] memory points = new uint256[8][](size);
        uint256[4][] memory inputs = new uint256[4][](size);
        for (uint256 i = 0; i < size; ++i) {
            uint256 k = uint256(keccak256(abi.encode(seed, i))) % fixturePoints.length;
            points[i] = fixturePoints[k];
            inputs[i] = fixtureInputs[k];
        }
        vm.assertTrue(batch.verifyProofs(points, inputs, DEPTH), "valid batch accepted");
    }

    function test_aSingleProofGetsTheOfficialVerdict() public view {
        (uint256[8][] memory points, uint256[4][] memory inputs) = firstProofs(1);
        vm.assertTrue(batch.verifyProofs(points, inputs, DEPTH), "single valid proof");
        vm.assertTrue(
            batch.verifyProof([points[0][0], points[0][1]], [[points[0][2], points[0][3]], [points[0][4], points[0][5]]], [points[0][6], points[0][7]], inputs[0], DEPTH),
            "the inherited official path still verifies a single proof"
        );
    }

    // ---------------------------------------------------------------- invalid batches

    function test_rejectsABatchWithOneForgedProofInAnySlot() public view {
        for (uint256 slot = 0; slot < 16; ++slot) {
            (uint256[8][] memory points, uint256[4][] memory inputs) = firstProofs(16);
            // A forged proof whose points are all on the curve: C is shifted by the generator.
            (points[slot][6], points[slot][7]) = ecAdd(points[slot][6], points[slot][7], 1, 2);
            vm.assertFalse(officialVerdict(points[slot], inputs[slot], DEPTH), "control: the official verifier rejects the forgery");
            vm.assertFalse(batch.verifyProofs(points, inputs, DEPTH), "batch with a forged proof rejected");
            bool[] memory verdicts = batch.verifyEach(points, inputs, DEPTH);
            for (uint256 i = 0; i < 16; ++i) vm.assertEq(verdicts[i], i != slot, "only the forged proof is invalid");
        }
    }

    function test_aProofOffTheCurveLeavesGasToJudgeTheOthers() public view {
        (uint256[8][] memory points, uint256[4][] memory inputs) = firstProofs(16);
        points[0][1] ^= 1; // A is no longer on the curve: the precompile fails and burns its gas
        vm.assertFalse(officialVerdict(points[0], inputs[0], DEPTH), "control: the official verifier rejects it");
        // A relayer's bounded budget: about what the sixteen single checks cost.
        bool[] memory verdicts = batch.verifyEach{gas: 8_000_000}(points, inputs, DEPTH);
        for (uint256 i = 0; i < 16; ++i) vm.assertEq(verdicts[i], i != 0, "only the broken proof is invalid");
    }

    function test_tooLittleGasIsRefusedNotAnsweredFalse() public view {
        (uint256[8][] memory points, uint256[4][] memory inputs) = firstProofs(16);
        // Control: a starved official verifier answers false for a valid proof.
        vm.assertFalse(
            official.verifyProof{gas: 200_000}([points[0][0], points[0][1]], [[points[0][2], points[0][3]], [points[0][4], points[0][5]]], [points[0][6], points[0][7]], inputs[0], DEPTH),
            "control: a starved single check says false"
        );
        try batch.verifyProofs{gas: 600_000}(points, inputs, DEPTH) returns (bool) {
            vm.assertTrue(false, "a starved batch check must not answer");
        } catch (bytes memory reason) {
            vm.assertTrue(bytes4(reason) == ISemaphoreBatchVerifier.NotEnoughGas.selector, "refused with NotEnoughGas");
        }
        points[3][0] ^= 1; // the fallback to single checks needs its gas too
        try batch.verifyEach{gas: 1_500_000}(points, inputs, DEPTH) returns (bool[] memory) {
            vm.assertTrue(false, "a starved verifyEach must not answer");
        } catch (bytes memory reason) {
            vm.assertTrue(bytes4(reason) == ISemaphoreBatchVerifier.NotEnoughGas.selector, "refused with NotEnoughGas");
        }
    }

    function testFuzz_aValidBatchIsNeverJudgedFalseForLackOfGas(uint256 size, uint256 gasGiven) public view {
        size = bound(size, 1, 16);
        gasGiven = bound(gasGiven, 100_000, 1_500_000);
        (uint256[8][] memory points, uint256[4][] memory inputs) = firstProofs(size);
        try batch.verifyProofs{gas: gasGiven}(points, inputs, DEPTH) returns (bool ok) {
            vm.assertTrue(ok, "a valid batch that is answered is answered true");
        } catch (bytes memory reason) {
            vm.assertTrue(bytes4(reason) == ISemaphoreBatchVerifier.NotEnoughGas.selector, "otherwise refused with NotEnoughGas");
        }
    }

    function testFuzz_verdictsAreNeverWrongForLackOfGas(uint256 bad, uint256 gasGiven) public view {
        bad = bound(bad, 0, 3);
        gasGiven = bound(gasGiven, 200_000, 2_500_000);
        (uint256[8][] memory points, uint256[4][] memory inputs) = firstProofs(4);
        inputs[bad][1] += 1;
        try batch.verifyEach{gas: gasGiven}(points, inputs, DEPTH) returns (bool[] memory verdicts) {
            for (uint256 i = 0; i < 4; ++i) vm.assertEq(verdicts[i], i != bad, "answered verdicts are right");
        } catch (bytes memory reason) {
            vm.assertTrue(bytes4(reason) == ISemaphoreBatchVerifier.NotEnoughGas.selector, "otherwise refused with NotEnoughGas");
        }
    }

    function test_rejectsTwoForgedProofsWhoseErrorsCancelInAPlainSum() public view {
        // The same valid proof twice, then C + G in one copy and C - G in the other: a sum with
        // equal weights would still balance, the random weights do not.
        (uint256[8][] memory points, uint256[4][] memory inputs) = firstProofs(2);
        for (uint256 k = 0; k < 8; ++k) points[1][k] = points[0][k];
        for (uint256 k = 0; k < 4; ++k) inputs[1][k] = inputs[0][k];
        vm.assertTrue(batch.verifyProofs(points, inputs, DEPTH), "control: the duplicated valid proof passes");
        (points[0][6], points[0][7]) = ecAdd(points[0][6], points[0][7], 1, 2);
        (points[1][6], points[1][7]) = ecAdd(points[1][6], points[1][7], 1, Q - 2);
        (uint256 sx, uint256 sy) = ecAdd(points[0][6], points[0][7], points[1][6], points[1][7]);
        (uint256 vx, uint256 vy) = ecAdd(fixturePoints[0][6], fixturePoints[0][7], fixturePoints[0][6], fixturePoints[0][7]);
        vm.assertTrue(sx == vx && sy == vy, "control: the forged C points sum to the valid sum");
        vm.assertFalse(batch.verifyProofs(points, inputs, DEPTH), "cancelling forgeries rejected");
    }

    function ecMul(uint256 x, uint256 y, uint256 k) internal view returns (uint256 rx, uint256 ry) {
        (bool success, bytes memory out) = address(0x07).staticcall(abi.encode(x, y, k));
        require(success, "ecMul");
        (rx, ry) = abi.decode(out, (uint256, uint256));
    }

    function test_weightsAreDrawnAfterTheBatchIsFixed() public view {
        // A forger who knew the weights in advance: with w_0 = 1 and w_1 as the contract derives
        // it for the honest batch, C_0 + w_1 G and C_1 - G keep w_0 C_0 + w_1 C_1 unchanged.
        (uint256[8][] memory points, uint256[4][] memory inputs) = firstProofs(2);
        bytes32 seed = keccak256(abi.encodePacked(points[0], points[1], inputs[0], inputs[1], DEPTH));
        uint256 w1 = uint256(keccak256(abi.encode(seed, uint256(1)))) % R;
        (uint256 gx, uint256 gy) = ecMul(1, 2, w1);
        (uint256 honestX, uint256 honestY) = ecMul(points[1][6], points[1][7], w1);
        (honestX, honestY) = ecAdd(points[0][6], points[0][7], honestX, honestY);

        (points[0][6], points[0][7]) = ecAdd(points[0][6], points[0][7], gx, gy);
        (points[1][6], points[1][7]) = ecAdd(points[1][6], points[1][7], 1, Q - 2);
        (uint256 forgedX, uint256 forgedY) = ecMul(points[1][6], points[1][7], w1);
        (forgedX, forgedY) = ecAdd(points[0][6], points[0][7], forgedX, forgedY);
        vm.assertTrue(forgedX == honestX && forgedY == honestY, "control: under the old weights the forgery balances");
        vm.assertFalse(officialVerdict(points[0], inputs[0], DEPTH) || officialVerdict(points[1], inputs[1], DEPTH), "control: both proofs are forged");
        // The forged batch hashes to a new seed, so its weights are new and the forgery fails.
        vm.assertFalse(batch.verifyProofs(points, inputs, DEPTH), "forgery built for stale weights rejected");
    }

    function test_rejectsAProofMovedToAnotherSlot() public view {
        (uint256[8][] memory points, uint256[4][] memory inputs) = firstProofs(8);
        (points[2], points[5]) = (points[5], points[2]);
        vm.assertFalse(batch.verifyProofs(points, inputs, DEPTH), "proofs swapped between slots rejected");
        bool[] memory verdicts = batch.verifyEach(points, inputs, DEPTH);
        for (uint256 i = 0; i < 8; ++i) vm.assertEq(verdicts[i], i != 2 && i != 5, "only the moved proofs are invalid");
        // Control: moving the public inputs along with the proof keeps the batch valid.
        (inputs[2], inputs[5]) = (inputs[5], inputs[2]);
        vm.assertTrue(batch.verifyProofs(points, inputs, DEPTH), "control: proof and inputs moved together");
    }

    function test_rejectsAChangedPublicInput() public view {
        for (uint256 j = 0; j < 4; ++j) {
            (uint256[8][] memory points, uint256[4][] memory inputs) = firstProofs(4);
            vm.assertTrue(batch.verifyProofs(points, inputs, DEPTH), "control: unchanged batch passes");
            inputs[3][j] += 1;
            vm.assertFalse(batch.verifyProofs(points, inputs, DEPTH), "input changed by one rejected");
            inputs[3][j] += R - 1; // the same residue, but not a field element
            vm.assertFalse(officialVerdict(points[3], inputs[3], DEPTH), "control: the official verifier refuses a non-field input");
            vm.assertFalse(batch.verifyProofs(points, inputs, DEPTH), "non-field input rejected");
        }
    }

    function test_rejectsAnotherDepthLikeTheOfficialVerifier() public view {
        (uint256[8][] memory points, uint256[4][] memory inputs) = firstProofs(2);
        vm.assertFalse(officialVerdict(points[0], inputs[0], DEPTH - 1), "control: official rejects the wrong depth");
        vm.assertFalse(batch.verifyProofs(points, inputs, DEPTH - 1), "wrong depth rejected");
    }

    function test_refusesBatchesOfTheWrongShape() public {
        (uint256[8][] memory points, uint256[4][] memory inputs) = firstProofs(2);
        uint256[4][] memory oneInput = new uint256[4][](1);
        oneInput[0] = inputs[0];
        vm.expectRevert(abi.encodeWithSelector(ISemaphoreBatchVerifier.BatchLengthMismatch.selector, 2, 1));
        batch.verifyProofs(points, oneInput, DEPTH);
        vm.expectRevert(ISemaphoreBatchVerifier.EmptyBatch.selector);
        batch.verifyProofs(new uint256[8][](0), new uint256[4][](0), DEPTH);
        vm.expectRevert(abi.encodeWithSelector(ISemaphoreBatchVerifier.UnsupportedDepth.selector, 0));
        batch.verifyEach(points, inputs, 0);
        vm.expectRevert(abi.encodeWithSelector(ISemaphoreBatchVerifier.UnsupportedDepth.selector, 33));
        batch.verifyProofs(points, inputs, 33);
    }

    // ---------------------------------------------------------------- against the official verifier

    /// @dev One tampering of a proof slot, chosen by `pick`; kinds 0 and 9 leave it valid.
    function tamper(uint256[8] memory p, uint256[4] memory x, uint256 pick) internal view {
        uint256 kind = pick % 10;
        uint256 other = (pick >> 8) % fixturePoints.length;
        uint256 j = (pick >> 16) % 4;
        if (kind == 1) p[(pick >> 24) % 8] ^= uint256(1) << ((pick >> 32) % 254);
        else if (kind == 2) (p[0], p[1]) = (fixturePoints[other][0], fixturePoints[other][1]);
        else if (kind == 3) (p[6], p[7]) = (fixturePoints[other][6], fixturePoints[other][7]);
        else if (kind == 4) (p[2], p[3], p[4], p[5]) = (fixturePoints[other][2], fixturePoints[other][3], fixturePoints[other][4], fixturePoints[other][5]);
        else if (kind == 5) p[1] = Q - p[1];
        else if (kind == 6) x[j] += 1 + (pick >> 40) % 3;
        else if (kind == 7) x[j] += R;
        else if (kind == 8) x[j] = fixtureInputs[other][j];
        else if (kind == 9) {
            for (uint256 k = 0; k < 8; ++k) p[k] = fixturePoints[other][k];
            for (uint256 k = 0; k < 4; ++k) x[k] = fixtureInputs[other][k];
        }
    }

    function testFuzz_sameVerdictAsTheOfficialVerifierOnEveryProof(uint256 seed, uint256 size) public view {
        size = bound(size, 1, 8);
        uint256[8][] memory points = new uint256[8][](size);
        uint256[4][] memory inputs = new uint256[4][](size);
        bool[] memory expected = new bool[](size);
        bool all = true;
        for (uint256 i = 0; i < size; ++i) {
            uint256 pick = uint256(keccak256(abi.encode(seed, i)));
            uint256 k = (pick >> 128) % fixturePoints.length;
            points[i] = fixturePoints[k];
            inputs[i] = fixtureInputs[k];
            // About half of the slots are tampered with.
            if ((pick >> 120) & 1 == 1) tamper(points[i], inputs[i], pick);
            expected[i] = officialVerdict(points[i], inputs[i], DEPTH);
            all = all && expected[i];
        }
        vm.assertEq(batch.verifyProofs(points, inputs, DEPTH), all, "batch verdict is the AND of the official verdicts");
        bool[] memory verdicts = batch.verifyEach(points, inputs, DEPTH);
        for (uint256 i = 0; i < size; ++i) vm.assertEq(verdicts[i], expected[i], "each verdict is the official verdict");
    }

    function testFuzz_singleTamperedProofGetsTheOfficialVerdict(uint256 pick) public view {
        uint256 k = (pick >> 128) % fixturePoints.length;
        uint256[8][] memory points = new uint256[8][](1);
        uint256[4][] memory inputs = new uint256[4][](1);
        points[0] = fixturePoints[k];
        inputs[0] = fixtureInputs[k];
        tamper(points[0], inputs[0], pick);
        vm.assertEq(batch.verifyProofs(points, inputs, DEPTH), officialVerdict(points[0], inputs[0], DEPTH), "same verdict");
    }
}
