// Bounded secure-aggregation groups: a round's roster is cut into groups of at most the
// coordinator's group size and never below the job's minimum; each group runs and unmasks on its
// own, and the round's model is built from the sum of the groups' sums. A group that loses too
// many members is abandoned alone, and the round closes with the others. A contributor refuses a
// group that is smaller than the job's minimum or that does not hold it.
import { Group } from '@semaphore-protocol/group';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTroveError } from '../../common/errors.js';
import { roundVectorLength } from '../../common/jobs/document.js';
import { groupRoundIdFor, groupsFor, invitedGroup } from '../../common/jobs/groups.js';
import { roundIdFor, roundParamsFor } from '../../common/jobs/rounds.js';
import { initialWeights } from '../../common/model/weights.js';
import { NO_MODEL } from '../../common/secagg/params.js';
import { quantizationErrorBound } from '../../common/secagg/quantize.js';
import { loadSodium } from '../../common/secagg/sodium.js';
import { Contributor, maskedInputsAccepted, startRig, until, type CoordinatorRig, type Storage, expectedModel, updateFor } from './fixtures.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return isTroveError(err) ? err.code : String(err);
  }
}

describe('group layout', () => {
  it('cuts a roster into even contiguous groups of at most the group size, none below the minimum', () => {
    expect(groupsFor(10, 1000, 4)).toEqual([{ index: 0, start: 0, size: 10 }]);
    expect(groupsFor(2000, 500, 4).map((g) => g.size)).toEqual([500, 500, 500, 500]);
    expect(groupsFor(1001, 500, 4).map((g) => g.size)).toEqual([334, 334, 333]);
    // Three groups of 7 would leave groups of 2: two groups of 4 and 3 instead.
    expect(groupsFor(7, 3, 3).map((g) => [g.start, g.size])).toEqual([
      [0, 4],
      [4, 3],
    ]);
    for (const [n, size, min] of [[99, 10, 4], [8, 4, 4], [4096, 1000, 50], [1000, 8, 7]] as const) {
      const groups = groupsFor(n, size, min);
      expect(groups.reduce((s, g) => s + g.size, 0)).toBe(n);
      for (const g of groups) expect(g.size).toBeGreaterThanOrEqual(Math.min(n, min));
      for (const g of groups) expect(g.size).toBeLessThanOrEqual(size);
    }
    expect(codeOf(() => groupsFor(10, 3, 4))).toBe('INVALID_INPUT');
  });

  it('lets a contributor take part only in a group inside the roster, holding it, of at least the minimum', async () => {
    await loadSodium();
    const roster = Array.from({ length: 8 }, (_, i) => i.toString(16).padStart(64, '0'));
    const job = { chainId: '31337', jobId: '1', minContributors: 4 };
    const ok = invitedGroup({ round: 0, clientId: 5, roster, group: { index: 1, count: 2, start: 4, size: 4 } }, job);
    expect(ok.members).toEqual(roster.slice(4));
    expect(ok.localId).toBe(1);
    expect(ok.roundId).toEqual(groupRoundIdFor('31337', '1', 0, 1, 2));
    // Each group signs under its own round id, and one group of everyone keeps the round's id.
    expect(ok.roundId).not.toEqual(groupRoundIdFor('31337', '1', 0, 0, 2));
    expect(invitedGroup({ round: 0, clientId: 5, roster }, job).roundId).toEqual(roundIdFor('31337', '1', 0));
    // A group below the job's minimum, or one that does not hold this contributor, is refused.
    expect(codeOf(() => invitedGroup({ round: 0, clientId: 5, roster, group: { index: 1, count: 3, start: 5, size: 3 } }, job))).toBe('SECAGG_UNSAFE_REQUEST');
    expect(codeOf(() => invitedGroup({ round: 0, clientId: 5, roster, group: { index: 0, count: 2, start: 0, size: 4 } }, job))).toBe('COORDINATOR_PROTOCOL');
    expect(codeOf(() => invitedGroup({ round: 0, clientId: 5, roster, group: { index: 1, count: 2, start: 4, size: 5 } }, job))).toBe('COORDINATOR_PROTOCOL');
  });
});

