// The coordinator's database opens from every earlier schema version (migrations.ts), keeps what
// it held, and refuses a database written by a newer coordinator: SQLite files, and a real
// PostgreSQL server started for this file.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isTroveError } from '../../common/errors.js';
import { MIGRATIONS, MIGRATIONS_TABLE, SCHEMA_VERSION } from '../../coordinator/migrations.js';
import { PostgresStore } from '../../coordinator/store-postgres.js';
import { SqliteStore } from '../../coordinator/store-sqlite.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'trove-migrations-'));
  dirs.push(dir);
  return join(dir, 'coordinator.db');
}

/** A database as a coordinator at `version` left it (0: from before migrations), with one job in a round. */
function databaseAt(file: string, version: number): void {
  const db = new Database(file);
  if (version === 0) {
    db.exec(MIGRATIONS[0]!.sqlite);
  } else {
    db.exec(MIGRATIONS_TABLE.sqlite);
    for (const m of MIGRATIONS.filter((x) => x.version <= version)) {
      db.exec(m.sqlite);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, 1);
    }
  }
  db.prepare("INSERT INTO jobs VALUES ('7', '0xabc', '{}', 'running', NULL, 1000, NULL)").run();
  db.prepare("INSERT INTO participants (job_id, signing_key, commitment, enrolled_at) VALUES ('7', 'k1', 'c1', 1001)").run();
  db.prepare("INSERT INTO rounds (job_id, round, roster, commitments, stage, started_at) VALUES ('7', 0, '[\"k1\"]', '[\"c1\"]', 'collect-masked-inputs', 1002)").run();
  db.prepare("INSERT INTO round_events (job_id, round, seq, kind, at, data) VALUES ('7', 0, 1, 'message', 1003, x'0102')").run();
  db.prepare("INSERT INTO models VALUES ('7', 0, x'0000803f')").run();
  db.close();
}

describe('coordinator schema migrations on SQLite', () => {
  it('are numbered 1, 2, 3... with no gap, each with SQL for both storages', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    for (const m of MIGRATIONS) {
      expect(m.sqlite.trim()).not.toBe('');
      expect(m.postgres.trim()).not.toBe('');
    }
  });

  for (let from = 0; from < SCHEMA_VERSION; from++) {
    it(`opens a version ${from} database, brings it to version ${SCHEMA_VERSION} and keeps its rows`, async () => {
      const file = tempDb();
      databaseAt(file, from);
      const store = new SqliteStore(file);
      try {
        expect(await store.schemaVersion()).toBe(SCHEMA_VERSION);
        expect(await store.job('7')).toMatchObject({ specHash: '0xabc', state: 'running' });
        expect((await store.participants('7')).map((p) => p.signingKey)).toEqual(['k1']);
        expect(await store.round('7', 0)).toMatchObject({ stage: 'collect-masked-inputs', roster: ['k1'], closeAttempts: 0, closeError: null });
        expect(await store.events('7', 0)).toEqual([{ seq: 1, kind: 'message', at: 1003, data: Uint8Array.from([1, 2]), grp: null }]);
        expect(Array.from((await store.model('7', 0))!)).toEqual([1]);
        // What the newest schema added works on the migrated rows.
        expect(await store.setCloseFailure('7', 0, 'the chain is down', 5000)).toBe(1);
        expect(await store.round('7', 0)).toMatchObject({ closeAttempts: 1, closeError: 'the chain is down', closeRetryAt: 5000 });
        expect((await store.round('7', 0))!.startBlock).toBeNull();
        await store.addRound('7', 1, ['k1'], ['c1'], 1004, null, 42);
        expect((await store.round('7', 1))!.startBlock).toBe(42);
        expect(await store.spendNonces([{ nonce: 'aa', expiresAt: 5000 }])).toEqual([]);
        expect(await store.spendNonces([{ nonce: 'aa', expiresAt: 5000 }, { nonce: 'bb', expiresAt: 5000 }])).toEqual(['aa']);
        // The event log stays append-only after migrating.
        expect(() => store.db.prepare("DELETE FROM round_events WHERE job_id = '7'").run()).toThrow(/append-only/);
      } finally {
        await store.close();
      }
      // Opening it again applies nothing twice.
      const again = new SqliteStore(file);
      expect((again.db.prepare('SELECT COUNT(*) AS n FROM schema_migrations').get() as { n: number }).n).toBe(SCHEMA_VERSION);
      await again.close();
    });
  }

  it('refuses a database a newer coordinator wrote, and leaves it as it was', async () => {
    const file = tempDb();
    databaseAt(file, SCHEMA_VERSION);
    const db = new Database(file);
    db.prepare("INSERT INTO schema_migrations VALUES (?, 'from the future', 1)").run(SCHEMA_VERSION + 1);
    db.close();
    let error: unknown;
    try {
      await new SqliteStore(file).close();
    } catch (err) {
      error = err;
    }
    expect(isTroveError(error, 'INVALID_INPUT')).toBe(true);
    expect((error as Error).message).toMatch(`schema version ${SCHEMA_VERSION + 1}, newer than this coordinator's ${SCHEMA_VERSION}`);
    const after = new Database(file, { readonly: true });
    expect((after.prepare('SELECT COUNT(*) AS n FROM jobs').get() as { n: number }).n).toBe(1);
    after.close();
  });
});

