// One coordinator process of several over the same database, as an operator runs them: its own
// round runner and HTTP server on a free loopback port, the chain reached over RPC with the
// coordinator's key. Started by test/helpers/coordinators.ts with its settings as JSON in argv[2];
// prints {"url": ...} on stdout once it serves, and stops cleanly on SIGTERM.
import { JsonRpcProvider, NonceManager, Wallet } from 'ethers';
import type { TroveDeployment } from '../../contracts/deploy.js';
import { openCoordinator } from '../../main/cli/local-network.js';

interface Settings {
  database: string;
  rpcUrl: string;
  coordinatorKey: string;
  deployment: TroveDeployment;
  processId: string;
  groupSize: number;
  leaseMs: number;
  pollMs: number;
  startDelayMs: number;
}

const settings = JSON.parse(process.argv[2] ?? '{}') as Settings;
const provider = new JsonRpcProvider(settings.rpcUrl, undefined, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 });
const coordinator = new NonceManager(new Wallet(settings.coordinatorKey, provider));
const opened = await openCoordinator(
  settings.database,
  {
    chain: { coordinator, provider, deployment: settings.deployment },
    startDelayMs: settings.startDelayMs,
    timers: true,
    processId: settings.processId,
    groupSize: settings.groupSize,
    leaseMs: settings.leaseMs,
    pollMs: settings.pollMs,
    onError: (err) => process.stderr.write(`${JSON.stringify({ level: 'error', event: 'background-failure', error: err instanceof Error ? err.message : String(err) })}\n`),
  },
  { port: 0 },
);
process.stdout.write(`${JSON.stringify({ url: opened.server.url })}\n`);
process.once('SIGTERM', () => {
  void opened.close().finally(() => {
    provider.destroy();
    process.exit(0);
  });
});
