// With its own timers, the coordinator closes a stage on its deadline without being told: a
// contributor that goes silent after sharing its keys holds the round up only until then.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roundVectorLength } from '../../common/jobs/document.js';
import { Contributor, startRig, SLEEP_MOOD_JOB, type CoordinatorRig, type Storage } from './fixtures.js';

describe.each<Storage>(['sqlite', 'postgres'])('coordinator timers on %s', (storage) => {
  let rig: CoordinatorRig;
  const START_DELAY_MS = 60_000;

  beforeAll(async () => {
    rig = await startRig({}, { timers: true, startDelayMs: START_DELAY_MS }, storage);
  });
  afterAll(async () => {
    await rig?.close();
  });

  it('closes the masked-input stage on its deadline and finishes the round with the rest', async () => {
    // The stage must end by its own timer (one contributor never sends), yet leave the four honest
    // ones time to send on two busy cores: the test waits this long, on purpose.
    const deadlines = { advertiseKeysMs: 20_000, shareKeysMs: 20_000, collectMaskedInputsMs: 6_000, unmaskMs: 20_000 };
    const { jobId, document: doc } = await rig.publish({ rounds: 1, aggregation: { ...(SLEEP_MOOD_JOB.aggregation as object), deadlines } as never });
    const contributors = Array.from({ length: 5 }, (_, i) => new Contributor(rig.server.url, rig.clock.now, rig.enrollmentRef, `timer-${i}`));
    for (const c of contributors) await c.enroll(jobId);
    // Everyone is in before the start delay ends; then the round starts as it would on its own.
    // The wait says how many have joined and when the round opens, so the app can tell its person.
    const waiting = await rig.runner.roundInfo(jobId, contributors[0]!.keyHex);
    expect(waiting).toMatchObject({ state: 'waiting', nextRound: 0, enrolled: 5 });
    const startsIn = (waiting as { startsInMs: number | null }).startsInMs;
    expect(startsIn).toBeGreaterThan(0);
    expect(startsIn).toBeLessThanOrEqual(START_DELAY_MS);
    rig.clock.advance(START_DELAY_MS);
    await rig.runner.tick();
    const d = roundVectorLength(doc) - 1;
    const outcomes = await Promise.all(
      contributors.map((c, i) => c.runRound(jobId, doc, new Float64Array(d).fill(0.01 * (i + 1)), 100, { dropAfterSharing: i === 4 })),
    );
    await rig.runner.settled();
    // The fifth never sent its masked input, so only the stage's own timer can have closed it.
    expect(outcomes.map((o) => o.stage)).toEqual(['done', 'done', 'done', 'done', 'dropped']);
    expect((await rig.runner.status(jobId)).rounds[0]).toMatchObject({ stage: 'closed', invited: 5, included: 4 });
  });
});
