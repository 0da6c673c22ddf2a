import type { Migration } from './index.js';

/**
 * The sealed record of the vault's whole state (log head, dataset versions, settings digest) in the
 * header. Sealing needs the key, so an upgraded file gets its record at the next unlock.
 */
export const migration005: Migration = {
  version: 5,
  name: 'sealed vault state',
  up(db) {
    db.exec('ALTER TABLE header ADD COLUMN state_sealed BLOB');
  },
};
