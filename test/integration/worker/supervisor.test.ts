// The worker runs in a real child process here: it is really killed, really hung and really
// made to exhaust its heap, and each time the next task must run on a fresh worker.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isTroveError, type TroveErrorCode } from '../../../common/errors.js';
import type { TaskProgress, WorkerTask } from '../../../common/worker-protocol.js';
import { NodeWorkerLauncher, type WorkerLauncher } from '../../../main/services/worker/launcher.js';
import { WorkerSupervisor, type SupervisorEvent } from '../../../main/services/worker/supervisor.js';
import { healthSpec, healthTable } from '../../fixtures/training-data.js';
import { testWorkerLauncher } from '../../helpers/worker.js';

const supervisors: WorkerSupervisor[] = [];

let launcher: WorkerLauncher;
beforeAll(async () => {
  launcher = await testWorkerLauncher();
});

function supervisor(events: SupervisorEvent[] = [], heartbeatTimeoutMs = 2_000): WorkerSupervisor {
  const s = new WorkerSupervisor({
    launcher,
    diagnostics: true,
    heartbeatTimeoutMs,
    defaultMemoryLimitMb: 512,
    onEvent: (e) => events.push(e),
  });
  supervisors.push(s);
  return s;
}

afterEach(async () => {
  await Promise.all(supervisors.splice(0).map((s) => s.stop()));
});

const echo = (value: unknown): WorkerTask => ({ kind: 'diagnostic', action: 'echo', value });

function trainTask(rows: number, epochs: number, batchSize = 64): WorkerTask {
  const table = healthTable(rows, 3);
  return { kind: 'train-local', spec: healthSpec({ epochs, batchSize }), globalWeights: null, data: { kind: 'inline', rows: table.rows } };
}

async function expectCode(p: Promise<unknown>, code: TroveErrorCode): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isTroveError(err), `expected a TroveError ${code}, got ${String(err)}`).toBe(true);
  expect((err as { code: string }).code).toBe(code);
}

