// "Remember on this device": the passphrase, encrypted by the OS keychain (Electron safeStorage),
// in a file beside the vault. Off unless the user asks for it when unlocking.
import { safeStorage } from 'electron';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { DeviceKeychain } from '../services/session/session.js';

export function safeStorageKeychain(file: string): DeviceKeychain {
  return {
    available: () => safeStorage.isEncryptionAvailable(),
    read: () => {
      if (!existsSync(file)) return null;
      try {
        return safeStorage.decryptString(readFileSync(file));
      } catch {
        return null;
      }
    },
    write: (secret) => writeFileSync(file, safeStorage.encryptString(secret), { mode: 0o600 }),
    clear: () => rmSync(file, { force: true }),
  };
}
