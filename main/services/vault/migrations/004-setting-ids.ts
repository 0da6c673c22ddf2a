import type { Migration } from './index.js';

/**
 * Settings under opaque ids: a setting's name (which can say which chain and registry the person
 * works with) moves inside its sealed value. Re-sealing needs the settings key, so the old rows wait
 * in `settings_named` until the next unlock moves them (Vault.moveNamedSettings) and drops the table.
 */
export const migration004: Migration = {
  version: 4,
  name: 'settings under opaque ids',
  up(db) {
    db.exec(`
      ALTER TABLE settings RENAME TO settings_named;
      CREATE TABLE settings (
        id BLOB PRIMARY KEY,
        sealed BLOB NOT NULL
      );
    `);
    const { n } = db.prepare('SELECT count(*) AS n FROM settings_named').get() as { n: number };
    if (n === 0) db.exec('DROP TABLE settings_named');
  },
};
