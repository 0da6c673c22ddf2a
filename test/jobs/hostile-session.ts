// An app session wired to a real coordinator rig and a document host a hostile researcher
// controls: the jobs channels are called through the real IPC router, every answer checked
// against the contract, and every failure that would be a bug (INTERNAL) collected.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobDocument } from '../../common/jobs/document.js';
import { sleepDiaryCsv } from '../../common/samples/sleep-diary.js';
import { createRouter } from '../../main/ipc/router.js';
import { sessionHandlers } from '../../main/ipc/handlers.js';
import { jobsChainConfig } from '../../main/services/jobs/config.js';
import { AppSession, type AppSessionOptions, type JobsConfig } from '../../main/services/session/session.js';
import { uploadFile } from '../../preload/api.js';
import { startRig, type CoordinatorRig } from '../coordinator/fixtures.js';
import { FAST_KDF, PASSPHRASE } from '../helpers/vault.js';
import { testWorkerLauncher } from '../helpers/worker.js';
import { DocumentServer } from './fixtures.js';

export interface HostileRig {
  rig: CoordinatorRig;
  docs: DocumentServer;
  dir: string;
  /** What a hostile job starts from: the example job's addresses, chain, token and a deadline. */
  base: { researcher: string; coordinator: { url: string; address: string }; token: string; chainId: string; deadline: number };
  options(extra?: Partial<JobsConfig>, name?: string): Promise<AppSessionOptions>;
  close(): Promise<void>;
}

export async function startHostileRig(): Promise<HostileRig> {
  const rig = await startRig({}, { timers: true, startDelayMs: 0 });
  const docs = await new DocumentServer().start();
  const dir = mkdtempSync(join(tmpdir(), 'trove-hostile-'));
  const block = await rig.chain.provider.getBlock('latest');
  const base = {
    researcher: await rig.chain.accounts.researcher.getAddress(),
    coordinator: { url: rig.server.url, address: await rig.chain.accounts.coordinator.getAddress() },
    token: await rig.token.getAddress(),
    chainId: rig.chain.chainId.toString(),
    deadline: block!.timestamp + 30 * 86_400,
  };
  const launcher = await testWorkerLauncher();
  let n = 0;
  return {
    rig,
    docs,
    dir,
    base,
    options: async (extra = {}, name = `app-${++n}`) => ({
      dataDir: join(dir, name),
      vault: { kdf: FAST_KDF, autoLockMs: null },
      jobs: {
        chain: jobsChainConfig(rig.chain.chain.url, JSON.parse(JSON.stringify(rig.chain.deployment))),
        launcher,
        // The rig is on loopback; the address policy's own tests turn this off.
        allowLocalNetwork: true,
        discovery: { documentTimeoutMs: 1_000 },
        participation: { backoffMs: () => 50, inboxWaitMs: 500, maxPollMs: 200, uploadSpreadMs: 200 },
        ...extra,
      },
    }),
    close: async () => {
      await docs.close();
      await rig.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An app session behind the IPC router; `call` throws the typed error of a refused request. */
export async function openApp(options: AppSessionOptions) {
  const session = await AppSession.start(options);
  const internal: string[] = [];
  const router = createRouter(sessionHandlers(session), { onInternalError: (channel, err) => internal.push(`${channel}: ${String(err)}`) });
  const call = async <T>(channel: string, request: unknown = {}): Promise<T> => {
    const r = await router.handle(channel, request);
    if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
    return r.value as T;
  };
  return { session, router, call, internal };
}

/** Creates the vault and imports a sleep diary through the channels; returns the dataset id. */
export async function createWithDiary(app: Awaited<ReturnType<typeof openApp>>, seed = 3): Promise<string> {
  await app.call('vault.create', { passphrase: PASSPHRASE });
  return importCsv(app, 'diary.csv', sleepDiaryCsv(seed, 120), `diary-import-${seed}`);
}

/** Uploads and imports a CSV through the channels; returns the dataset id. */
export async function importCsv(app: Awaited<ReturnType<typeof openApp>>, name: string, csv: string, importId: string): Promise<string> {
  const blob = new Blob([csv]);
  const staged = await uploadFile({ name, size: blob.size, slice: (a, b) => blob.slice(a, b) }, (c, r) => app.router.handle(c, r));
  if (!staged.ok) throw new Error(staged.error.message);
  const report = await app.call<{ datasetId: string }>('import.start', { importId, file: staged.value.token, policy: 'reject-import' });
  return report.datasetId;
}

/** A copy of `doc` with some fields replaced, not parsed: what a hostile researcher can sign. */
export function hostile(doc: JobDocument, over: Record<string, unknown>): JobDocument {
  return { ...(JSON.parse(JSON.stringify(doc)) as JobDocument), ...over } as JobDocument;
}
