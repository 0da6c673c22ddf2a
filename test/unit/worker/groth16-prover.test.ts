// The claim prover's Groth16 step: it adds only the change since the last witness to the sums it
// remembers, so a proof after another of the same person must verify with snarkjs's own verifier
// (what Semaphore's verifyProof calls) and with the real depth-20 key. Positive control: a prover
// whose remembered witness does not match its remembered sums makes a proof that verifier rejects.
import { readFileSync } from 'node:fs';
import { Group } from '@semaphore-protocol/group';
import { Identity } from '@semaphore-protocol/identity';
import { WitnessCalculatorBuilder } from 'circom_runtime';
import { keccak256, toBeHex } from 'ethers';
import { groth16, zKey } from 'snarkjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TREE_DEPTH, circuitArtifacts } from '../../../contracts/artifacts.js';
import { Groth16Prover } from '../../../worker/proofs/groth16-prover.js';

const members = ['ann', 'ben', 'cat', 'dan'].map((n) => new Identity(`groth16-prover-test-${n}`));
const group = new Group(members.map((m) => m.commitment));
const fieldHash = (v: bigint) => BigInt(keccak256(toBeHex(v, 32))) >> 8n;

let witnessOf: (who: Identity, message: bigint) => Promise<Uint8Array>;
let vkey: unknown;
let zkey: Uint8Array;

beforeAll(async () => {
  const artifacts = circuitArtifacts();
  const calculator = await WitnessCalculatorBuilder(new Uint8Array(readFileSync(artifacts.wasm)));
  zkey = new Uint8Array(readFileSync(artifacts.zkey));
  vkey = await zKey.exportVerificationKey(artifacts.zkey);
  witnessOf = (who, message) => {
    const merkle = group.generateMerkleProof(group.indexOf(who.commitment));
    const siblings = [...merkle.siblings];
    while (siblings.length < TREE_DEPTH) siblings.push(0n);
    return calculator.calculateWTNSBin({
      secret: who.secretScalar,
      merkleProofLength: merkle.siblings.length,
      merkleProofIndex: merkle.index,
      merkleProofSiblings: siblings,
      scope: fieldHash(9n),
      message: fieldHash(message),
    });
  };
});

const verifies = async (p: Awaited<ReturnType<Groth16Prover['prove']>>) => groth16.verify(vkey as never, p.publicSignals, p.proof as never);

describe('Groth16 prover with remembered sums', () => {
  it('makes a first proof and a following one from the change alone, both accepted by the verifier', async () => {
    const prover = await Groth16Prover.load(zkey);
    const first = await prover.prove(await witnessOf(members[1]!, 1n));
    expect(await verifies(first)).toBe(true);
    // same person, another message: only the message's and scope's part of the witness changes
    const next = await prover.prove(await witnessOf(members[1]!, 2n));
    expect(await verifies(next)).toBe(true);
    expect(next.publicSignals).not.toEqual(first.publicSignals);

    // positive control: sums that no longer match the remembered witness give a proof the verifier rejects
    const state = prover as unknown as { last: { witness: Uint8Array } };
    state.last.witness[64 * 32] = state.last.witness[64 * 32]! ^ 1;
    expect(await verifies(await prover.prove(await witnessOf(members[1]!, 3n)))).toBe(false);
  }, 120_000);

  it('refuses a witness of another size, in words', async () => {
    const prover = await Groth16Prover.load(zkey);
    const wtns = (await witnessOf(members[0]!, 1n)).slice();
    new DataView(wtns.buffer).setUint32(12 + 12 + 4 + 32, 7, true);
    await expect(prover.prove(wtns)).rejects.toThrow(/the witness has 7 values/);
  });
});
