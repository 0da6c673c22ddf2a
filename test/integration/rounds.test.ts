// The product's core loop, whole: a researcher publishes the sleep-and-mood job on a local chain;
// ten contributors, each with a real vault of their own diary and a real worker process, discover
// it, check it and join; three rounds of secure aggregation run through the real coordinator over
// HTTP; two contributors' apps close in the middle of round 1 (after sharing their keys) and come
// back for round 2. Every round must close on-chain with exactly the group whose masked updates
// were summed, the global model must get better on the researcher's validation set, and the
// coordinator's database must never hold a contributor's unmasked update.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Group } from '@semaphore-protocol/group';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJobDocument, roundVectorLength, type JobDocument } from '../../common/jobs/document.js';
import { buildTrainingMatrix } from '../../common/model/features.js';
import { evaluateModel } from '../../common/model/evaluate.js';
import { readValidationCsv } from '../../common/model/csv.js';
import { initialWeights } from '../../common/model/weights.js';
import { sleepDiariesCsv, sleepDiaryCsv } from '../../common/samples/sleep-diary.js';
import { decodeMaskedInput, MessageType, readHeader } from '../../common/secagg/wire.js';
import { loadArtifact } from '../../contracts/artifacts.js';
import { startLocalNetwork, type Contributor, type LocalNetwork } from '../../main/cli/local-network.js';
import { SMALL_ROUNDS } from '../fixtures/small-rounds.js';
import { deriveJobIdentity } from '../../main/services/jobs/identity.js';
import { openPrivacyLedger } from '../../main/services/privacy/ledger.js';
import type { WorkerTask } from '../../common/worker-protocol.js';
import { testWorkerLauncher } from '../helpers/worker.js';
import { databaseBytes, findUnmasked, quantizedBytes } from '../helpers/unmasked-scan.js';
import { roundIdFor, roundParamsFor } from '../../common/jobs/rounds.js';
import { passMaskedInputDeadline, TestClock, until, type Storage } from '../coordinator/fixtures.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { Contract } from 'ethers';

const CONTRIBUTORS = 10;
/** A round start delay no test run reaches: the test opens each round itself. */
const ROUND_OPENS_BY_HAND_MS = 3_600_000;
const DROPPING = ['c3', 'c7'];
const DAYS = 200;

/** Other people's diaries: the researcher's own validation set. */
const validationCsv = (): string => sleepDiariesCsv([9001, 9002, 9003], 150);

