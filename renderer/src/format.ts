// How numbers, sizes and times read on screen.
import type { ColumnType } from '../../common/dataset.js';
import { formatDuration } from '../../common/units.js';

export { formatBytes, formatCount, formatDuration, plural } from '../../common/units.js';

/** Column types in words. */
export const TYPE_LABELS: Record<ColumnType, string> = {
  number: 'Number',
  integer: 'Whole number',
  string: 'Text',
  boolean: 'Yes / no',
  date: 'Date',
  category: 'Category',
};

export function formatTime(ms: number): string {
  return new Date(ms).toLocaleString('en', { dateStyle: 'medium', timeStyle: 'short' });
}

export function formatDate(ms: number): string {
  return new Date(ms).toLocaleDateString('en', { dateStyle: 'long' });
}

export function formatNumber(v: number | null, type?: string): string {
  if (v === null) return '—';
  if (type === 'date') return new Date(v).toISOString().slice(0, 10);
  if (Number.isInteger(v)) return v.toLocaleString('en');
  return v.toLocaleString('en', { maximumFractionDigits: 3 });
}

/** An auto-lock setting: a duration, or never. */
export function formatLockAfter(ms: number | null): string {
  return ms === null ? 'Never' : formatDuration(ms);
}

/** A cell as text: dates (ISO strings from the vault) without a midnight time, the rest as is. */
export function formatCell(v: string | number | boolean | null, type?: string): string {
  if (v === null) return '—';
  if (type === 'date' && typeof v === 'string') return v.endsWith('T00:00:00.000Z') ? v.slice(0, 10) : v.replace('T', ' ').replace(/:\d\d\.\d{3}Z$/, ' UTC');
  if (type === 'boolean' && typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}
