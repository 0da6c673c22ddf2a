// A whole network on this machine for a browser test: a local chain with the real contracts and
// the researcher's real coordinator over HTTP (`net`), with the app's jobs service pointed at it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobDocumentInput } from '../../common/jobs/document.js';
import { startLocalNetwork, type LocalNetwork } from '../../main/cli/local-network.js';
import type { JobsConfig } from '../../main/services/session/session.js';
import { testWorkerLauncher } from '../helpers/worker.js';
import { test as base } from './fixtures.js';

/** Short waits between polls, so rounds move at the pace of the work rather than of timers. */
export const FAST_PARTICIPATION: JobsConfig['participation'] = { backoffMs: () => 200, maxPollMs: 250, inboxWaitMs: 2_000, uploadSpreadMs: 500 };

/** The fixtures' `test` with a fresh local network per test (its files in a temporary folder named by `name`). */
export function testWithNetwork(name: string, jobDefaults?: Partial<JobDocumentInput>) {
  return base.extend<{ net: LocalNetwork }>({
    // eslint-disable-next-line no-empty-pattern -- Playwright fixtures take their dependencies as a destructured object
    net: async ({}, use) => {
      const dir = mkdtempSync(join(tmpdir(), `trove-e2e-${name}-`));
      const net = await startLocalNetwork({ dir, roundStartDelayMs: 500, ...(jobDefaults ? { jobDefaults } : {}) });
      try {
        await use(net);
      } finally {
        await net.close();
        rmSync(dir, { recursive: true, force: true });
      }
    },
    jobs: async ({ net }, use) => {
      await use({ chain: net.jobsChain, launcher: await testWorkerLauncher(), participation: FAST_PARTICIPATION, allowLocalNetwork: true });
    },
  });
}
