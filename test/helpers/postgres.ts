// A real PostgreSQL server for one test file (or one benchmark run): a fresh cluster in a
// temporary directory, listening on a free loopback port only, run by a user that is not root
// (the server refuses to run as root, and CI runs as root). stop() shuts it down and deletes it.
// The server binaries are Debian's postgresql package (.ci/run installs it).
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PostgresServer {
  /** postgres://… for a database of its own on the server. */
  url: string;
  port: number;
  /** Another empty database on the same server. */
  createDatabase(name: string): string;
  /** The files that hold a database's tables and indexes, and the write-ahead log. */
  databaseFiles(name?: string): string[];
  stop(): void;
}

/** The directory of initdb, pg_ctl and postgres: Debian keeps them off PATH, under /usr/lib/postgresql/<major>/bin. */
function serverBinaries(): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const majors = readdirSync(root)
      .filter((d) => existsSync(join(root, d, 'bin', 'pg_ctl')))
      .sort((a, b) => Number(b) - Number(a));
    if (majors[0]) return join(root, majors[0], 'bin');
  }
  throw new Error('No PostgreSQL server is installed: apt-get install -y postgresql (the .ci/run script does).');
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startPostgres(options: { durable?: boolean } = {}): Promise<PostgresServer> {
  const bin = serverBinaries();
  const dir = mkdtempSync(join(tmpdir(), 'trove-postgres-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  // As root, the cluster belongs to the postgres user the package created.
  const owner = asRoot ? Number(execFileSync('id', ['-u', 'postgres']).toString().trim()) : undefined;
  if (owner !== undefined) chownSync(dir, owner, Number(execFileSync('id', ['-g', 'postgres']).toString().trim()));
  const run = (tool: string, args: string[]) => {
    const cmd = join(bin, tool);
    return asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { stdio: 'pipe' }) : execFileSync(cmd, args, { stdio: 'pipe' });
  };
  // 1 MB log segments (not 16): a test that scans the write-ahead log reads what was written, not megabytes of zeros.
  run('initdb', ['-D', data, '-U', 'trove', '--auth=trust', '-E', 'UTF8', '--no-locale', '--no-sync', '--wal-segsize=1']);
  const port = await freePort();
  // Loopback only, its socket in its own directory; without `durable`, no fsync (tests need no crash safety of the OS).
  const serverOptions = ['-h 127.0.0.1', `-p ${port}`, `-k ${dir}`, '-c max_connections=200', '-c min_wal_size=2MB', '-c max_wal_size=64MB', options.durable ? '' : '-F'].filter(Boolean).join(' ');
  try {
    run('pg_ctl', ['start', '-D', data, '-w', '-t', '60', '-l', join(dir, 'server.log'), '-o', serverOptions]);
  } catch (err) {
    const log = existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf8') : '';
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`PostgreSQL did not start: ${log.slice(-2000)}`, { cause: err });
  }
  const createDatabase = (name: string) => {
    if (!/^[a-z_][a-z0-9_]{0,40}$/.test(name)) throw new Error(`Not a database name: ${name}`);
    run('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'trove', name]);
    return `postgres://trove@127.0.0.1:${port}/${name}`;
  };
  let stopped = false;
  return {
    url: createDatabase('trove'),
    port,
    createDatabase,
    databaseFiles: (name = 'trove') => {
      const oid = run('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'trove', '-d', name, '-Atc', 'SELECT oid FROM pg_database WHERE datname = current_database()']).toString().trim();
      return [...filesUnder(join(data, 'base', oid)), ...filesUnder(join(data, 'pg_wal'))];
    },
    stop: () => {
      if (stopped) return;
      stopped = true;
      try {
        run('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