describe.each<Storage>(['sqlite', 'postgres'])('secure-aggregation groups on %s', (storage) => {
  let rig: CoordinatorRig;

  beforeAll(async () => {
    rig = await startRig({}, { groupSize: 3 }, storage);
  });
  afterAll(async () => {
    await rig?.close();
  });

  async function run(dropAfterSharing: number | null) {
    const { jobId, document: doc } = await rig.publish({ rounds: 1, minContributors: 3 });
    const contributors = Array.from({ length: 7 }, (_, i) => new Contributor(rig.server.url, rig.clock.now, rig.enrollmentRef, `groups-${storage}-${dropAfterSharing}-${i}`));
    for (const c of contributors) await c.enroll(jobId);
    await rig.runner.tick();
    const info = await contributors[5]!.client.round(jobId, contributors[5]!.keys);
    expect(info).toMatchObject({ state: 'invited', clientId: 5, group: { index: 1, count: 2, start: 4, size: 3 } });
    const d = roundVectorLength(doc) - 1;
    const running = contributors.map((c, i) => c.runRound(jobId, doc, updateFor(i + 1, d), 50 + 40 * i, { dropAfterSharing: i === dropAfterSharing }));
    if (dropAfterSharing !== null) {
      await running[dropAfterSharing];
      await until(async () => (await maskedInputsAccepted(rig.store, jobId, 0)) === 6, 20_000, 'six masked inputs');
      // The first group finishes on its own; only then does the second's masked-input deadline pass.
      await until(async () => (await rig.store.groupOutcomes(jobId, 0)).some((o) => o.grp === 0), 30_000, 'the first group to finish');
      rig.clock.advance(doc.aggregation.deadlines.collectMaskedInputsMs + 1);
      await rig.runner.tick();
    }
    const outcomes = await Promise.all(running);
    await rig.runner.settled();
    // Messages went to two groups, each under its own round id.
    const groupsSeen = new Set((await rig.store.events(jobId, 0)).filter((e) => e.kind === 'message').map((e) => e.grp));
    expect([...groupsSeen].sort()).toEqual([0, 1]);
    return { jobId, doc, contributors, outcomes, d };
  }

  it('runs each group on its own and builds the model from the sum of the groups\' sums', { timeout: 180_000 }, async () => {
    const { jobId, doc, contributors, outcomes, d } = await run(null);
    expect(outcomes.map((o) => o.stage)).toEqual(Array(7).fill('done'));
    const summary = (await rig.runner.status(jobId)).rounds[0]!;
    expect(summary).toMatchObject({ stage: 'closed', invited: 7, included: 7, includedPositions: [0, 1, 2, 3, 4, 5, 6] });
    const start = initialWeights(doc.training.model, doc.training.local.seed);
    const model = await contributors[0]!.client.model(jobId, 1, contributors[0]!.keys, d);
    const expected = expectedModel(doc, start, outcomes.map((o) => o.input));
    const params = roundParamsFor(doc, roundIdFor(doc.chainId, jobId, 0), 3, NO_MODEL);
    const totalWeight = outcomes.reduce((s, o) => s + o.input[d]!, 0) / doc.aggregation.clipRange;
    const eb = 2 * quantizationErrorBound(params, 4);
    const bound = (eb * (1 + 1 / doc.aggregation.clipRange)) / (totalWeight - eb / doc.aggregation.clipRange);
    const worst = Math.max(...Array.from(model, (w, i) => Math.abs(w - expected[i]!)));
    expect(worst).toBeLessThanOrEqual(bound + 1e-6);
    // The control: one group's sum alone gives a model far from this one.
    const firstGroupOnly = expectedModel(doc, start, outcomes.slice(0, 4).map((o) => o.input));
    expect(Math.max(...Array.from(model, (w, i) => Math.abs(w - firstGroupOnly[i]!)))).toBeGreaterThan(100 * bound);
    const onChain = await rig.chain.at('RoundRewards', rig.chain.deployment.contracts.RoundRewards).getFunction('getRound')(BigInt(jobId), 0n);
    expect(BigInt(onChain.root)).toBe(new Group(contributors.map((c) => c.identity.commitment)).root);
  });

  it('abandons a group that falls below the minimum alone, and closes the round with the other group', { timeout: 180_000 }, async () => {
    const { jobId, contributors, outcomes } = await run(5);
    expect(outcomes.map((o) => o.stage)).toEqual(['done', 'done', 'done', 'done', 'aborted', 'dropped', 'aborted']);
    const summary = (await rig.runner.status(jobId)).rounds[0]!;
    expect(summary).toMatchObject({ stage: 'closed', invited: 7, included: 4, includedPositions: [0, 1, 2, 3] });
    const outcomesStored = await rig.store.groupOutcomes(jobId, 0);
    expect(outcomesStored.map((o) => o.stage)).toEqual(['done', 'aborted']);
    const onChain = await rig.chain.at('RoundRewards', rig.chain.deployment.contracts.RoundRewards).getFunction('getRound')(BigInt(jobId), 0n);
    expect(BigInt(onChain.root)).toBe(new Group(contributors.slice(0, 4).map((c) => c.identity.commitment)).root);
  });
});
