// The last state of each vault seen on this device, kept outside the vault file. The sealed record
// inside the file names a part rolled back on its own; only a record outside it can tell that the
// whole file was swapped for an older copy. Each vault's sealed record counts its changes
// (`generation`); this keeps the highest count seen per vault id. The CLI keeps it in a small file
// beside the vault, the desktop app in the OS keychain (main/electron/last-seen.ts).
// docs/vault-format.md ("Last state seen on this device") is the exact format.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';

export interface LastSeenStore {
  /** The highest change count seen for this vault id, or null when none was recorded. */
  read(vaultId: string): number | null;
  /** Records a change count for this vault id (raising or, after a restore, resetting it). */
  write(vaultId: string, generation: number): void;
}

export const LAST_SEEN_FORMAT = 1;

interface LastSeenFile {
  format: typeof LAST_SEEN_FORMAT;
  vaults: Record<string, number>;
}

/** The record's text: {"format":1,"vaults":{"<vault id hex>":<generation>,…}}. Anything else reads as empty. */
export function decodeLastSeen(text: string | null): Record<string, number> {
  if (text === null) return {};
  try {
    const parsed = JSON.parse(text) as Partial<LastSeenFile>;
    if (parsed?.format !== LAST_SEEN_FORMAT || typeof parsed.vaults !== 'object' || parsed.vaults === null) return {};
    const out: Record<string, number> = {};
    for (const [id, gen] of Object.entries(parsed.vaults)) if (/^[0-9a-f]{32}$/.test(id) && Number.isSafeInteger(gen) && gen >= 0) out[id] = gen;
    return out;
  } catch {
    return {};
  }
}

export function encodeLastSeen(vaults: Record<string, number>): string {
  return JSON.stringify({ format: LAST_SEEN_FORMAT, vaults } satisfies LastSeenFile);
}

/** A store over any place that keeps one piece of text (a file, a keychain entry). */
export function lastSeenStore(load: () => string | null, save: (text: string) => void): LastSeenStore {
  return {
    read: (vaultId) => decodeLastSeen(load())[vaultId] ?? null,
    write: (vaultId, generation) => save(encodeLastSeen({ ...decodeLastSeen(load()), [vaultId]: generation })),
  };
}

/** The CLI's record: a small file (mode 600), replaced whole so a crash never leaves half of it. */
export function fileLastSeen(file: string): LastSeenStore {
  return lastSeenStore(
    () => (existsSync(file) ? readFileSync(file, 'utf8') : null),
    (text) => {
      const partial = `${file}.partial`;
      writeFileSync(partial, text, { mode: 0o600 });
      renameSync(partial, file);
    },
  );
}

/** Where the CLI keeps the record for the vault at `vaultPath`. */
export function lastSeenFileFor(vaultPath: string): string {
  return `${vaultPath}.last-seen`;
}
