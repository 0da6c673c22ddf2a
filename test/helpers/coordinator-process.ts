// One coordinator process of several over the same database, as an operator runs them: its own
// round runner and HTTP server on a free loopback port, and (when given) the chain reached over
// RPC with the coordinator's key. Started with its settings as JSON in argv[2] by the failover
// test and bench:round; prints {"url": ...} on stdout once it serves, and stops cleanly on SIGTERM.
import { JsonRpcProvider, NonceManager, Wallet } from 'ethers';
import type { TroveDeployment } from '../../contracts/deploy.js';
import { openCoordinator } from '../../main/cli/local-network.js';
import { nonceKeyFrom } from '../../coordinator/nonces.js';

export interface CoordinatorProcessSettings {
  database: string;
  /** Without a chain, finished rounds wait in 'closing' (the benchmark times rounds up to the new model). */
  chain?: { rpcUrl: string; coordinatorKey: string; deployment: TroveDeployment };
  processId: string;
  groupSize?: number;
  leaseMs?: number;
  pollMs?: number;
  startDelayMs?: number;
  /** Per-address request limit (the benchmark's simulated contributors all come from one address). */
  perAddress?: { burst: number; perSecond: number };
  openConnectionsPerAddress?: number;
}

const settings = JSON.parse(process.argv[2] ?? '{}') as CoordinatorProcessSettings;
const provider = settings.chain ? new JsonRpcProvider(settings.chain.rpcUrl, undefined, { staticNetwork: true, cacheTimeout: -1, pollingInterval: 50 }) : undefined;
const opened = await openCoordinator(
  settings.database,
  {
    ...(settings.chain && provider ? { chain: { coordinator: new NonceManager(new Wallet(settings.chain.coordinatorKey, provider)), provider, deployment: settings.chain.deployment } } : {}),
    startDelayMs: settings.startDelayMs ?? 0,
    timers: true,
    processId: settings.processId,
    ...(settings.groupSize === undefined ? {} : { groupSize: settings.groupSize }),
    ...(settings.leaseMs === undefined ? {} : { leaseMs: settings.leaseMs }),
    ...(settings.pollMs === undefined ? {} : { pollMs: settings.pollMs }),
    onError: (err) => process.stderr.write(`${JSON.stringify({ level: 'error', event: 'background-failure', error: err instanceof Error ? err.message : String(err) })}\n`),
  },
  // Processes of one deployment share a nonce key, as the command line derives it from the
  // coordinator key; without a chain, the shared database's address stands in for that secret.
  { port: 0, nonceKey: nonceKeyFrom(settings.chain?.coordinatorKey ?? settings.database), ...(settings.perAddress ? { perAddress: settings.perAddress } : {}), ...(settings.openConnectionsPerAddress ? { openConnectionsPerAddress: settings.openConnectionsPerAddress } : {}) },
);
process.stdout.write(`${JSON.stringify({ url: opened.server.url })}\n`);
process.once('SIGTERM', () => {
  void opened.close().finally(() => {
    provider?.destroy();
    process.exit(0);
  });
});
