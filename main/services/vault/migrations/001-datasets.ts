import type { Migration } from './index.js';

/** The header (key-derivation parameters, wrapped master key), datasets and their column segments. */
export const migration001: Migration = {
  version: 1,
  name: 'header, datasets and sealed column segments',
  up(db) {
    db.exec(`
      CREATE TABLE header (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        format_version INTEGER NOT NULL,
        vault_id BLOB NOT NULL,
        kdf_algorithm TEXT NOT NULL,
        kdf_ops INTEGER NOT NULL,
        kdf_mem INTEGER NOT NULL,
        kdf_salt BLOB NOT NULL,
        master_key_sealed BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        checksum BLOB NOT NULL
      );
      CREATE TABLE datasets (
        id BLOB PRIMARY KEY,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        data_key_sealed BLOB NOT NULL,
        manifest_version INTEGER NOT NULL,
        manifest_sealed BLOB NOT NULL
      );
      CREATE TABLE segments (
        dataset_id BLOB NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
        block INTEGER NOT NULL,
        col INTEGER NOT NULL,
        version INTEGER NOT NULL,
        sealed BLOB NOT NULL,
        PRIMARY KEY (dataset_id, block, col)
      );
    `);
  },
};