/** The same rows as databaseAt, in PostgreSQL at `version` (0: the tables from before migrations). */
async function postgresAt(url: string, version: number): Promise<void> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    if (version === 0) {
      await client.query(MIGRATIONS[0]!.postgres);
    } else {
      await client.query(MIGRATIONS_TABLE.postgres);
      for (const m of MIGRATIONS.filter((x) => x.version <= version)) {
        await client.query(m.postgres);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, 1)', [m.version, m.name]);
      }
    }
    await client.query("INSERT INTO jobs VALUES ('7', '0xabc', '{}', 'running', NULL, 1000, NULL)");
    await client.query("INSERT INTO participants (job_id, signing_key, commitment, enrolled_at) VALUES ('7', 'k1', 'c1', 1001)");
    await client.query("INSERT INTO rounds (job_id, round, roster, commitments, stage, started_at) VALUES ('7', 0, '[\"k1\"]', '[\"c1\"]', 'collect-masked-inputs', 1002)");
    await client.query("INSERT INTO round_events (job_id, round, seq, kind, at, data) VALUES ('7', 0, 1, 'message', 1003, '\\x0102')");
    await client.query("INSERT INTO models VALUES ('7', 0, '\\x0000803f')");
  } finally {
    await client.end();
  }
}

describe('coordinator schema migrations on PostgreSQL', () => {
  let server: PostgresServer;
  let databases = 0;
  const freshDatabase = () => server.createDatabase(`migrations_${++databases}`);

  beforeAll(async () => {
    server = await startPostgres();
  }, 120_000);
  afterAll(() => {
    server?.stop();
  });

  for (let from = 0; from < SCHEMA_VERSION; from++) {
    it(`opens a version ${from} database, brings it to version ${SCHEMA_VERSION} and keeps its rows`, async () => {
      const url = freshDatabase();
      await postgresAt(url, from);
      const store = await PostgresStore.open(url);
      try {
        expect(await store.schemaVersion()).toBe(SCHEMA_VERSION);
        expect(await store.job('7')).toMatchObject({ specHash: '0xabc', state: 'running', publishedAt: 1000 });
        expect((await store.participants('7')).map((p) => [p.signingKey, p.enrolledAt])).toEqual([['k1', 1001]]);
        expect(await store.round('7', 0)).toMatchObject({ stage: 'collect-masked-inputs', roster: ['k1'], startedAt: 1002, closeAttempts: 0, closeError: null });
        expect(await store.events('7', 0)).toEqual([{ seq: 1, kind: 'message', at: 1003, data: Uint8Array.from([1, 2]), grp: null }]);
        expect(Array.from((await store.model('7', 0))!)).toEqual([1]);
        expect(await store.setCloseFailure('7', 0, 'the chain is down', 5000)).toBe(1);
        expect(await store.round('7', 0)).toMatchObject({ closeAttempts: 1, closeError: 'the chain is down', closeRetryAt: 5000 });
        expect((await store.round('7', 0))!.startBlock).toBeNull();
        await store.addRound('7', 1, ['k1'], ['c1'], 1004, null, 42);
        expect((await store.round('7', 1))!.startBlock).toBe(42);
        expect(await store.spendNonces([{ nonce: 'aa', expiresAt: 5000 }])).toEqual([]);
        expect(await store.spendNonces([{ nonce: 'aa', expiresAt: 5000 }, { nonce: 'bb', expiresAt: 5000 }])).toEqual(['aa']);
        // The event log stays append-only after migrating.
        const client = new pg.Client(url);
        await client.connect();
        await expect(client.query("DELETE FROM round_events WHERE job_id = '7'")).rejects.toThrow(/append-only/);
        await client.end();
      } finally {
        await store.close();
      }
    });
  }

  it('migrates once when several coordinators open a new database at the same time', async () => {
    const url = freshDatabase();
    const stores = await Promise.all([1, 2, 3].map(() => PostgresStore.open(url)));
    try {
      for (const s of stores) expect(await s.schemaVersion()).toBe(SCHEMA_VERSION);
      const client = new pg.Client(url);
      await client.connect();
      const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
      await client.end();
      expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('refuses a database a newer coordinator wrote', async () => {
    const url = freshDatabase();
    await postgresAt(url, SCHEMA_VERSION);
    const client = new pg.Client(url);
    await client.connect();
    await client.query("INSERT INTO schema_migrations VALUES ($1, 'from the future', 1)", [SCHEMA_VERSION + 1]);
    await client.end();
    const error = await PostgresStore.open(url).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isTroveError(error, 'INVALID_INPUT')).toBe(true);
    expect((error as Error).message).toMatch(`schema version ${SCHEMA_VERSION + 1}, newer than this coordinator's ${SCHEMA_VERSION}`);
  });

  it('says which server it cannot reach, without the password', async () => {
    const error = await PostgresStore.open(`postgres://trove:hunter2@127.0.0.1:${server.port}/no_such_database`).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isTroveError(error, 'INVALID_INPUT')).toBe(true);
    expect((error as Error).message).toContain(`postgres://127.0.0.1:${server.port}/no_such_database cannot be opened`);
    expect((error as Error).message).not.toContain('hunter2');
  });
});
