// Entry of the worker process: heavy and untrusted work runs here, away from the vault and the
// UI. It says when it is ready, sends a heartbeat while its event loop turns (the supervisor
// restarts a worker whose heartbeat stops), and runs tasks as the main process sends them.
import { HEARTBEAT_INTERVAL_MS } from '../common/worker-protocol.js';
import { TaskDataReader, type DataSourceReader } from './data-source.js';
import { connectToParent } from './parent-port.js';
import { TaskRunner } from './task-runner.js';

// The vault reader (SQLite, libsodium) loads on the first grant: a quick start matters more,
// since a worker is restarted after every failure.
const lazyVaultGrantReader: DataSourceReader = {
  open: async (source, columns) => new (await import('./vault-grant-reader.js')).VaultGrantReader().open(source, columns),
};

const port = connectToParent();
const diagnostics = process.env.TROVE_WORKER_DIAGNOSTICS === '1';
const runner = new TaskRunner({ post: (m) => port.post(m), data: new TaskDataReader(lazyVaultGrantReader), diagnostics });

const heartbeat = setInterval(() => {
  const mem = process.memoryUsage();
  port.post({ type: 'heartbeat', at: Date.now(), heapUsed: mem.heapUsed, rss: mem.rss });
}, HEARTBEAT_INTERVAL_MS);

port.onMessage((message) => {
  if (message.type === 'shutdown') {
    clearInterval(heartbeat);
    process.exit(0);
  }
  runner.handle(message);
});
port.onDisconnect(() => process.exit(0));
port.post({ type: 'ready', pid: process.pid, diagnostics });
