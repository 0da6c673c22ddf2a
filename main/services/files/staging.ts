// Files the user handed to the app, waiting to be imported or restored. The desktop app stages a
// file by its path (the user chose it in a dialog or dropped it); a browser host uploads its bytes
// into a private temp folder. Either way the rest of the app only ever sees an opaque token.
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import { TroveError } from '../../../common/errors.js';

export interface StagedFile {
  token: string;
  name: string;
  size: number;
}

interface Entry extends StagedFile {
  path: string;
  /** Uploads are ours to delete; staged paths belong to the user. */
  owned: boolean;
  fd: number | null;
  received: number;
  complete: boolean;
}

const MAX_UPLOAD_BYTES = 4 * 1024 ** 3;
const MAX_OPEN_UPLOADS = 8;

function safeName(name: string): string {
  const cleaned = [...basename(name.replace(/\\/g, '/'))]
    .map((ch) => (ch.charCodeAt(0) < 0x20 || '<>:"|?*'.includes(ch) ? '_' : ch))
    .join('')
    .trim();
  return cleaned && cleaned !== '.' && cleaned !== '..' ? cleaned.slice(0, 200) : 'file';
}

function notStaged(): TroveError {
  return new TroveError('INVALID_INPUT', 'That file is no longer available. Choose it again.');
}

export class FileStaging {
  private readonly entries = new Map<string, Entry>();

  /** `folder`: a private folder for uploads. `allowPaths`: whether callers may stage by path. */
  constructor(private readonly folder: string, private readonly allowPaths: boolean) {}

  stagePath(path: string): StagedFile {
    if (!this.allowPaths) throw new TroveError('INVALID_INPUT', 'Files cannot be chosen by path here. Choose the file again.');
    let size: number;
    try {
      const st = statSync(path);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
    } catch {
      throw new TroveError('UNREADABLE_FILE', `${basename(path)} could not be opened. Check that it still exists and is a file.`);
    }
    const token = randomBytes(16).toString('hex');
    const entry: Entry = { token, name: basename(path), size, path, owned: false, fd: null, received: size, complete: true };
    this.entries.set(token, entry);
    return { token, name: entry.name, size };
  }

  beginUpload(name: string, size: number): { token: string } {
    if (size > MAX_UPLOAD_BYTES) throw new TroveError('INVALID_INPUT', 'That file is larger than Trove can import (4 GiB).');
    const open = [...this.entries.values()].filter((e) => !e.complete).length;
    if (open >= MAX_OPEN_UPLOADS) throw new TroveError('VAULT_BUSY', 'Too many files are being sent at once. Wait for one to finish.');
    const token = randomBytes(16).toString('hex');
    const dir = join(this.folder, token);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, safeName(name));
    const fd = openSync(path, 'wx', 0o600);
    this.entries.set(token, { token, name: safeName(name), size, path, owned: true, fd, received: 0, complete: false });
    return { token };
  }

  appendUpload(token: string, chunk: Uint8Array): { received: number } {
    const e = this.entries.get(token);
    if (!e || e.complete || e.fd === null) throw notStaged();
    if (e.received + chunk.length > e.size) {
      this.discard(token);
      throw new TroveError('INVALID_INPUT', 'More data arrived than the file holds. Choose the file again.');
    }
    writeSync(e.fd, chunk);
    e.received += chunk.length;
    return { received: e.received };
  }

  finishUpload(token: string): StagedFile {
    const e = this.entries.get(token);
    if (!e || e.complete || e.fd === null) throw notStaged();
    if (e.received !== e.size) {
      this.discard(token);
      throw new TroveError('UNREADABLE_FILE', 'The file did not arrive whole. Choose it again.');
    }
    closeSync(e.fd);
    e.fd = null;
    e.complete = true;
    return { token, name: e.name, size: e.size };
  }

  /** The path of a complete staged file. */
  pathOf(token: string): string {
    const e = this.entries.get(token);
    if (!e || !e.complete) throw notStaged();
    return e.path;
  }

  discard(token: string): void {
    const e = this.entries.get(token);
    if (!e) return;
    this.entries.delete(token);
    if (e.fd !== null) closeSync(e.fd);
    if (e.owned) rmSync(join(this.folder, token), { recursive: true, force: true });
  }

  discardAll(): void {
    for (const token of [...this.entries.keys()]) this.discard(token);
  }
}
