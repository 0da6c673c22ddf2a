// The vault-wide state: one sealed record of what the whole file should hold (the log's head, every
// dataset's id and manifest version, a digest of the settings), rewritten in the same transaction as
// every change. Each sealed part proves only itself; this record is what lets verify name a part
// that was removed, put back from an older copy, or rolled back together with its manifest.
import type Database from 'better-sqlite3';
import sodium from 'libsodium-wrappers-sumo';
import { TroveError } from '../../../common/errors.js';
import { SealKind, bytesToHex, openJson, sealJson } from '../../../common/vault-format.js';

export interface VaultState {
  /** Counts every change since the record was started; a copy of the file with a lower one is older. */
  generation: number;
  /** Log sequence number of the entry that started the record; 0 when it started with the vault. */
  startedAt: number;
  log: { seq: number; hash: string };
  /** [dataset id (hex), manifest version], ordered by id. */
  datasets: [string, number][];
  /** BLAKE2b-256 over every settings row (id || sealed) in id order; hex. */
  settings: string;
}

/** The parts of the state read from the file as it is now. */
export type StateContents = Pick<VaultState, 'log' | 'datasets' | 'settings'>;

export type StateProblem =
  | { problem: 'state-missing' }
  | { problem: 'state-damaged' }
  | { problem: 'state-restarted'; seq: number }
  | { problem: 'log-wiped'; expectedSeq: number }
  | { problem: 'log-head-missing'; expectedSeq: number }
  | { problem: 'log-rolled-back'; expectedSeq: number; foundSeq: number }
  | { problem: 'log-replaced'; seq: number }
  | { problem: 'dataset-removed'; dataset: string }
  | { problem: 'dataset-resurrected'; dataset: string }
  | { problem: 'dataset-rolled-back'; dataset: string; expectedVersion: number; foundVersion: number }
  | { problem: 'settings-changed' }
  | { problem: 'file-rolled-back'; foundGeneration: number; seenGeneration: number };

export type StateFinding = StateProblem & { message: string };

export function stateDigestOfSettings(db: Database.Database): string {
  const h = sodium.crypto_generichash_init(null, 32);
  for (const row of db.prepare('SELECT id, sealed FROM settings ORDER BY id').iterate() as Iterable<{ id: Buffer; sealed: Buffer }>) {
    sodium.crypto_generichash_update(h, row.id);
    sodium.crypto_generichash_update(h, row.sealed);
  }
  return bytesToHex(sodium.crypto_generichash_final(h, 32));
}

export function datasetVersions(db: Database.Database): [string, number][] {
  return (db.prepare('SELECT id, manifest_version FROM datasets ORDER BY id').all() as { id: Buffer; manifest_version: number }[]).map((r) => [bytesToHex(r.id), r.manifest_version]);
}

export function readSealedState(db: Database.Database): Buffer | null {
  const row = db.prepare('SELECT state_sealed FROM header WHERE id = 1').get() as { state_sealed: Buffer | null } | undefined;
  return row?.state_sealed ?? null;
}

export function openState(key: Uint8Array, vaultId: Uint8Array, sealed: Uint8Array): VaultState {
  const s = openJson<VaultState>(key, sealed, { kind: SealKind.vaultState, vaultId }, 'record of its contents');
  if (!s || typeof s !== 'object' || !Number.isSafeInteger(s.generation) || !Array.isArray(s.datasets) || typeof s.log?.seq !== 'number') {
    throw new TroveError('CORRUPT_DATA', "The vault's record of its contents failed its integrity check. Restore from a backup.", { what: 'record of its contents' });
  }
  return s;
}

export function writeState(db: Database.Database, key: Uint8Array, vaultId: Uint8Array, state: VaultState): void {
  db.prepare('UPDATE header SET state_sealed = ? WHERE id = 1').run(sealJson(key, state, { kind: SealKind.vaultState, vaultId }));
}

/** What differs between the sealed record and the file: empty when they agree. */
export function compareState(expected: VaultState, found: StateContents & { headMissing: boolean; entries: number }): StateFinding[] {
  const out: StateProblem[] = [];
  const { log } = expected;
  if (log.seq > 0 && found.entries === 0 && found.headMissing) out.push({ problem: 'log-wiped', expectedSeq: log.seq });
  else if (log.seq > 0 && found.headMissing) out.push({ problem: 'log-head-missing', expectedSeq: log.seq });
  else if (found.log.seq < log.seq) out.push({ problem: 'log-rolled-back', expectedSeq: log.seq, foundSeq: found.log.seq });
  else if (found.log.seq !== log.seq || found.log.hash !== log.hash) out.push({ problem: 'log-replaced', seq: found.log.seq });
  const here = new Map(found.datasets);
  const there = new Map(expected.datasets);
  for (const [id, version] of there) {
    const v = here.get(id);
    if (v === undefined) out.push({ problem: 'dataset-removed', dataset: id });
    else if (v !== version) out.push({ problem: 'dataset-rolled-back', dataset: id, expectedVersion: version, foundVersion: v });
  }
  for (const id of here.keys()) if (!there.has(id)) out.push({ problem: 'dataset-resurrected', dataset: id });
  if (found.settings !== expected.settings) out.push({ problem: 'settings-changed' });
  return out.map(describeState);
}

export function describeState(p: StateProblem): StateFinding {
  return { ...p, message: stateMessage(p) };
}

function stateMessage(p: StateProblem): string {
  const restore = 'Restore from a backup made before the change, or keep using the vault knowing this.';
  switch (p.problem) {
    case 'state-missing':
      return `The vault's sealed record of its contents was removed outside Trove, so changes to the file cannot be checked. ${restore}`;
    case 'state-damaged':
      return `The vault's sealed record of its contents was changed outside Trove. ${restore}`;
    case 'state-restarted':
      return `The vault's sealed record of its contents was removed outside Trove and started again at log entry #${p.seq}. ${restore}`;
    case 'log-wiped':
      return `The activity log was erased outside Trove: it should hold ${p.expectedSeq} entries and holds none. ${restore}`;
    case 'log-head-missing':
      return `The activity log's head record was removed outside Trove (the log should end at entry #${p.expectedSeq}). ${restore}`;
    case 'log-rolled-back':
      return `The activity log was put back to an older state outside Trove: it ends at entry #${p.foundSeq}, not #${p.expectedSeq}. ${restore}`;
    case 'log-replaced':
      return `The activity log is not the one Trove last wrote (it ends at entry #${p.seq}): it was replaced outside Trove. ${restore}`;
    case 'dataset-removed':
      return `A dataset (${p.dataset.slice(0, 8)}…) was removed from the vault file outside Trove. ${restore}`;
    case 'dataset-resurrected':
      return `A dataset (${p.dataset.slice(0, 8)}…) is in the file that Trove deleted or never wrote: it was put back from an older copy. ${restore}`;
    case 'dataset-rolled-back':
      return `A dataset (${p.dataset.slice(0, 8)}…) was put back to an older version outside Trove (version ${p.foundVersion}, not ${p.expectedVersion}): records deleted since may be back. ${restore}`;
    case 'settings-changed':
      return `The vault's settings were changed or put back to older values outside Trove. ${restore}`;
    case 'file-rolled-back':
      return `This vault file is older than the one Trove last saw on this device (it holds change #${p.foundGeneration}; Trove saw change #${p.seenGeneration}): an older copy of the whole file was put in its place, so recent changes, deletions included, are undone. Restore your latest backup, or keep using this copy knowing this; nothing will be written to it until then.`;
  }
}
