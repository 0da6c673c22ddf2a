// Jobs on a real local chain for discovery's hostile cases: the example sleep-diary job document,
// signed by a researcher's key and published straight to the real JobRegistry with its reward
// escrowed, and a small HTTP server that hands out signed documents the way a coordinator's
// /v1/specs route does. Unlike the real coordinator's publish, both can be made to lie: a changed
// document, another signer, on-chain terms that disagree, a host that never answers.
import { SMALL_ROUNDS } from '../fixtures/small-rounds.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Contract, Signer } from 'ethers';
import { parseJobDocument, roundVectorLength, type JobDocument, type JobDocumentInput, type SignedJob } from '../../common/jobs/document.js';
import { sleepDiaryCsv } from '../../common/samples/sleep-diary.js';
import { sleepMoodExample } from '../../main/cli/local-network.js';
import { jobSpecHash, signJobDocument } from '../../common/jobs/signed-document.js';
import type { Vault } from '../../main/services/vault/index.js';
import { Contributor, type CoordinatorRig } from '../coordinator/fixtures.js';
import { mined, type TroveChain } from '../fixtures/trove-chain.js';

/**
 * The coordinator's example job over the sleep diary (predict mood from sleep, steps, resting heart
 * rate, caffeine and exercise), completed with the given addresses, chain and deadline.
 */
export function sleepJob(
  over: { researcher: string; coordinator: { url: string; address: string }; token: string; chainId: string; deadline: number } & Omit<Partial<JobDocumentInput>, 'researcher' | 'coordinator' | 'chainId' | 'deadline'>,
): JobDocument {
  const { researcher, coordinator, token, chainId, deadline, ...rest } = over;
  const example = sleepMoodExample();
  return parseJobDocument({
    ...example,
    ...SMALL_ROUNDS,
    researcher: { ...(example.researcher as object), address: researcher },
    coordinator,
    chainId,
    reward: { ...(example.reward as object), token },
    deadline,
    ...rest,
  });
}

/** Serves signed job documents at /v1/specs/:hash (and anything else a test adds). */
export class DocumentServer {
  readonly documents = new Map<string, unknown>();
  private server: Server | null = null;
  url = '';

  constructor(private readonly extra?: (req: IncomingMessage, res: ServerResponse) => boolean) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      if (this.extra?.(req, res)) return;
      const match = /^\/v1\/specs\/(0x[0-9a-f]{64})$/.exec(req.url ?? '');
      const doc = match ? this.documents.get(match[1]!) : undefined;
      if (doc === undefined) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'JOB_NOT_FOUND', message: 'no such spec' } }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  uriOf(hash: string): string {
    return `${this.url}/v1/specs/${hash}`;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

export interface Published {
  jobId: string;
  document: JobDocument;
  signed: SignedJob;
  specHash: string;
}

/**
 * Signs `document` with `signer`, serves `served` (default: the signed document) under its hash,
 * and publishes the job from `t.accounts.researcher` with on-chain parameters taken from the
 * document unless `chain` overrides them.
 */
export async function publishJob(
  t: TroveChain,
  docs: DocumentServer,
  document: JobDocument,
  options: { signer?: Signer; served?: (signed: SignedJob) => unknown; uri?: (hash: string) => string; chain?: Partial<{ rewardPerRound: bigint; rounds: number }> } = {},
): Promise<Published> {
  const signed = await signJobDocument(document, options.signer ?? t.accounts.researcher);
  const specHash = jobSpecHash(document);
  docs.documents.set(specHash, options.served ? options.served(signed) : signed);
  const researcher = t.accounts.researcher;
  const registry = t.at('JobRegistry', t.deployment.contracts.JobRegistry, researcher);
  const rounds = options.chain?.rounds ?? document.rounds;
  const perRound = options.chain?.rewardPerRound ?? BigInt(document.reward.perRound);
  const total = perRound * BigInt(rounds) * 2n;
  const token = t.at('TestToken', document.reward.token, researcher);
  await mined(token.getFunction('mint')(await researcher.getAddress(), total));
  await mined(token.getFunction('approve')(t.deployment.contracts.JobRegistry, total));
  const receipt = await mined(
    registry.getFunction('publish')({
      specHash,
      specURI: options.uri ? options.uri(specHash) : docs.uriOf(specHash),
      coordinator: document.coordinator.address,
      rewardToken: document.reward.token,
      rewardPerRound: perRound,
      rounds,
      minContributors: document.minContributors,
      deadline: BigInt(document.deadline),
      bondAmount: BigInt(document.reward.bond),
    }),
  );
  const event = receipt.logs.map((l) => registry.interface.parseLog(l)).find((e) => e?.name === 'JobPublished');
  return { jobId: (event!.args.getValue('jobId') as bigint).toString(), document, signed, specHash };
}

export async function deployToken(t: TroveChain): Promise<Contract> {
  return t.deploy('TestToken', ['Test dollar', 'USD']);
}

/** A sleep diary in the vault; returns its dataset id. */
export async function importDiary(vault: Vault, file: string, seed = 1, days = 200): Promise<string> {
  const { writeFileSync } = await import('node:fs');
  writeFileSync(file, sleepDiaryCsv(seed, days));
  const report = await vault.importFile(file, { name: 'Sleep diary' });
  return report.datasetId!;
}

/** The identity mapping: the diary's columns have the job's names. */
export const DIARY_MAPPING = { sleep_hours: 'sleep_hours', steps: 'steps', resting_hr: 'resting_hr', caffeine_cups: 'caffeine_cups', exercised: 'exercised', mood: 'mood' };

/** Records every request made through it as "METHOD /path", then tells `onResponse` once it is answered. */
export function recordingFetch(requests: string[], onResponse?: (request: string) => void): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const request = `${init?.method ?? 'GET'} ${url.pathname}`;
    requests.push(request);
    const res = await fetch(input, init);
    onResponse?.(request);
    return res;
  };
}

/** Two other contributors enrolled in a job on the rig's coordinator; `round(n)` runs their part of round n. */
export async function otherContributors(rig: CoordinatorRig, jobId: string, doc: JobDocument, name: string) {
  const others = [1, 2].map((i) => new Contributor(rig.server.url, rig.clock.now, rig.enrollmentRef, `${name}-${jobId}-${i}`));
  for (const c of others) await c.enroll(jobId);
  const d = roundVectorLength(doc) - 1;
  return {
    round: (round: number) => Promise.all(others.map((c, i) => c.runRound(jobId, doc, new Float64Array(d).fill(0.01 * (i + 1)), 100, { round }))),
  };
}
