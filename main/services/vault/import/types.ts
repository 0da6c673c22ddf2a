// Reading a raw value as a column type, and guessing each column's type from a sample. The
// guess is only a proposal: the person can change any column's type before importing.
import { type CellValue, type ColumnData, type ColumnType, isTextColumn } from '../../../../common/dataset.js';

/** A converted value: numbers for number/integer/date (epoch ms)/boolean (0/1), text otherwise. */
export type Converted = { ok: true; value: number | string | null } | { ok: false; reason: string };

const MISSING = new Set(['', 'na', 'n/a', 'null', 'nan', 'none', '-']);
const TRUE = new Set(['true', 'yes', 'y', 't', '1']);
const FALSE = new Set(['false', 'no', 'n', 'f', '0']);
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const MAX_CATEGORY_LENGTH = 64;

function isMissing(raw: unknown): boolean {
  if (raw === null || raw === undefined) return true;
  if (typeof raw !== 'string') return false;
  const n = raw.length;
  if (n === 0) return true;
  const first = raw.charCodeAt(0);
  if (first > 32 && raw.charCodeAt(n - 1) > 32) {
    // No missing-value word is longer than 4 characters, and each starts with n, N or "-": other
    // text without edge spaces is a value, found without making a lower-case copy of it.
    if (n > 4 || (first !== 110 && first !== 78 && first !== 45)) return false;
    return MISSING.has(raw.toLowerCase());
  }
  return MISSING.has(raw.trim().toLowerCase());
}

function trimmed(s: string): string {
  const n = s.length;
  return n > 0 && s.charCodeAt(0) > 32 && s.charCodeAt(n - 1) > 32 ? s : s.trim();
}

function excerpt(raw: unknown): string {
  const s = typeof raw === 'string' ? raw : JSON.stringify(raw);
  return s.length > 40 ? `"${s.slice(0, 37)}..."` : `"${s}"`;
}

