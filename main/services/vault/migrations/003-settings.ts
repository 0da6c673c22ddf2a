import type { Migration } from './index.js';

/** Sealed settings: each value under the settings key, bound to its name. */
export const migration003: Migration = {
  version: 3,
  name: 'sealed settings',
  up(db) {
    db.exec(`
      CREATE TABLE settings (
        name TEXT PRIMARY KEY,
        sealed BLOB NOT NULL
      );
    `);
  },
};
