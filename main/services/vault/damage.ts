// Damage to the vault file shows up as SQLite errors ("database disk image is malformed", "no such
// column") as well as failed seals. Callers get one typed error that names the part that is
// damaged and says what to do, never a raw SQLite error with a stack trace.
import Database from 'better-sqlite3';
import { TroveError } from '../../../common/errors.js';

export function isSqliteError(err: unknown): boolean {
  return err instanceof Database.SqliteError;
}

/** A refusal because the file was damaged or changed outside Trove, as opposed to a bug or bad input. */
export function isDamage(err: unknown): boolean {
  return (err instanceof TroveError && (err.code === 'CORRUPT_DATA' || err.code === 'INTEGRITY_FAILURE')) || isSqliteError(err);
}

/** The typed error for `err` if it is SQLite reporting damage in the part of the file that keeps `what`. */
export function damageError(err: unknown, what: string): unknown {
  if (!isSqliteError(err)) return err;
  const code = (err as { code?: string }).code;
  return new TroveError('CORRUPT_DATA', `The vault file is damaged where it keeps ${what}, so that part cannot be read. Restore it from a backup; the other parts may still be readable.`, { what, sqlite: code }, { cause: err });
}

/** Runs a read, turning SQLite's report of a damaged file into CORRUPT_DATA that names `what`. */
export function guarded<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw damageError(err, what);
  }
}
