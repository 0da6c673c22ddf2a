// A round that cannot be closed on-chain (the chain is down, or none is configured) is retried
// with a growing, bounded delay, and every failure is logged and shown to the researcher: the
// coordinator neither hammers a dead chain nor fails silently.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Wallet } from 'ethers';
import { afterEach, describe, expect, it } from 'vitest';
import { parseJobDocument } from '../../common/jobs/document.js';
import { signJobDocument } from '../../common/jobs/signed-document.js';
import { closeRetryDelayMs } from '../../coordinator/closer.js';
import type { LogFields, LogLevel } from '../../coordinator/log.js';
import { RoundRunner } from '../../coordinator/rounds.js';
import { SqliteStore } from '../../coordinator/store-sqlite.js';
import { sleepMoodExample } from '../../main/cli/local-network.js';
import { SMALL_ROUNDS } from '../fixtures/small-rounds.js';

const BASE_MS = 1_000;
const MAX_MS = 8_000;

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A store holding one job whose round 0 has its outcome and waits to be closed on-chain. */
async function storeWithRoundToClose(t0: number): Promise<{ file: string; jobId: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'trove-close-retry-'));
  dirs.push(dir);
  const file = join(dir, 'coordinator.db');
  const researcher = Wallet.createRandom();
  const doc = parseJobDocument({
    ...sleepMoodExample(),
    ...SMALL_ROUNDS,
    researcher: { name: 'Test', address: researcher.address },
    coordinator: { url: 'http://127.0.0.1:1', address: Wallet.createRandom().address },
    chainId: '31337',
    reward: { token: Wallet.createRandom().address, symbol: 'T', decimals: 18, perRound: '1' },
    deadline: Math.floor(t0 / 1000) + 86_400,
  });
  const store = new SqliteStore(file);
  const runner = await RoundRunner.open({ store, timers: false, now: () => t0, log: () => undefined });
  await runner.addJob({ jobId: '1', specHash: `0x${'ab'.repeat(32)}`, signed: await signJobDocument(doc, researcher) });
  runner.close();
  await runner.settled();
  await store.transaction(async () => {
    await store.addRound('1', 0, ['aa', 'bb'], ['1', '2'], t0);
    await store.setRoundOutcome('1', 0, { included: [0, 1], validation: null, groupRoot: '5', groupSize: 2 });
  });
  await store.close();
  return { file, jobId: '1' };
}

describe('closing a round on-chain when the chain is not there', () => {
  it('doubles the delay after each failure, up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 50].map((a) => closeRetryDelayMs(a, BASE_MS, MAX_MS))).toEqual([1_000, 2_000, 4_000, 8_000, 8_000, 8_000, 8_000]);
  });

  it('retries only when the backed-off delay has passed, records each failure, and remembers the next try across a restart', async () => {
    let now = 1_700_000_000_000;
    const { file, jobId } = await storeWithRoundToClose(now);
    const logged: { level: LogLevel; event: string; fields?: LogFields }[] = [];
    const open = async () => {
      const store = new SqliteStore(file);
      // No chain: every close attempt fails with CHAIN_UNREACHABLE.
      const runner = await RoundRunner.open({ store, timers: false, now: () => now, closeRetryMs: BASE_MS, closeRetryMaxMs: MAX_MS, log: (level, event, fields) => logged.push({ level, event, fields }) });
      return { store, runner };
    };
    let { store, runner } = await open();
    const round = async () => (await store.round(jobId, 0))!;
    const attempts = async () => (await round()).closeAttempts;

    await runner.tick();
    await runner.settled();
    expect(await attempts()).toBe(1);
    expect(await round()).toMatchObject({ stage: 'closing', closeRetryAt: now + 1_000 });
    expect((await round()).closeError).toMatch(/no chain configured/);

    // Before the delay has passed nothing is tried; a millisecond later the same tick does.
    now += 999;
    await runner.tick();
    await runner.settled();
    expect(await attempts()).toBe(1);
    now += 1;
    await runner.tick();
    await runner.settled();
    expect(await attempts()).toBe(2);
    expect((await round()).closeRetryAt).toBe(now + 2_000);

    // A restart keeps the schedule: it does not retry at once.
    runner.close();
    await runner.settled();
    await store.close();
    ({ store, runner } = await open());
    await runner.tick();
    await runner.settled();
    expect(await attempts()).toBe(2);
    for (const wait of [2_000, 4_000, 8_000, 8_000]) {
      now += wait;
      await runner.tick();
      await runner.settled();
    }
    expect(await attempts()).toBe(6);
    expect((await round()).closeRetryAt).toBe(now + MAX_MS);
    expect((await round()).stage).toBe('closing');

    expect(logged.filter((l) => l.event === 'round-close-failed').map((l) => [l.level, l.fields?.attempt, l.fields?.retryInMs])).toEqual([
      ['error', 1, 1_000],
      ['error', 2, 2_000],
      ['error', 3, 4_000],
      ['error', 4, 8_000],
      ['error', 5, 8_000],
      ['error', 6, 8_000],
    ]);
    expect(logged.find((l) => l.event === 'round-close-failed')!.fields).toMatchObject({ jobId, round: 0 });
    runner.close();
    await runner.settled();
    await store.close();
  });
});
