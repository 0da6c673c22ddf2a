// Reading a raw value as a column type, and guessing each column's type from a sample. The
// guess is only a proposal: the person can change any column's type before importing.
import type { CellValue, ColumnType } from '../../../../common/dataset.js';

/** A converted value: numbers for number/integer/date (epoch ms)/boolean (0/1), text otherwise. */
export type Converted = { ok: true; value: number | string | null } | { ok: false; reason: string };

const MISSING = new Set(['', 'na', 'n/a', 'null', 'nan', 'none', '-']);
const TRUE = new Set(['true', 'yes', 'y', 't', '1']);
const FALSE = new Set(['false', 'no', 'n', 'f', '0']);
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const MAX_CATEGORY_LENGTH = 64;

function isMissing(raw: unknown): boolean {
  return raw === null || raw === undefined || (typeof raw === 'string' && MISSING.has(raw.trim().toLowerCase()));
}

function excerpt(raw: unknown): string {
  const s = typeof raw === 'string' ? raw : JSON.stringify(raw);
  return s.length > 40 ? `"${s.slice(0, 37)}..."` : `"${s}"`;
}

export function parseDate(text: string): number | null {
  const m = DATE.exec(text.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const probe = new Date(Date.UTC(year, month - 1, day));
  // Date.UTC rolls 2023-02-30 over to March: refuse dates that do not exist.
  if (probe.getUTCFullYear() !== year || probe.getUTCMonth() !== month - 1 || probe.getUTCDate() !== day) return null;
  if (h === undefined) return probe.getTime();
  if (Number(h) > 23 || Number(mi) > 59 || Number(s ?? 0) > 59) return null;
  const ms = frac ? Math.round(Number(`0${frac}`) * 1000) : 0;
  let t = Date.UTC(year, month - 1, day, Number(h), Number(mi), Number(s ?? 0), ms);
  if (zone && zone !== 'Z') {
    const sign = zone[0] === '-' ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    t -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2))) * 60_000;
  }
  return t;
}

export function convert(raw: unknown, type: ColumnType): Converted {
  if (isMissing(raw) && !(type === 'string' && typeof raw === 'string' && raw !== '')) return { ok: true, value: null };
  switch (type) {
    case 'number':
    case 'integer': {
      let n: number;
      if (typeof raw === 'number') n = raw;
      else if (typeof raw === 'string' && NUMBER.test(raw.trim())) n = Number(raw.trim());
      else return { ok: false, reason: `${excerpt(raw)} is not a number.` };
      if (!Number.isFinite(n)) return { ok: false, reason: `${excerpt(raw)} is too large.` };
      if (type === 'integer' && !Number.isSafeInteger(n)) return { ok: false, reason: `${excerpt(raw)} is not a whole number.` };
      return { ok: true, value: n };
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return { ok: true, value: raw ? 1 : 0 };
      const s = String(raw).trim().toLowerCase();
      if (TRUE.has(s)) return { ok: true, value: 1 };
      if (FALSE.has(s)) return { ok: true, value: 0 };
      return { ok: false, reason: `${excerpt(raw)} is not yes/no or true/false.` };
    }
    case 'date': {
      const t = typeof raw === 'string' ? parseDate(raw) : null;
      return t === null ? { ok: false, reason: `${excerpt(raw)} is not a date (use YYYY-MM-DD or ISO 8601).` } : { ok: true, value: t };
    }
    case 'category': {
      const s = typeof raw === 'string' ? raw.trim() : typeof raw === 'object' ? JSON.stringify(raw) : String(raw);
      return { ok: true, value: s };
    }
    case 'string':
      return { ok: true, value: typeof raw === 'string' ? raw : typeof raw === 'object' ? JSON.stringify(raw) : String(raw) };
  }
}

/** The narrowest type every non-missing sample fits, with category for short repeated text. */
export function inferType(samples: readonly unknown[]): ColumnType {
  const present = samples.filter((v) => !isMissing(v));
  if (present.length === 0) return 'string';
  // A few bad values should not make a number column text: they become rejected rows instead.
  const tolerated = Math.floor(present.length * 0.05);
  const fits = (test: (v: unknown) => boolean) => present.filter((v) => !test(v)).length <= tolerated;
  const all = (type: ColumnType) => fits((v) => convert(v, type).ok);
  if (fits((v) => typeof v === 'boolean' || (typeof v === 'string' && /^(true|false|yes|no)$/i.test(v.trim())))) return 'boolean';
  if (all('integer')) return 'integer';
  if (all('number')) return 'number';
  if (fits((v) => typeof v === 'string' && parseDate(v) !== null)) return 'date';
  const texts = present.map((v) => (typeof v === 'string' ? v.trim() : JSON.stringify(v)));
  const distinct = new Set(texts);
  if (present.length >= 4 && distinct.size <= 32 && distinct.size <= present.length / 2 && texts.every((t) => t.length <= MAX_CATEGORY_LENGTH)) {
    return 'category';
  }
  return 'string';
}

/** A converted value as the vault hands it out (dates as ISO strings, booleans as booleans). */
export function toCell(value: number | string | null, type: ColumnType): CellValue {
  if (value === null) return null;
  if (type === 'date') return new Date(value as number).toISOString();
  if (type === 'boolean') return value === 1;
  return value;
}
