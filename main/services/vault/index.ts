export { Vault, type VaultOptions, type ImportOptions, type ImportColumn, type RowsPage, type IntegrityReport } from './vault.js';
export { backupVault, restoreVault, type BackupProgress } from './backup.js';
export { DEFAULT_KDF, INTERACTIVE_KDF, type KdfParams } from './keys.js';
export { SCHEMA_VERSION } from './migrations/index.js';
