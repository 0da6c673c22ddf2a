// Job news as OS notifications: a job published while the vault is open and the Jobs screen is
// closed is found in the background and announced when it fits the person's data; the jobs already
// there at unlock are not news.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sleepDiaryCsv } from '../../common/samples/sleep-diary.js';
import { jobsChainConfig } from '../../main/services/jobs/config.js';
import { AppSession } from '../../main/services/session/session.js';
import { startRig, until, type CoordinatorRig } from '../coordinator/fixtures.js';
import { FAST_KDF, PASSPHRASE } from '../helpers/vault.js';
import { testWorkerLauncher } from '../helpers/worker.js';

describe('job notifications through the app session', () => {
  let rig: CoordinatorRig;
  let dir: string;

  beforeAll(async () => {
    rig = await startRig({}, { timers: false });
    dir = mkdtempSync(join(tmpdir(), 'trove-job-news-'));
  }, 60_000);
  afterAll(async () => {
    await rig?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('announces a new job that fits the data, found in the background, and nothing that was already there', async () => {
    await rig.publish({ rounds: 1, title: 'Already there' } as never);
    const notices: { title: string; body: string }[] = [];
    const session = await AppSession.start({
      dataDir: join(dir, 'app'),
      vault: { kdf: FAST_KDF, autoLockMs: null },
      stagePaths: true,
      notify: (title, body) => notices.push({ title, body }),
      jobs: { chain: jobsChainConfig(rig.chain.chain.url, rig.chain.deployment), allowLocalNetwork: true, launcher: await testWorkerLauncher(), discoverEveryMs: 100 },
    });
    try {
      await session.create(PASSPHRASE);
      const file = join(dir, 'diary.csv');
      writeFileSync(file, sleepDiaryCsv(3, 60));
      await session.startImport({ importId: 'diary-1', file: session.files.stagePath(file).token, policy: 'skip-rows' });
      const first = await session.jobsRefresh();
      expect(first.jobs.map((j) => j.title)).toEqual(['Already there']);

      await rig.publish({ rounds: 1, title: 'Published later' } as never);
      await until(() => notices.length > 0, 20_000, 'a notification');
      expect(notices).toEqual([
        { title: 'A new job fits your data', body: '"Published later" asks for columns you have. Open Trove to read what it would use before you decide.' },
      ]);
    } finally {
      await session.close();
    }
  });
});
