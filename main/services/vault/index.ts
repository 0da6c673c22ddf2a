export { Vault, type VaultOptions, type ImportOptions, type ImportColumn, type RowsPage, type IntegrityReport, type VaultGrant } from './vault.js';
export { backupVault, restoreVault, removeStaleTemporaries, type BackupProgress, type LeftOut } from './backup.js';
export { DEFAULT_KDF, INTERACTIVE_KDF, type KdfParams } from './keys.js';
export { SCHEMA_VERSION } from './migrations/index.js';
