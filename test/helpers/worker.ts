// Worker processes for tests: the bundled worker the demo uses too, because tests restart
// workers often on purpose and a TypeScript loader would make each start slow.
import { bundledWorkerLauncher } from '../../main/cli/worker-bundle.js';
import type { NodeWorkerLauncher } from '../../main/services/worker/launcher.js';

export function testWorkerLauncher(): Promise<NodeWorkerLauncher> {
  return bundledWorkerLauncher();
}
