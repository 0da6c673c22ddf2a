// How numbers, sizes and times read on screen.
import type { ColumnType } from '../../common/dataset.js';

/** Column types in words. */
export const TYPE_LABELS: Record<ColumnType, string> = {
  number: 'Number',
  integer: 'Whole number',
  string: 'Text',
  boolean: 'Yes / no',
  date: 'Date',
  category: 'Category',
};

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en');
}

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

export function formatDuration(ms: number | null): string {
  if (ms === null) return 'Never';
  if (ms < 60_000) return `${Math.round(ms / 1000)} seconds`;
  if (ms < 3600_000) return `${Math.round(ms / 60_000)} minutes`;
  return `${Math.round(ms / 3600_000)} hours`;
}

/** A cell as text: dates (ISO strings from the vault) without a midnight time, the rest as is. */
export function formatCell(v: string | number | boolean | null, type?: string): string {
  if (v === null) return '—';
  if (type === 'date' && typeof v === 'string') return v.endsWith('T00:00:00.000Z') ? v.slice(0, 10) : v.replace('T', ' ').replace(/:\d\d\.\d{3}Z$/, ' UTC');
  if (type === 'boolean' && typeof v === 'boolean') return v ? 'yes' : 'no';
  return String(v);
}