describe.each<Storage>(['sqlite', 'postgres'])('federated rounds end to end, the coordinator on %s', (storage) => {
  let dir: string;
  let postgres: PostgresServer | undefined;
  let net: LocalNetwork;
  let jobId: string;
  let doc: JobDocument;
  const people = new Map<string, Contributor>();
  const commitments = new Map<string, string>();
  const signingKeys = new Map<string, string>();
  const clock = new TestClock();
  /** Every update a worker handed back, before noise and masking: none may reach the coordinator. */
  const rawUpdates: Float32Array[] = [];

  async function addPerson(name: string, seed: number): Promise<Contributor> {
    const person = await net.addContributor(name, sleepDiaryCsv(seed, DAYS), {
      launcher: await testWorkerLauncher(),
      jobs: { participation: { backoffMs: () => 200, maxPollMs: 250, inboxWaitMs: 2_000, uploadSpreadMs: 500 } },
    });
    // These contributors allow a larger privacy budget than the default, for the job below.
    await (await openPrivacyLedger(person.vault)).setBudget({ epsilon: 50, delta: 1e-5 });
    // Watch what the real worker returns; the value is passed on untouched.
    const run = person.supervisor.run.bind(person.supervisor);
    person.supervisor.run = async (task: WorkerTask, options) => {
      const result = await run(task, options);
      if (result.kind === 'train-local') rawUpdates.push(result.step.update.slice());
      return result;
    };
    people.set(name, person);
    return person;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'trove-rounds-'));
    if (storage === 'postgres') postgres = await startPostgres();
    // Rounds open only when the test says (openNextRound): who is in a round must not depend on how long joining took on a busy machine.
    net = await startLocalNetwork({ dir, roundStartDelayMs: ROUND_OPENS_BY_HAND_MS, database: postgres?.url, jobDefaults: SMALL_ROUNDS, now: clock.now });
    const published = await net.publish(
      {
        // At the example's noise multiplier of 1 (epsilon 9 over three rounds) and only ten
        // contributors, a round's noise is larger than its signal: the model does not surely improve
        // within three rounds. A multiplier of 0.3 (epsilon 43) makes the test's claim (the model
        // gets better) hold without changing anything it exercises. Every bit of the charged noise
        // is in the sum (weighted before noising, no clamping after it).
        privacy: { noiseMultiplier: 0.3, delta: 1e-5 },
        minContributors: 6,
        aggregation: {
          clipRange: 4,
          maxExamples: 366,
          serverLearningRate: 1,
          deadlines: { advertiseKeysMs: 30_000, shareKeysMs: 30_000, collectMaskedInputsMs: 30_000, unmaskMs: 30_000 },
        },
      },
      validationCsv(),
    );
    jobId = published.jobId;
    doc = published.document;
    for (let i = 0; i < CONTRIBUTORS; i++) await addPerson(`c${i}`, 100 + i);
    for (const [name, person] of people) {
      const identity = await deriveJobIdentity(person.vault, { chainId: net.jobsChain.chainId, registry: net.jobsChain.registry, jobId });
      commitments.set(name, identity.semaphore.commitment.toString());
      signingKeys.set(name, identity.signingKeyHex);
    }
  }, 120_000);

  afterAll(async () => {
    await net?.close();
    postgres?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Opens round `round` once the coordinator has scheduled it: the coordinator's clock is moved to
   * the end of its start delay, which is far longer than the test, so it never ends by itself.
   */
  async function openNextRound(round: number): Promise<void> {
    let startsInMs = 0;
    await until(
      async () => {
        const info = await net.runner.roundInfo(jobId, signingKeys.get('c0')!);
        if (info.state !== 'waiting' || info.nextRound !== round || info.startsInMs === null) return false;
        startsInMs = info.startsInMs;
        return true;
      },
      150_000,
      `round ${round + 1} to be scheduled`,
    );
    clock.advance(startsInMs + 1);
    await net.runner.tick();
  }

  it('runs three rounds with two dropouts, closes each on-chain with its group, and the model improves', async () => {
    // Everyone joins through the same discovery, checks and consent as the app, at about the same
    // time; the first round opens once all have joined.
    await Promise.all([...people.values()].map((person) => person.join(jobId)));

    // Two apps close once they have shared their keys in round 1, and reopen for round 2.
    const dropped = new Set<string>();
    for (const name of DROPPING) {
      const participation = people.get(name)!.jobs.participation(jobId)!;
      participation.on('progress', (p) => {
        // Its keys and shares are out and its masked input is about to go: closing now makes it a dropout the others must unmask around.
        if (p.round === 1 && p.step === 'uploading' && !dropped.has(name)) {
          dropped.add(name);
          void people.get(name)!.jobs.stop();
        }
      });
    }
    await openNextRound(0);
    await openNextRound(1);
    // Once the eight others' masked inputs are in, the stage waits only for the two who left: its deadline is passed at once.
    await passMaskedInputDeadline(net, clock, { jobId, round: 1, watcher: signingKeys.get('c0')!, expected: CONTRIBUTORS - DROPPING.length });
    await until(async () => ['closed', 'aborted'].includes((await net.store.round(jobId, 1))?.stage ?? ''), 150_000, 'round 1 to end');
    expect([...dropped].sort()).toEqual(DROPPING);
    for (const name of DROPPING) await people.get(name)!.jobs.startParticipation();
    await openNextRound(2);

    await until(async () => (await net.store.job(jobId))?.state === 'finished', 150_000, 'the job to finish');

    const rewards = new Contract(net.deployment.contracts.RoundRewards, loadArtifact('RoundRewards').abi as never, net.provider);
    const rounds = await net.store.rounds(jobId);
    // On failure, say why: the coordinator's abort reasons and what the apps logged about failed rounds.
    const failures = [...people.values()].flatMap((p) => p.vault.activity(0, 500).entries.filter((e) => e.kind === 'job.round-failed').map((e) => e.summary));
    expect(rounds.map((r) => r.stage), [...rounds.map((r) => r.abortReason ?? ''), ...new Set(failures)].join('; ')).toEqual(['closed', 'closed', 'closed']);
    for (const r of rounds) {
      const included = r.included!.map((id) => r.commitments[id]!);
      const expected = r.round === 1 ? [...people.keys()].filter((n) => !DROPPING.includes(n)) : [...people.keys()];
      const missing = expected.filter((n) => !included.includes(commitments.get(n)!));
      expect(new Set(included), `round ${r.round + 1} left out ${missing.join(', ')}: ${failures.join('; ')}`).toEqual(new Set(expected.map((n) => commitments.get(n))));
      const onChain = (await rewards.getFunction('getRound')(BigInt(jobId), BigInt(r.round))) as { root: bigint; size: bigint; paid: boolean };
      expect(onChain.size).toBe(BigInt(included.length));
      expect(onChain.root).toBe(new Group(included.map((c) => BigInt(c))).root);
      expect(onChain.paid).toBe(true);
    }

    // Accuracy on the researcher's held-out diaries: better than the starting model, round over round.
    const spec = parseJobDocument(doc).training;
    const validation = buildTrainingMatrix(spec, readValidationCsv(validationCsv(), spec));
    const start = evaluateModel(spec.model, initialWeights(spec.model, spec.local.seed), validation).accuracy!;
    const accuracies = rounds.map((r) => r.validation!.accuracy!);
    // Noise is part of every round (that is the privacy, and it is not seeded), so one round may
    // undo some of the last, and the first round is one step from the start: every round's model
    // must beat the starting one, the last by 8 points and the best by 15.
    const seen = `start ${start.toFixed(3)}, rounds ${accuracies.map((a) => a.toFixed(3)).join(', ')}`;
    for (const a of accuracies) expect(a, seen).toBeGreaterThan(start);
    expect(accuracies.at(-1)!, seen).toBeGreaterThan(start + 0.08);
    expect(Math.max(...accuracies), seen).toBeGreaterThan(start + 0.15);

    // Every contributor's app says what left the machine, and its vault still verifies.
    for (const [name, person] of people) {
      const card = person.jobs.cardOf(jobId);
      expect(card.participation.roundsContributed).toBe(DROPPING.includes(name) ? 2 : 3);
      const uploads = person.vault.activity(0, 500).entries.filter((e) => e.kind === 'job.upload');
      expect(uploads.length).toBeGreaterThanOrEqual(DROPPING.includes(name) ? 2 : 3);
      expect(person.vault.verifyActivity().ok).toBe(true);
    }
  }, 300_000);

  it("keeps no contributor's unmasked update in the coordinator's database", { timeout: 120_000 }, async () => {
    expect(rawUpdates.length).toBeGreaterThanOrEqual(3 * CONTRIBUTORS - DROPPING.length);
    // No raw update appears in the database file or its log, as floats or as quantized words;
    // the same scan finds a planted quantized update (the control).
    const params = { clipRange: doc.aggregation.clipRange, quantizationBits: roundParamsFor(doc, roundIdFor(doc.chainId, jobId, 0), CONTRIBUTORS, new Uint8Array(32)).quantizationBits };
    const files = databaseBytes(postgres ? postgres.databaseFiles() : [join(dir, 'coordinator.db'), join(dir, 'coordinator.db-wal')]);
    expect(files[0]!.length).toBeGreaterThan(0);
    for (const update of rawUpdates) {
      const input = Float64Array.from(update);
      for (const bytes of files) expect(findUnmasked(bytes, input, params)).toBeUndefined();
    }
    const control = Float64Array.from(rawUpdates[0]!);
    expect(findUnmasked(quantizedBytes(control, params), control, params)).toBe('quantized');
    // Every stored masked input looks like masked data: an unmasked quantized vector lies below
    // 2^b (b = 24 or fewer quantization bits), masked coordinates are spread over all of Z_2^32.
    const vectorLength = roundVectorLength(doc);
    let masked = 0;
    for (const r of await net.store.rounds(jobId)) {
      for (const e of await net.store.events(jobId, r.round)) {
        if (e.kind !== 'message' || !e.data || readHeader(e.data).type !== MessageType.MaskedInput) continue;
        const { masked: words } = decodeMaskedInput(e.data, vectorLength);
        const high = words.filter((w) => w >= 2 ** 24).length;
        expect(high / words.length).toBeGreaterThan(0.9);
        masked++;
      }
    }
    expect(masked).toBe(3 * CONTRIBUTORS - DROPPING.length);
  });
});
