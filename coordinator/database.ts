// Opens the coordinator's database named on the command line: a postgres:// URL is a PostgreSQL
// server (deployments, several coordinator processes); anything else is a SQLite file.
import type { CoordinatorStore } from './store.js';
import { PostgresStore } from './store-postgres.js';
import { SqliteStore } from './store-sqlite.js';

export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//i.test(database);
}

export async function openStore(database: string): Promise<CoordinatorStore> {
  return isPostgresUrl(database) ? PostgresStore.open(database) : new SqliteStore(database);
}
