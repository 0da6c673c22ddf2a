// Counts, sizes and durations read the same wherever they are shown, with the right plural.
import { describe, expect, it } from 'vitest';
import { formatBytes, formatDuration, plural } from '../../common/units.js';

describe('units in words', () => {
  it('puts a noun in the singular only for exactly one', () => {
    expect(plural(1, 'minute')).toBe('1 minute');
    expect(plural(0, 'record')).toBe('0 records');
    expect(plural(1462, 'record')).toBe('1,462 records');
    expect(plural(2, 'entry', 'entries')).toBe('2 entries');
  });

  it('rounds a duration to its largest unit', () => {
    expect(formatDuration(1_000)).toBe('1 second');
    expect(formatDuration(60_000)).toBe('1 minute');
    expect(formatDuration(15 * 60_000)).toBe('15 minutes');
    expect(formatDuration(3600_000)).toBe('1 hour');
    expect(formatDuration(4 * 3600_000)).toBe('4 hours');
  });

  it('writes sizes in binary units', () => {
    expect(formatBytes(224)).toBe('224 B');
    expect(formatBytes(4936)).toBe('4.8 KB');
    expect(formatBytes(12 * 1024 * 1024)).toBe('12 MB');
  });
});