describe('worker supervisor', () => {
  it('runs a local training step in the worker process and streams progress', async () => {
    // this one starts the worker from its TypeScript sources, as development runs do
    const s = new WorkerSupervisor({ launcher: new NodeWorkerLauncher(), defaultMemoryLimitMb: 512 });
    supervisors.push(s);
    const progress: TaskProgress[] = [];
    const result = await s.run(trainTask(2_000, 2), { onProgress: (p) => progress.push(p) });
    expect(result.kind).toBe('train-local');
    if (result.kind !== 'train-local') return;
    expect(result.step.update).toBeInstanceOf(Float32Array);
    expect(result.step.update.length).toBe(11 * 16 + 16 + 16 * 16 + 16 + 16 * 2 + 2);
    expect(result.step.exampleCount).toBeGreaterThan(1_000);
    expect(result.step.metrics.heldOutAccuracy).toBeGreaterThan(0.6);
    expect(result.step.backend.backend).toBe('wasm');
    expect(progress[0]).toMatchObject({ kind: 'backend' });
    expect(progress.filter((p) => p.kind === 'epoch')).toHaveLength(2);
    expect(progress.filter((p) => p.kind === 'batch').length).toBeGreaterThan(0);
  });

  it('reports a bad spec as a typed error and keeps the same worker for the next task', async () => {
    const s = supervisor();
    const bad = trainTask(100, 1) as Extract<WorkerTask, { kind: 'train-local' }>;
    const spec = healthSpec();
    spec.model.layers = [{ type: 'convolution' as 'dense', units: 2 }];
    await expectCode(s.run({ ...bad, spec }), 'INVALID_JOB_SPEC');
    const pid = s.workerPid;
    expect(await s.run(echo('still here'))).toEqual({ kind: 'diagnostic', value: 'still here' });
    expect(s.workerPid).toBe(pid);
  });

  it('survives the worker being killed mid-task and runs the next task on a new worker', async () => {
    const s = supervisor();
    let killed: number | undefined;
    const task = s.run(trainTask(5_000, 50), {
      onProgress: (p) => {
        if (p.kind === 'batch' && killed === undefined) {
          killed = s.workerPid;
          process.kill(killed!, 'SIGKILL');
        }
      },
    });
    await expectCode(task, 'WORKER_CRASHED');
    expect(await s.run(echo(1))).toEqual({ kind: 'diagnostic', value: 1 });
    expect(s.workerPid).not.toBe(killed);
  });

  it('reports a crash inside the worker and restarts it', async () => {
    const events: SupervisorEvent[] = [];
    const s = supervisor(events);
    await expectCode(s.run({ kind: 'diagnostic', action: 'crash' }), 'WORKER_CRASHED');
    expect(await s.run(echo('after crash'))).toEqual({ kind: 'diagnostic', value: 'after crash' });
    expect(events.filter((e) => e.kind === 'worker-started')).toHaveLength(2);
    expect(events.some((e) => e.kind === 'worker-exited' && e.code === 1)).toBe(true);
  });

  it('ends a hung worker when its heartbeat stops', async () => {
    const s = supervisor();
    await expectCode(s.run({ kind: 'diagnostic', action: 'hang' }), 'WORKER_UNRESPONSIVE');
    expect(await s.run(echo('next'))).toEqual({ kind: 'diagnostic', value: 'next' });
  });

  it('reports a task that exhausts its memory limit and runs the next one', async () => {
    // a generous heartbeat deadline: V8 collects hard near the limit before it gives up
    const s = supervisor([], 30_000);
    await expectCode(s.run({ kind: 'diagnostic', action: 'exhaust-memory' }, { memoryLimitMb: 96 }), 'WORKER_OUT_OF_MEMORY');
    expect(await s.run(echo('next'))).toEqual({ kind: 'diagnostic', value: 'next' });
  });

  it('ends a worker whose memory outside the heap passes the task limit', async () => {
    // a generous heartbeat deadline: committing large buffers can stall a loaded machine
    const s = supervisor([], 30_000);
    const err = await s.run({ kind: 'diagnostic', action: 'exhaust-external-memory' }, { memoryLimitMb: 128, residentLimitMb: 600 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTroveError(err, 'WORKER_OUT_OF_MEMORY')).toBe(true);
    expect((err as { details: { residentMb: number } }).details.residentMb).toBeGreaterThan(600);
    expect(await s.run(echo('next'))).toEqual({ kind: 'diagnostic', value: 'next' });
  });

  it('measures a blocked worker from outside: memory grown without a heartbeat still ends the task', async () => {
    // a heartbeat deadline far beyond the test: only the outside measurement can end this task
    const s = supervisor([], 120_000);
    const err = await s.run({ kind: 'diagnostic', action: 'exhaust-memory-blocked' }, { memoryLimitMb: 128, residentLimitMb: 400 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTroveError(err, 'WORKER_OUT_OF_MEMORY'), String(err)).toBe(true);
    expect((err as { details: { residentMb: number } }).details.residentMb).toBeGreaterThan(400);
    expect(await s.run(echo('next'))).toEqual({ kind: 'diagnostic', value: 'next' });

    // Control: the same worker measured only by its own heartbeats is seen as silent, not as too big.
    const blind: WorkerLauncher = {
      launch: (o) => {
        const p = launcher.launch(o);
        return { get pid() { return p.pid; }, send: (m) => p.send(m), onMessage: (h) => p.onMessage(h), onExit: (h) => p.onExit(h), stderrTail: () => p.stderrTail(), kill: () => p.kill() };
      },
    };
    const heartbeatsOnly = new WorkerSupervisor({ launcher: blind, diagnostics: true, heartbeatTimeoutMs: 3_000, defaultMemoryLimitMb: 512 });
    supervisors.push(heartbeatsOnly);
    await expectCode(heartbeatsOnly.run({ kind: 'diagnostic', action: 'exhaust-memory-blocked' }, { memoryLimitMb: 128, residentLimitMb: 400 }), 'WORKER_UNRESPONSIVE');
  });

  it('stops a task at its time limit and runs the next one', async () => {
    const s = supervisor();
    let started = false;
    // 16k rows, 100 epochs through two layers of 256: minutes of work on any machine, far more than
    // fits in the limit (which leaves a fresh worker time to look for a GPU before training starts)
    const heavy: WorkerTask = {
      kind: 'train-local',
      spec: healthSpec({ epochs: 100, batchSize: 16, layers: [{ type: 'dense', units: 256, activation: 'relu' }, { type: 'dense', units: 256, activation: 'relu' }, { type: 'dense', units: 2, activation: 'softmax' }] }),
      globalWeights: null,
      data: { kind: 'inline', rows: healthTable(20_000, 3).rows },
    };
    await expectCode(s.run(heavy, { timeLimitMs: 4_000, onProgress: () => (started = true) }), 'TASK_TIMEOUT');
    expect(started).toBe(true);
    expect(await s.run(echo('next'))).toEqual({ kind: 'diagnostic', value: 'next' });
  });

  it('cancels a training task within one batch', async () => {
    const s = supervisor();
    const abort = new AbortController();
    const pid = await s.run(echo(0)).then(() => s.workerPid);
    const task = s.run(trainTask(20_000, 100, 16), {
      signal: abort.signal,
      onProgress: (p) => {
        if (p.kind === 'batch') abort.abort();
      },
    });
    const err = await task.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isTroveError(err, 'CANCELLED')).toBe(true);
    // the worker counts the batches that started after the cancel reached it
    expect((err as { details: { batchesAfterCancel: number } }).details.batchesAfterCancel).toBeLessThanOrEqual(1);
    // the worker stopped on its own: same process for the next task
    expect(await s.run(echo('next'))).toEqual({ kind: 'diagnostic', value: 'next' });
    expect(s.workerPid).toBe(pid);
  });

  it('fails the running and queued tasks when it is stopped', async () => {
    const s = supervisor();
    let stopping: Promise<void> | undefined;
    const running = s.run(trainTask(20_000, 100, 16), {
      onProgress: () => {
        stopping ??= s.stop();
      },
    });
    const queued = s.run(echo('never'));
    await expectCode(running, 'WORKER_STOPPED');
    await expectCode(queued, 'WORKER_STOPPED');
    await stopping;
    expect(s.workerPid).toBeUndefined();
  });
});
