import type { Migration } from './index.js';

/**
 * Failed unlocks, noted without the key (only when they happened), so the next unlock can put them
 * in the sealed log and tell the person.
 */
export const migration006: Migration = {
  version: 6,
  name: 'failed unlocks',
  up(db) {
    db.exec('CREATE TABLE unlock_failures (at INTEGER NOT NULL)');
  },
};
