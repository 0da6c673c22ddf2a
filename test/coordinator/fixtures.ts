// A researcher's coordinator on a local chain, and contributors that speak the real protocol:
// per-job Ed25519 keys and Semaphore identities, CoordinatorClient over HTTP, SecAggClient for
// the round.
import { SMALL_ROUNDS } from '../fixtures/small-rounds.js';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Identity } from '@semaphore-protocol/identity';
import type { Contract } from 'ethers';
import { isTroveError } from '../../common/errors.js';
import { CoordinatorClient, fromHex, InboxQueue, toHex } from '../../common/jobs/client.js';
import type { JobDocument, JobDocumentInput } from '../../common/jobs/document.js';
import type { EnrollRequest } from '../../common/jobs/protocol.js';
import { enrollmentRequest } from '../../common/jobs/enrollment.js';
import { checkRoundParams, modelHashOf } from '../../common/jobs/rounds.js';
import { invitedGroup } from '../../common/jobs/groups.js';
import { weightedInput } from '../../common/secagg/fedavg.js';
import { generateSigningKeyPair, type SigningKeyPair } from '../../common/secagg/keys.js';
import { SecAggClient } from '../../common/secagg/client.js';
import { loadSodium } from '../../common/secagg/sodium.js';
import { MessageType } from '../../common/secagg/wire.js';
import { sleepDiariesCsv } from '../../common/samples/sleep-diary.js';
import { openCoordinator, publishExampleJob, sleepMoodExample } from '../../main/cli/local-network.js';
import type { RoundRunner } from '../../coordinator/rounds.js';
import type { CoordinatorServer, CoordinatorServerOptions } from '../../coordinator/server.js';
import type { CoordinatorStore } from '../../coordinator/store.js';
import { mined, startTroveChain, type TroveChain } from '../fixtures/trove-chain.js';
import { proveEnrollment, type EnrollmentRef } from '../fixtures/enrollment-proof.js';
import { startPostgres } from '../helpers/postgres.js';
import { until } from '../helpers/until.js';

/** The example job at a test's scale (see SMALL_ROUNDS). */
export const SLEEP_MOOD_JOB = { ...sleepMoodExample(), ...SMALL_ROUNDS };

export { until };

/** How many messages of a kind the coordinator has accepted in a round (all its groups). */
async function messagesAccepted(store: CoordinatorStore, jobId: string, round: number, type: MessageType): Promise<number> {
  return (await store.events(jobId, round)).filter((e) => e.kind === 'message' && e.data[1] === type).length;
}

/** How many masked inputs the coordinator has accepted in a round (all its groups). */
export const maskedInputsAccepted = (store: CoordinatorStore, jobId: string, round: number): Promise<number> => messagesAccepted(store, jobId, round, MessageType.MaskedInput);

/**
 * Someone who shared their keys and then left never sends their masked input, so the round's
 * masked-input stage waits out its deadline. Once `expected` masked inputs are in and the stage
 * still waits for one that a key-sharer owes, it can end no other way: this moves the
 * coordinator's clock to that deadline instead of waiting for it. `watcher` is the signing key of
 * anyone invited to the round; `done` ends the wait early.
 */
export async function passMaskedInputDeadline(
  coordinator: { store: CoordinatorStore; runner: RoundRunner },
  clock: TestClock,
  at: { jobId: string; round: number; watcher: string; expected: number },
  done: () => boolean = () => false,
): Promise<void> {
  let due: number | undefined;
  await until(
    async () => {
      if (done()) return true;
      const masked = await maskedInputsAccepted(coordinator.store, at.jobId, at.round);
      if (masked < at.expected) return false;
      const info = await coordinator.runner.roundInfo(at.jobId, at.watcher);
      const owed = (await messagesAccepted(coordinator.store, at.jobId, at.round, MessageType.EncryptedShares)) > masked;
      if (owed && info.state === 'invited' && info.round === at.round && info.stage === 'collect-masked-inputs') due = info.stageDeadline;
      return true;
    },
    240_000,
    `round ${at.round + 1}'s ${at.expected} masked inputs`,
    100,
  );
  if (due !== undefined && !done()) clock.advance(Math.max(0, due - clock.now() + 1));
}

/** Real time plus a jump the test controls, so stage deadlines pass without waiting for them. */
export class TestClock {
  shift = 0;
  readonly now = (): number => Date.now() + this.shift;
  advance(ms: number): void {
    this.shift += ms;
  }
}

export type Storage = 'sqlite' | 'postgres';

export interface CoordinatorRig {
  chain: TroveChain;
  /** What contributors' enrollment proofs are scoped to. */
  enrollmentRef: EnrollmentRef;
  token: Contract;
  dir: string;
  storage: Storage;
  /** The SQLite file, or the postgres:// URL. */
  database: string;
  /** Every file the database keeps its data in (the SQLite file and its log, or the PostgreSQL cluster's files). */
  databaseFiles(): string[];
  clock: TestClock;
  /** The nonce key every server of the rig shares (restarts keep it). */
  nonceKey: Uint8Array;
  store: CoordinatorStore;
  runner: RoundRunner;
  server: CoordinatorServer;
  /** Stops the server and runner and closes the database (the chain keeps running). */
  stop(): Promise<void>;
  /** Reopens the same database with a fresh runner and server on the same address. */
  restart(): Promise<void>;
  /** Publishes a job built from the sleep-mood example with `overrides`. */
  publish(overrides?: Partial<JobDocumentInput>, validationCsv?: string | null): Promise<{ jobId: string; document: JobDocument; specHash: string; specURI: string; tx: string; escrow: bigint; stake: bigint }>;
  close(): Promise<void>;
}

