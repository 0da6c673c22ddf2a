// Reads the columns a task was granted straight from the vault file, in the worker's own memory.
// The grant carries one dataset's data key and the column names; the worker opens the file
// read-only, unseals the dataset's manifest and then only the granted columns' segments (plus the
// record ids), block by block, exactly as docs/vault-format.md lays them out. It never sees the
// passphrase or the master key, and it cannot open any other dataset.
import Database from 'better-sqlite3';
import sodium from 'libsodium-wrappers-sumo';
import type { ColumnData, ColumnSchema, ColumnarRows } from '../common/dataset.js';
import { TroveError } from '../common/errors.js';
import { SealKind, decodeColumnInto, decodeRecordIds, hexToBytes, open, openJson, sodiumReady, KEY_BYTES } from '../common/vault-format.js';
import type { TaskDataSource } from '../common/worker-protocol.js';
import type { DataSourceReader, TaskData } from './data-source.js';
import { spareArrays } from './spare-arrays.js';

type Grant = Extract<TaskDataSource, { kind: 'vault-grant' }>;

/** [block, version, rows, first record id, last record id] */
type BlockEntry = [number, number, number, number, number];

interface Manifest {
  columns: ColumnSchema[];
  rowCount: number;
  blocks: BlockEntry[];
}

export class VaultGrantReader implements DataSourceReader {
  async open(source: TaskDataSource, columns: string[]): Promise<TaskData> {
    if (source.kind !== 'vault-grant') throw new TroveError('INVALID_INPUT', 'Not a vault grant.');
    await sodiumReady();
    // The key is needed only while the columns are unsealed: wiped (in the grant too) right after.
    try {
      const rows = readGranted(source, source.dataKey, columns);
      let released = false;
      const release = (): void => {
        if (!released) recycle(rows);
        released = true;
      };
      return { rows, release };
    } finally {
      sodium.memzero(source.dataKey);
    }
  }
}

function readGranted(grant: Grant, key: Uint8Array, wanted: string[]): ColumnarRows {
  if (key.length !== KEY_BYTES) throw new TroveError('INVALID_INPUT', 'The data grant does not hold a dataset key.');
  for (const c of wanted) {
    if (!grant.columns.includes(c)) {
      throw new TroveError('INVALID_INPUT', `The job reads column "${c}", which this data grant does not cover.`, { column: c });
    }
  }
  let db: Database.Database;
  try {
    db = new Database(grant.vaultPath, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new TroveError('VAULT_NOT_FOUND', 'The vault file named in the data grant could not be opened.', undefined, { cause: err });
  }
  try {
    const header = db.prepare('SELECT vault_id FROM header WHERE id = 1').get() as { vault_id: Buffer } | undefined;
    if (!header) throw new TroveError('CORRUPT_DATA', 'The vault file has no header.');
    const vaultId = new Uint8Array(header.vault_id);
    if (Buffer.from(vaultId).toString('hex') !== grant.vaultId.toLowerCase()) {
      throw new TroveError('INTEGRITY_FAILURE', 'The data grant belongs to another vault.');
    }
    const datasetId = hexToBytes(grant.datasetId);
    const row = db.prepare('SELECT manifest_version, manifest_sealed FROM datasets WHERE id = ?').get(Buffer.from(datasetId)) as
      | { manifest_version: number; manifest_sealed: Buffer }
      | undefined;
    if (!row) throw new TroveError('DATASET_NOT_FOUND', 'The dataset of this job is no longer in the vault.', { id: grant.datasetId });
    const manifest = openJson<Manifest>(
      key,
      new Uint8Array(row.manifest_sealed),
      { kind: SealKind.manifest, vaultId, ownerId: datasetId, version: row.manifest_version },
      'dataset description',
    );
    const indexes = wanted.map((name) => {
      const i = manifest.columns.findIndex((c) => c.name === name);
      if (i < 0) throw new TroveError('COLUMN_NOT_FOUND', `The dataset has no column named "${name}".`, { column: name });
      return i;
    });

    // One query per block for the record ids and every granted column (not one per segment).
    const cols = [0, ...indexes.map((i) => i + 1)];
    const segments = db.prepare(`SELECT col, sealed FROM segments WHERE dataset_id = ? AND block = ? AND col IN (${cols.map(() => '?').join(', ')})`);
    const owner = Buffer.from(datasetId);
    const found = new Map<number, Buffer>();

    // Every column is allocated once for the whole dataset and each block decoded straight into
    // its place: no per-block arrays, no second copy.
    const total = manifest.blocks.reduce((n, b) => n + b[2], 0);
    const recordIds = spareArrays.take(Float64Array, total);
    const out = indexes.map((i) => emptyColumn(manifest.columns[i]!.type, total));
    let at = 0;
    for (const entry of manifest.blocks) {
      const [block, version, rows] = entry;
      if (at + rows > total) throw new TroveError('INTEGRITY_FAILURE', 'A block of this dataset does not hold the records it should.', { block });
      found.clear();
      for (const seg of segments.iterate(owner, block, ...cols) as Iterable<{ col: number; sealed: Buffer }>) found.set(seg.col, seg.sealed);
      for (let k = 0; k < cols.length; k++) {
        const col = cols[k]!;
        const sealed = found.get(col);
        if (!sealed) throw new TroveError('INTEGRITY_FAILURE', 'Part of this dataset is missing from the vault file.', { block, column: col });
        // The BLOB arrives as a fresh Buffer of its own: opened in place, not copied first.
        const plain = open(key, sealed, { kind: SealKind.segment, vaultId, ownerId: datasetId, slot: block, column: col, version }, 'dataset contents');
        try {
          let decoded: number;
          if (k === 0) {
            const ids = decodeRecordIds(plain);
            decoded = ids.length;
            if (decoded === rows) recordIds.set(ids, at);
          } else {
            decoded = decodeColumnInto(plain, out[k - 1]!, at);
          }
          if (decoded !== rows) throw new TroveError('INTEGRITY_FAILURE', 'A block of this dataset does not hold the records it should.', { block });
        } finally {
          plain.fill(0); // the same wipe as sodium.memzero, done natively: it runs byte by byte in JavaScript
        }
      }
      at += rows;
    }
    return { recordIds, columns: out };
  } finally {
    db.close();
  }
}

function emptyColumn(type: ColumnSchema['type'], rows: number): ColumnData {
  if (type === 'string' || type === 'category') return { type, values: new Array<string | null>(rows).fill(null) };
  return { type, values: spareArrays.take(Float64Array, rows), nulls: spareArrays.take(Uint8Array, rows) };
}

/**
 * Wipes a task's columns once it is done with them, keeping the numeric arrays for the next read
 * (a warm worker reads the same dataset round after round: see spare-arrays.ts).
 */
function recycle(rows: ColumnarRows): void {
  spareArrays.keep(rows.recordIds);
  for (const col of rows.columns) {
    if ('nulls' in col) {
      spareArrays.keep(col.values);
      spareArrays.keep(col.nulls);
    } else {
      col.values.fill(null);
    }
  }
}
