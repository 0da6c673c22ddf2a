import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { Vault, type VaultOptions } from '../../main/services/vault/index.js';

/** Argon2id at its floor: the format and behaviour are the same, the tests just run fast. */
export const FAST_KDF = { opsLimit: 1, memLimit: 8 * 1024 * 1024 };
export const PASSPHRASE = 'correct horse battery staple';

/** A fresh temp folder per test, removed afterwards, with vaults closed first. */
export function useTempDir(): { dir: () => string; file: (name: string, text?: string | Buffer) => string; track: (v: Vault) => Vault } {
  let dir: string | null = null;
  const open: Vault[] = [];
  afterEach(() => {
    for (const v of open.splice(0)) v.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = null;
  });
  const get = () => (dir ??= mkdtempSync(join(tmpdir(), 'trove-test-')));
  return {
    dir: get,
    file(name, text) {
      const p = join(get(), name);
      if (text !== undefined) writeFileSync(p, text);
      return p;
    },
    track(v) {
      open.push(v);
      return v;
    },
  };
}

export async function newVault(t: ReturnType<typeof useTempDir>, opts: VaultOptions = {}, name = 'vault.db'): Promise<Vault> {
  return t.track(await Vault.create(t.file(name), PASSPHRASE, { kdf: FAST_KDF, autoLockMs: null, ...opts }));
}

/** A CSV of people with a column of every type. */
export function peopleCsv(rows: number, marker = 'nobody'): string {
  const cities = ['Oslo', 'Bergen', 'Tromsø', 'Stavanger'];
  const lines = ['name,age,height,member,joined,city,note'];
  for (let i = 0; i < rows; i++) {
    const day = String((i % 28) + 1).padStart(2, '0');
    lines.push(`person ${i},${20 + (i % 50)},${(1.5 + (i % 40) / 100).toFixed(2)},${i % 3 === 0 ? 'yes' : 'no'},2024-03-${day},${cities[i % 4]},"${marker} #${i}, says ""hi"""`);
  }
  return lines.join('\n') + '\n';
}
