import type { Migration } from './index.js';

/** The append-only activity log and its sealed head (last sequence number and chain hash). */
export const migration002: Migration = {
  version: 2,
  name: 'activity log',
  up(db) {
    db.exec(`
      CREATE TABLE activity (
        seq INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        sealed BLOB NOT NULL
      );
      CREATE TABLE activity_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        sealed BLOB NOT NULL
      );
    `);
  },
};
