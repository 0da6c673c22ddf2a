// A small strict CSV reader for a researcher's validation set: RFC 4180 fields (quotes, doubled
// quotes, line breaks inside quotes), a header row, and the job's columns read the way the job
// reads them. Anything malformed is an INVALID_INPUT naming the line and column, never a guess.
import type { ColumnData, ColumnarRows } from '../dataset.js';
import { TroveError } from '../errors.js';
import type { TrainingJobSpec } from '../jobspec.js';

function bad(line: number, column: string | null, reason: string): TroveError {
  return new TroveError('INVALID_INPUT', `The validation file is malformed at line ${line}${column ? `, column "${column}"` : ''}: ${reason}.`, { line, column, reason });
}

/** Splits CSV text into records of fields, each with the 1-based line where the record starts. */
export function parseCsvRecords(text: string): { line: number; fields: string[] }[] {
  const out: { line: number; fields: string[] }[] = [];
  let line = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < text.length) {
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let value = '';
      if (text[i] === '"') {
        i++;
        for (;;) {
          if (i >= text.length) throw bad(start, null, 'a quoted field is not closed');
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === '\n') line++;
          value += c;
          i++;
        }
        const after = text[i];
        if (after !== undefined && after !== ',' && after !== '\n' && after !== '\r') throw bad(line, null, 'text follows a closing quote');
      } else {
        while (i < text.length && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          if (text[i] === '"') throw bad(line, null, 'a quote inside an unquoted field');
          value += text[i];
          i++;
        }
      }
      fields.push(value);
      if (text[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++;
    line++;
    if (!(fields.length === 1 && fields[0] === '')) out.push({ line: start, fields });
  }
  return out;
}

/**
 * Reads the columns a training job needs (features in order, label last) from CSV text with a
 * header row. Numeric columns must hold numbers (an empty cell is missing); text columns are
 * taken as written.
 */
export function readValidationCsv(text: string, spec: TrainingJobSpec): ColumnarRows {
  const records = parseCsvRecords(text);
  const header = records[0];
  if (!header) throw bad(1, null, 'the file is empty');
  const index = new Map<string, number>();
  header.fields.forEach((name, j) => {
    if (index.has(name)) throw bad(header.line, name, 'the column name appears twice');
    index.set(name, j);
  });
  const wanted: { column: string; numeric: boolean }[] = [
    ...spec.features.map((f) => ({ column: f.column, numeric: f.kind === 'numeric' })),
    { column: spec.label.column, numeric: spec.label.kind === 'value' },
  ];
  for (const w of wanted) if (!index.has(w.column)) throw bad(header.line, w.column, 'the job reads this column but the file has no such column');
  const rows = records.slice(1);
  for (const r of rows) {
    if (r.fields.length !== header.fields.length) throw bad(r.line, null, `the row has ${r.fields.length} fields, the header ${header.fields.length}`);
  }
  const columns: ColumnData[] = wanted.map((w) => {
    const at = index.get(w.column)!;
    if (w.numeric) {
      const values = new Float64Array(rows.length);
      const nulls = new Uint8Array(rows.length);
      rows.forEach((r, k) => {
        const cell = (r.fields[at] ?? '').trim();
        if (cell === '') {
          nulls[k] = 1;
          values[k] = NaN;
          return;
        }
        const v = Number(cell);
        if (!Number.isFinite(v)) throw bad(r.line, w.column, `"${cell.slice(0, 40)}" is not a number`);
        values[k] = v;
      });
      return { type: 'number', values, nulls };
    }
    return { type: 'category', values: rows.map((r) => (r.fields[at] === '' ? null : (r.fields[at] ?? null))) };
  });
  return { recordIds: Float64Array.from(rows, (_, k) => k), columns };
}
