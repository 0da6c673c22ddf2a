// Counts, sizes and durations as people read them, the same in every process that shows one (the
// screens, the activity log's summaries, the CLIs), so one upload is never "0.2 KB" in one place
// and "224 B" in another.

export function formatCount(n: number): string {
  return n.toLocaleString('en');
}

/** "1 record", "2 records": the noun in the singular or plural its count needs. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

/** Bytes in binary units, written KB/MB as most people know them: 224 B, 4.8 KB, 12 MB. */
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

/** A span of time rounded to its largest unit: "45 seconds", "1 minute", "3 hours". */
export function formatDuration(ms: number): string {
  if (ms < 60_000) return plural(Math.round(ms / 1000), 'second');
  if (ms < 3600_000) return plural(Math.round(ms / 60_000), 'minute');
  return plural(Math.round(ms / 3600_000), 'hour');
}
