// The worker's claim proof: a real Semaphore v4 proof made in a real worker process with the
// circuit kept loaded between proofs. Each proof must verify with the official verifier and
// carry the nullifier the library's own generateProof gives for the same identity and scope
// (the contract's nullifier set depends on it).
import { Group } from '@semaphore-protocol/group';
import { Identity } from '@semaphore-protocol/identity';
import { generateProof, verifyProof } from '@semaphore-protocol/proof';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TREE_DEPTH, circuitArtifacts } from '../../../contracts/artifacts.js';
import { isTroveError } from '../../../common/errors.js';
import type { ClaimProof, TaskProgress } from '../../../common/worker-protocol.js';
import { WorkerSupervisor } from '../../../main/services/worker/supervisor.js';
import { testWorkerLauncher } from '../../helpers/worker.js';

const members = ['alice', 'bob', 'carol'].map((n) => new Identity(`claim-proof-test-${n}`));
const group = new Group(members.map((m) => m.commitment));
const scope = 77n;

let supervisor: WorkerSupervisor;
beforeAll(async () => {
  supervisor = new WorkerSupervisor({ launcher: await testWorkerLauncher(), defaultMemoryLimitMb: 1024 });
});
afterAll(async () => {
  await supervisor.stop();
});

async function prove(identity: Identity, message: bigint, progress: TaskProgress[] = []) {
  const result = await supervisor.run(
    { kind: 'prove-claim', identity: identity.export(), group: group.members.map(String), message: message.toString(), scope: scope.toString(), depth: TREE_DEPTH, artifacts: circuitArtifacts() },
    { onProgress: (p) => progress.push(p) },
  );
  if (result.kind !== 'prove-claim') throw new Error(`unexpected result ${result.kind}`);
  return result;
}

const asLibraryProof = (p: ClaimProof) => ({ ...p, points: p.points as unknown as Parameters<typeof verifyProof>[0]['points'] });

describe('claim proofs in the worker', () => {
  it('makes proofs the official verifier accepts, loading the circuit once', async () => {
    const coldProgress: TaskProgress[] = [];
    const cold = await prove(members[1]!, 1234n, coldProgress);
    expect(cold.warm).toBe(false);
    expect(coldProgress.map((p) => (p.kind === 'proof' ? p.stage : p.kind))).toEqual(['loading-circuit', 'witness', 'proving']);
    expect(await verifyProof(asLibraryProof(cold.proof))).toBe(true);
    expect(cold.proof.merkleTreeRoot).toBe(group.root.toString());

    const warmProgress: TaskProgress[] = [];
    const warm = await prove(members[2]!, 99n, warmProgress);
    expect(warm.warm).toBe(true);
    expect(warmProgress.some((p) => p.kind === 'proof' && p.stage === 'loading-circuit')).toBe(false);
    expect(await verifyProof(asLibraryProof(warm.proof))).toBe(true);

    // positive control: the verifier this test relies on rejects a proof bound to another message
    expect(await verifyProof(asLibraryProof({ ...warm.proof, message: '100' }))).toBe(false);
  }, 120_000);

  it('gives the same nullifier as the library for the same identity and scope', async () => {
    const ours = await prove(members[0]!, 5n);
    const library = await generateProof(members[0]!, group, 6n, scope, TREE_DEPTH, circuitArtifacts());
    expect(ours.proof.nullifier).toBe(String(library.nullifier));
  }, 120_000);

  it('refuses an identity outside the group, in words', async () => {
    const outsider = new Identity('claim-proof-test-outsider');
    const err = await prove(outsider, 1n).catch((e: unknown) => e);
    expect(isTroveError(err, 'INVALID_INPUT')).toBe(true);
    expect((err as Error).message).toMatch(/not in the round's group/);
  }, 60_000);
});
