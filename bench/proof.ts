// Claim proof time: the app's worker (circuit kept loaded between proofs, sums of the last witness
// remembered) against a bare @semaphore-protocol/proof generateProof call (reads the files,
// compiles the circuit, parses the proving key and sums the whole witness each time), in the same
// run, the same inputs on both sides. Cold is each side's first proof (for the worker,
// its process start included); warm is the median of the repeats after it: one person's claims of
// several rounds, each round its own scope (so its own nullifier), one message (recipient, relayer,
// fee). Once more at the end, a warm proof for another member: another secret and Merkle path, so
// about a third of the witness changes. Target: a warm proof in the worker takes at most half a
// bare call.
//
//   npm run bench:proof [-- --repeat 5]
import { Group } from '@semaphore-protocol/group';
import { Identity } from '@semaphore-protocol/identity';
import { generateProof } from '@semaphore-protocol/proof';
import { curves } from 'snarkjs';
import { TREE_DEPTH, circuitArtifacts } from '../contracts/artifacts.js';
import type { WorkerTask } from '../common/worker-protocol.js';
import { bundledWorkerLauncher } from '../main/cli/worker-bundle.js';
import { WorkerSupervisor } from '../main/services/worker/supervisor.js';
import { median } from './median.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const REPEAT = arg('repeat', 5);

const members = Array.from({ length: 16 }, (_, i) => new Identity(`bench-proof-${i}`));
const group = new Group(members.map((m) => m.commitment));
const me = members[3]!;
const artifacts = circuitArtifacts();
const MESSAGE = 7n;
/** Each claim's scope: one per round. */
const scope = (round: number) => 42n + BigInt(round);

const task = (round: number, who = me): WorkerTask => ({
  kind: 'prove-claim',
  identity: who.export(),
  group: group.members.map(String),
  message: MESSAGE.toString(),
  scope: scope(round).toString(),
  depth: TREE_DEPTH,
  artifacts,
});

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

const supervisor = new WorkerSupervisor({ launcher: await bundledWorkerLauncher(), defaultMemoryLimitMb: 1024 });
try {
  const workerCold = await timed(() => supervisor.run(task(0)));
  const bareCold = await timed(() => generateProof(me, group, MESSAGE, scope(0), TREE_DEPTH, artifacts));
  const worker: number[] = [];
  const bare: number[] = [];
  // Interleaved, so a busy moment of the machine falls on both sides alike.
  for (let i = 1; i <= REPEAT; i++) {
    worker.push(await timed(() => supervisor.run(task(i))));
    bare.push(await timed(() => generateProof(me, group, MESSAGE, scope(i), TREE_DEPTH, artifacts)));
  }
  const other = await timed(() => supervisor.run(task(REPEAT + 1, members[9]!)));
  const w = median(worker);
  const b = median(bare);
  console.log(`depth-${TREE_DEPTH} Semaphore claim proof, ${REPEAT} warm repeats each`);
  console.log(`  app worker      cold ${workerCold.toFixed(0)} ms (process start included)   warm median ${w.toFixed(0)} ms`);
  console.log(`  app worker, another member after them: ${other.toFixed(0)} ms (another secret and Merkle path)`);
  console.log(`  bare generateProof  cold ${bareCold.toFixed(0)} ms   warm median ${b.toFixed(0)} ms`);
  console.log(`  ratio warm worker / warm bare: ${(w / b).toFixed(2)}x (target <= 0.50x)`);
} finally {
  await supervisor.stop();
  // generateProof leaves snarkjs's curve threads running in this process: end them, or it never exits
  await (await curves.getCurveFromName('bn128')).terminate();
}
