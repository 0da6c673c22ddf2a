// Schema migrations: numbered, append-only history. PRAGMA user_version is the schema version;
// each step runs in its own transaction, so a crash mid-upgrade leaves the previous version.
import type Database from 'better-sqlite3';
import { TroveError } from '../../../../common/errors.js';
import { migration001 } from './001-datasets.js';
import { migration002 } from './002-activity.js';
import { migration003 } from './003-settings.js';
import { migration004 } from './004-setting-ids.js';
import { migration005 } from './005-vault-state.js';
import { migration006 } from './006-unlock-failures.js';

export interface Migration {
  version: number;
  name: string;
  up(db: Database.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [migration001, migration002, migration003, migration004, migration005, migration006];
export const SCHEMA_VERSION = MIGRATIONS.length;

export function schemaVersion(db: Database.Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/** Brings the file up to `target` (default: the newest). Refuses a file from a newer Trove. */
export function migrate(db: Database.Database, target = SCHEMA_VERSION): number {
  const current = schemaVersion(db);
  if (current > SCHEMA_VERSION) {
    throw new TroveError('VAULT_TOO_NEW', 'This vault was written by a newer version of Trove. Update Trove to open it.', {
      fileVersion: current,
      supported: SCHEMA_VERSION,
    });
  }
  for (const m of MIGRATIONS) {
    if (m.version <= current || m.version > target) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
  return schemaVersion(db);
}