function daysIn(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function digitsAt(s: string, from: number, n: number): number {
  let v = 0;
  for (let i = from; i < from + n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Date.UTC of a valid date, by arithmetic (days from the civil calendar, as in H. Hinnant's
 * algorithms): Date.UTC is a call into the runtime that cost more than the rest of reading an ISO
 * timestamp. Years below 100 go to Date.UTC itself, which reads them as 1900 + year.
 */
function utcMs(year: number, month: number, day: number, h: number, mi: number, sec: number, ms: number): number {
  if (year < 100) return Date.UTC(year, month - 1, day, h, mi, sec, ms);
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const days = era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
  return days * 86_400_000 + h * 3_600_000 + mi * 60_000 + sec * 1000 + ms;
}

/**
 * The shapes machines write (YYYY-MM-DD, and YYYY-MM-DDTHH:MM:SS[.sss]Z) read without a regular
 * expression; undefined means "another shape", for the general parser.
 */
function parseCommonDate(s: string): number | null | undefined {
  const n = s.length;
  if ((n !== 10 && n !== 20 && n !== 24) || s.charCodeAt(4) !== 45 || s.charCodeAt(7) !== 45) return undefined;
  const year = digitsAt(s, 0, 4);
  const month = digitsAt(s, 5, 2);
  const day = digitsAt(s, 8, 2);
  if (year < 0 || month < 0 || day < 0) return undefined;
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return null;
  if (n === 10) return utcMs(year, month, day, 0, 0, 0, 0);
  if (s.charCodeAt(10) !== 84 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58 || s.charCodeAt(n - 1) !== 90) return undefined;
  if (n === 24 && s.charCodeAt(19) !== 46) return undefined;
  const h = digitsAt(s, 11, 2);
  const mi = digitsAt(s, 14, 2);
  const sec = digitsAt(s, 17, 2);
  const ms = n === 24 ? digitsAt(s, 20, 3) : 0;
  if (h < 0 || mi < 0 || sec < 0 || ms < 0) return undefined;
  if (h > 23 || mi > 59 || sec > 59) return null;
  return utcMs(year, month, day, h, mi, sec, ms);
}

const SLASHED = /^(\d{4})\/(\d{2})\/(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/;
const MONTH_FIRST = /^([a-z]{3,9})\.? (\d{1,2}),? (\d{4})$/;
const DAY_FIRST = /^(\d{1,2}) ([a-z]{3,9})\.?,? (\d{4})$/;
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const MONTH_NAMES = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

function monthNumber(name: string): number {
  const i = name.length === 3 ? MONTHS.indexOf(name) : MONTH_NAMES.indexOf(name);
  return i < 0 ? (name === 'sept' ? 9 : -1) : i + 1;
}

function utcDate(year: number, month: number, day: number, h = 0, mi = 0, sec = 0): number | null {
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || h > 23 || mi > 59 || sec > 59) return null;
  return Date.UTC(year, month - 1, day, h, mi, sec);
}

/**
 * Unambiguous shapes other than ISO that exports use: "2015/01/01 01:00:00", "Jun 12 1998",
 * "June 12, 1998", "12 Jun 1998". Numeric day/month orders ("05/03/2024") stay text: which is the
 * month cannot be known.
 */
function parseOtherDate(text: string): number | null {
  const s = trimmed(text).toLowerCase().replace(/\s+/g, ' ');
  let m = SLASHED.exec(s);
  if (m) return utcDate(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0));
  m = MONTH_FIRST.exec(s);
  if (m) return utcDate(Number(m[3]), monthNumber(m[1]!), Number(m[2]));
  m = DAY_FIRST.exec(s);
  if (m) return utcDate(Number(m[3]), monthNumber(m[2]!), Number(m[1]));
  return null;
}

export function parseDate(text: string): number | null {
  const common = parseCommonDate(text);
  if (common !== undefined) return common;
  const m = DATE.exec(trimmed(text));
  if (!m) return text.length <= 40 ? parseOtherDate(text) : null;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month)) return null;
  if (h === undefined) return Date.UTC(year, month - 1, day);
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

/** Returned by toValue for a value that does not fit the column; whyInvalid says why. */
export const INVALID = Symbol('invalid');

/**
 * A present (not missing) raw value of a number, integer, boolean or date column as the number it
 * is stored as; NaN when it does not fit (no stored value is NaN: numbers must be finite).
 */
function numberOf(raw: unknown, type: FixedType): number {
  switch (type) {
    case 'number':
    case 'integer': {
      let n: number;
      if (typeof raw === 'number') n = raw;
      else if (typeof raw === 'string') {
        const t = trimmed(raw);
        if (!NUMBER.test(t)) return NaN;
        n = Number(t);
      } else return NaN;
      if (!Number.isFinite(n)) return NaN;
      return type === 'integer' && !Number.isSafeInteger(n) ? NaN : n;
    }
    case 'boolean': {
      if (typeof raw === 'boolean') return raw ? 1 : 0;
      const s = trimmed(String(raw)).toLowerCase();
      return TRUE.has(s) ? 1 : FALSE.has(s) ? 0 : NaN;
    }
    case 'date':
      return typeof raw === 'string' ? (parseDate(raw) ?? NaN) : NaN;
  }
}

/** The column types stored as numbers: number, integer, boolean (0/1) and date (epoch ms). */
export type FixedType = Exclude<ColumnType, 'string' | 'category'>;

/** A raw value of a string or category column as stored: text, or null when missing. */
function textOf(raw: unknown, type: 'string' | 'category'): string | null {
  if (type === 'string') {
    if (typeof raw === 'string') return raw === '' ? null : raw;
    if (raw === null || raw === undefined) return null;
    return typeof raw === 'object' ? JSON.stringify(raw) : String(raw);
  }
  if (isMissing(raw)) return null;
  return typeof raw === 'string' ? trimmed(raw) : typeof raw === 'object' ? JSON.stringify(raw) : String(raw);
}

/**
 * A raw value as the column type stores it: numbers for number/integer/date (epoch ms)/boolean
 * (0/1), text otherwise, null when missing.
 */
export function toValue(raw: unknown, type: ColumnType): number | string | null | typeof INVALID {
  if (type === 'string' || type === 'category') return textOf(raw, type);
  if (isMissing(raw)) return null;
  const n = numberOf(raw, type);
  return Number.isNaN(n) ? INVALID : n;
}

/**
 * The import's hot path: a raw value converted straight into row i of its block's column, so no
 * value is boxed or gathered into a row on the way. False when it does not fit (whyInvalid says why).
 */
export function putValue(raw: unknown, column: ColumnData, i: number): boolean {
  if (isTextColumn(column)) {
    column.values[i] = textOf(raw, column.type);
    return true;
  }
  if (isMissing(raw)) {
    column.nulls[i] = 1;
    column.values[i] = 0;
    return true;
  }
  const n = numberOf(raw, column.type);
  if (Number.isNaN(n)) return false;
  column.nulls[i] = 0;
  column.values[i] = n;
  return true;
}

export function whyInvalid(raw: unknown, type: ColumnType): string {
  switch (type) {
    case 'number':
      return typeof raw === 'number' || (typeof raw === 'string' && NUMBER.test(trimmed(raw))) ? `${excerpt(raw)} is too large.` : `${excerpt(raw)} is not a number.`;
    case 'integer':
      return typeof raw === 'string' && !NUMBER.test(trimmed(raw)) ? `${excerpt(raw)} is not a number.` : `${excerpt(raw)} is not a whole number.`;
    case 'boolean':
      return `${excerpt(raw)} is not yes/no or true/false.`;
    case 'date':
      return `${excerpt(raw)} is not a date (use YYYY-MM-DD or ISO 8601).`;
    default:
      return `${excerpt(raw)} cannot be stored as ${type}.`;
  }
}

export function convert(raw: unknown, type: ColumnType): Converted {
  const value = toValue(raw, type);
  return value === INVALID ? { ok: false, reason: whyInvalid(raw, type) } : { ok: true, value };
}

const BOOLEAN_WORD = /^(true|false|yes|no)$/i;
const MAX_CATEGORIES = 32;

/**
 * What a column's values fit, counted value by value over the whole file, so the type proposed
 * is one every value takes: a fraction after a thousand whole numbers makes the column a number,
 * a third answer in a yes/no column makes it a category. Only values that fit no reading at all
 * ("n/a?" among numbers, "2024-02-30" among dates) are left to be rejected, up to 5% of them.
 */
export class TypeTally {
  private present = 0;
  private notBoolean = 0;
  private notNumber = 0;
  private notInteger = 0;
  private notDate = 0;
  private zeroPadded = false;
  private longText = false;
  private readonly distinct = new Set<string>();

  add(raw: unknown): void {
    if (isMissing(raw)) return;
    const present = ++this.present;
    const text = typeof raw === 'string' ? trimmed(raw) : typeof raw === 'object' ? JSON.stringify(raw) : String(raw);
    if (this.notBoolean === 0 && typeof raw !== 'boolean' && !(typeof raw === 'string' && BOOLEAN_WORD.test(text))) this.notBoolean++;
    // A reading that more than 5% of a thousand or more values miss is out for good: long text
    // columns then cost one check per value, not four.
    if (!this.ruledOut(this.notNumber, present)) {
      const n = toValue(raw, 'number');
      if (n === INVALID) this.notNumber++;
      else if (!Number.isSafeInteger(n)) this.notInteger++;
    }
    // Digits with a leading zero are codes (zip "00501", county "09005"), not amounts: as numbers
    // they would lose the zero, so a column holding any of them is text.
    if (!this.zeroPadded && typeof raw === 'string' && text.length > 1 && text.charCodeAt(0) === 48 && /^0\d+$/.test(text)) this.zeroPadded = true;
    if (!this.ruledOut(this.notDate, present) && (typeof raw !== 'string' || parseDate(raw) === null)) this.notDate++;
    if (text.length > MAX_CATEGORY_LENGTH) this.longText = true;
    if (this.distinct.size <= MAX_CATEGORIES) this.distinct.add(text);
  }

  private ruledOut(misses: number, present: number): boolean {
    return misses > 1000 && misses > present * 0.05;
  }

  /** The narrowest type all values fit (junk aside), and how many values it will refuse. */
  guess(): { type: ColumnType; invalid: number } {
    const present = this.present;
    if (present === 0) return { type: 'string', invalid: 0 };
    const tolerated = Math.floor(present * 0.05);
    if (!this.zeroPadded) {
      if (this.notBoolean === 0) return { type: 'boolean', invalid: 0 };
      if (this.notNumber <= tolerated) return { type: this.notInteger === 0 ? 'integer' : 'number', invalid: this.notNumber };
    }
    if (this.notDate <= tolerated) return { type: 'date', invalid: this.notDate };
    const size = this.distinct.size;
    if (present >= 4 && size <= MAX_CATEGORIES && size <= present / 2 && !this.longText) return { type: 'category', invalid: 0 };
    return { type: 'string', invalid: 0 };
  }
}

/** A converted value as the vault hands it out (dates as ISO strings, booleans as booleans). */
export function toCell(value: number | string | null, type: ColumnType): CellValue {
  if (value === null) return null;
  if (type === 'date') return new Date(value as number).toISOString();
  if (type === 'boolean') return value === 1;
  return value;
}
