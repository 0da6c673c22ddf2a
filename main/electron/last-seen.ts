// The desktop app's record of the last vault state seen on this device: the text of
// main/services/vault/last-seen.ts, encrypted by the OS keychain (Electron safeStorage), so that
// it cannot be edited to match an older vault file. When the keychain cannot encrypt, no record is
// kept (the check is skipped) rather than keeping it in the clear.
import { safeStorage } from 'electron';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { lastSeenStore, type LastSeenStore } from '../services/vault/last-seen.js';

export function safeStorageLastSeen(file: string): LastSeenStore {
  return lastSeenStore(
    () => {
      if (!safeStorage.isEncryptionAvailable() || !existsSync(file)) return null;
      try {
        return safeStorage.decryptString(readFileSync(file));
      } catch {
        return null;
      }
    },
    (text) => {
      if (!safeStorage.isEncryptionAvailable()) return;
      const partial = `${file}.partial`;
      writeFileSync(partial, safeStorage.encryptString(text), { mode: 0o600 });
      renameSync(partial, file);
    },
  );
}