export async function startRig(serverOptions: Partial<CoordinatorServerOptions> = {}, runnerOptions: { timers?: boolean; startDelayMs?: number; groupSize?: number } = {}, storage: Storage = 'sqlite'): Promise<CoordinatorRig> {
  await loadSodium();
  const chain = await startTroveChain();
  const token = await chain.deploy('TestToken', ['Test Dollar', 'TUSD']);
  await mined(token.connect(chain.accounts.researcher).getFunction('mint')(await chain.accounts.researcher.getAddress(), 10n ** 30n));
  const tokenAddress = await token.getAddress();
  const dir = mkdtempSync(join(tmpdir(), 'trove-coordinator-'));
  const postgres = storage === 'postgres' ? await startPostgres() : undefined;
  const database = postgres ? postgres.url : join(dir, 'coordinator.db');
  const clock = new TestClock();
  // One nonce key for every process of the rig, as the command line derives one: nonces handed out
  // before a restart stay good after it.
  const nonceKey = new Uint8Array(randomBytes(32));
  let port = 0;
  let published = 0;
  const open = async () => {
    const parts = await openCoordinator(
      database,
      {
        chain: { coordinator: chain.accounts.coordinator, provider: chain.provider, deployment: chain.deployment },
        now: clock.now,
        startDelayMs: runnerOptions.startDelayMs ?? 0,
        timers: runnerOptions.timers ?? false,
        ...(runnerOptions.groupSize === undefined ? {} : { groupSize: runnerOptions.groupSize }),
      },
      { now: clock.now, nonceKey, ...serverOptions, port },
    );
    port = Number(new URL(parts.server.url).port);
    return parts;
  };
  let parts = await open();
  const rig: CoordinatorRig = {
    chain,
    enrollmentRef: { chainId: chain.chainId, registry: chain.deployment.contracts.JobRegistry },
    token,
    dir,
    storage,
    database,
    databaseFiles: () => (postgres ? postgres.databaseFiles() : [database, `${database}-wal`]),
    clock,
    nonceKey,
    get store() {
      return parts.store;
    },
    get runner() {
      return parts.runner;
    },
    get server() {
      return parts.server;
    },
    stop: () => parts.close(),
    restart: async () => {
      parts = await open();
    },
    // Each job a rig publishes ends a second after the one before, so no two documents are the
    // same (the coordinator refuses to escrow a second reward under one hash).
    publish: (overrides = {}, validationCsv = null) =>
      publishExampleJob({
        runner: parts.runner,
        researcher: chain.accounts.researcher,
        coordinatorAccount: chain.accounts.coordinator,
        coordinatorUrl: parts.server.url,
        deployment: chain.deployment,
        token: tokenAddress,
        tokenSymbol: 'TUSD',
        nowMs: clock.now(),
        overrides: { deadline: Math.floor(clock.now() / 1000) + 30 * 86_400 + ++published, ...SMALL_ROUNDS, ...overrides },
        validationCsv,
      }),
    close: async () => {
      await rig.stop().catch(() => undefined);
      await chain.close();
      postgres?.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return rig;
}

/** A contributor's model update: small, different for everyone, reproducible. */
export function updateFor(seed: number, length: number): Float64Array {
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.sin(seed * 12.9898 + i * 78.233) * 0.5;
  return out;
}

/** The FedAvg model the coordinator must produce from these contributors' inputs. */
export function expectedModel(doc: JobDocument, start: Float32Array, inputs: Float64Array[]): Float64Array {
  const d = start.length;
  const sum = new Float64Array(d + 1);
  for (const x of inputs) for (let i = 0; i <= d; i++) sum[i]! += x[i]!;
  const weight = sum[d]! / doc.aggregation.clipRange;
  return Float64Array.from(start, (w, i) => w + doc.aggregation.serverLearningRate * (sum[i]! / weight));
}

/** A validation set: other people's diaries than any contributor's. */
export function validationCsv(): string {
  return sleepDiariesCsv([9001, 9002], 120);
}

export interface RoundOutcome {
  clientId: number;
  stage: string;
  /** The vector this contributor put into secure aggregation (weightedInput of its update). */
  input: Float64Array;
}

/** Retries while the coordinator cannot be reached (it may be restarting, or another process may answer), as the app does. */
async function retrying<T>(fn: () => Promise<T>, timeoutMs = 20_000, unreachable: () => void = () => undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (!isTroveError(err, 'COORDINATOR_UNREACHABLE') || Date.now() > deadline) throw err;
      unreachable();
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** One contributor: its per-job keys, and the round as the app runs it. */
export class Contributor {
  readonly keys: SigningKeyPair;
  readonly identity: Identity;
  private clients: CoordinatorClient[];
  private current = 0;

  /** `otherUrls`: further coordinator processes over the same database, tried in turn when one stops answering. */
  constructor(
    baseUrl: string,
    readonly now: () => number,
    private readonly chainRef: EnrollmentRef,
    seed: string,
    otherUrls: string[] = [],
  ) {
    this.keys = generateSigningKeyPair();
    this.identity = new Identity(`trove-coordinator-test-${seed}`);
    this.clients = [baseUrl, ...otherUrls].map((url) => new CoordinatorClient({ baseUrl: url, now, timeoutMs: 20_000 }));
  }

  /** Talks to these coordinator processes from now on (the first, then the next when one stops answering). */
  useCoordinators(urls: string[]): void {
    this.clients = urls.map((url) => new CoordinatorClient({ baseUrl: url, now: this.now, timeoutMs: 20_000 }));
    this.current = 0;
  }

  get client(): CoordinatorClient {
    return this.clients[this.current]!;
  }

  private readonly failOver = (): void => {
    this.current = (this.current + 1) % this.clients.length;
  };

  get keyHex(): string {
    return toHex(this.keys.publicKey);
  }

  /** The enroll request, with the identity's real proof authorizing its on-chain enrollment. */
  async enrollBody(jobId: string, identity = this.identity, keyHex = this.keyHex): Promise<EnrollRequest> {
    return enrollmentRequest(identity, jobId, keyHex, await proveEnrollment(identity, this.chainRef, jobId, keyHex));
  }

  async enroll(jobId: string) {
    return this.client.enroll(jobId, this.keys, await this.enrollBody(jobId));
  }

  /**
   * Waits for an invitation, fetches the global model, and takes part in the round with `update`
   * weighted by `examples`. With dropAfterSharing it goes silent once it has shared its keys.
   */
  async runRound(jobId: string, doc: JobDocument, update: Float64Array, examples: number, options: { dropAfterSharing?: boolean; dropAtStart?: boolean; round?: number; beforeMaskedInput?: () => Promise<void> } = {}): Promise<RoundOutcome> {
    let info = await retrying(() => this.client.round(jobId, this.keys), 20_000, this.failOver);
    await until(async () => {
      info = await retrying(() => this.client.round(jobId, this.keys), 20_000, this.failOver);
      return info.state === 'invited' && info.round >= (options.round ?? 0);
    }, 20_000, 'an invitation');
    if (info.state !== 'invited') throw new Error('not invited');
    const { round, clientId } = info;
    if (options.dropAtStart) return { clientId, stage: 'dropped', input: new Float64Array(0) };
    const vectorLength = update.length;
    const model = await retrying(() => this.client.model(jobId, round, this.keys, vectorLength), 20_000, this.failOver);
    if (model.length !== vectorLength) throw new Error('model size');
    const input = weightedInput(update, examples, doc.aggregation.maxExamples, doc.aggregation.clipRange);
    const group = invitedGroup(info, { chainId: doc.chainId, jobId, minContributors: doc.minContributors });
    const expectedRoundId = group.roundId;
    if (toHex(expectedRoundId) !== info.roundId) throw new Error('the invitation names another round id');
    const secagg = await SecAggClient.create({
      id: group.localId,
      signingKeys: this.keys,
      roster: group.members.map(fromHex),
      roundId: expectedRoundId,
      input,
      acceptParams: (p) => checkRoundParams(doc, p, expectedRoundId, modelHashOf(model)),
      modelHash: modelHashOf(model),
    });
    // As the app does: each reply's answer brings the next stage's messages (none after the last).
    const queue = new InboxQueue();
    for (;;) {
      if (queue.length === 0) {
        const box = await retrying(() => this.client.inbox(jobId, round, this.keys, queue.after, 2_000), 20_000, this.failOver);
        if (box.messages.length === 0 && (box.stage === 'closed' || box.stage === 'aborted')) return { clientId, stage: secagg.stage, input };
        queue.take(box.messages);
      }
      const m = queue.next();
      if (m) {
        const reply = secagg.handle(m.data);
        if (reply) {
          if (reply[1] === MessageType.MaskedInput) await options.beforeMaskedInput?.();
          const silent = secagg.stage === 'done' || (options.dropAfterSharing && secagg.stage === 'share-keys');
          const next = silent ? undefined : { after: queue.after, waitMs: queue.length > 0 ? 0 : 2_000 };
          // A message whose acknowledgement was lost is already in: its repeat is refused as a replay.
          const answer = await retrying(() => this.client.send(jobId, round, this.keys, reply, next), 20_000, this.failOver).catch((err: unknown) => {
            if (!isTroveError(err, 'SECAGG_REPLAY')) throw err;
          });
          if (answer) queue.take(answer.messages);
        }
        if (options.dropAfterSharing && secagg.stage === 'share-keys') return { clientId, stage: 'dropped', input };
      }
      if (secagg.stage === 'done' || secagg.stage === 'aborted') return { clientId, stage: secagg.stage, input };
    }
  }
}
