import { describe, expect, it } from 'vitest';
import { checkOutput } from '../../../common/analytics/output.js';
import { analyticsColumns, noiseStdDev, outputBounds, outputLabels, outputLength, parseAnalyticsJobSpec } from '../../../common/analytics/spec.js';
import { isTroveError } from '../../../common/errors.js';

const histogram = {
  kind: 'federated-analytics',
  maxRows: 60,
  computation: { kind: 'histogram', column: 'sleep_hours', edges: [0, 5, 6, 7, 8, 9, 24], groupBy: { column: 'mood', categories: ['low', 'okay', 'good', 'great'] } },
};

const moduleSpec = {
  kind: 'federated-analytics',
  maxRows: 1000,
  computation: {
    kind: 'module',
    sha256: 'a'.repeat(64),
    describes: 'the mean of sleep hours',
    columns: ['sleep_hours'],
    output: { length: 2, min: -10, max: 1000 },
    maxMemoryPages: 16,
    timeLimitMs: 2000,
  },
};

function refusal(input: unknown): string {
  try {
    parseAnalyticsJobSpec(input);
  } catch (err) {
    if (isTroveError(err, 'INVALID_JOB_SPEC')) return String(err.details?.path);
    throw err;
  }
  throw new Error('the spec was accepted');
}

describe('analytics job spec', () => {
  it('derives the output length, the columns read and the labels from a grouped histogram', () => {
    const spec = parseAnalyticsJobSpec(histogram);
    expect(outputLength(spec)).toBe(24);
    expect(analyticsColumns(spec)).toEqual(['sleep_hours', 'mood']);
    expect(outputLabels(spec)[6]).toBe('mood okay, sleep_hours 0 to 5');
  });

  it('sizes the noise from the bounds: counts by maxRows, a sum by maxRows x the largest value', () => {
    expect(outputBounds(parseAnalyticsJobSpec(histogram)).l2).toBe(60);
    const sum = parseAnalyticsJobSpec({ kind: 'federated-analytics', maxRows: 10, computation: { kind: 'sum', value: { column: 'x', min: -2, max: 5 } } });
    expect(outputBounds(sum)).toMatchObject({ l2: 50 });
    expect(Array.from(outputBounds(sum).min)).toEqual([-20]);
    expect(noiseStdDev(sum, 0.5)).toBe(25);
    const mod = parseAnalyticsJobSpec(moduleSpec);
    expect(outputBounds(mod).l2).toBeCloseTo(Math.sqrt(2) * 1000);
  });

  it('refuses bad documents with a typed error naming the field', () => {
    expect(refusal({ ...histogram, computation: { ...histogram.computation, edges: [0, 5, 5, 9] } })).toBe('computation.edges.2');
    expect(refusal({ ...histogram, maxRows: 0 })).toBe('maxRows');
    expect(refusal({ ...moduleSpec, computation: { ...moduleSpec.computation, sha256: 'A'.repeat(64) } })).toBe('computation.sha256');
    expect(refusal({ ...moduleSpec, computation: { ...moduleSpec.computation, maxMemoryPages: 100_000 } })).toBe('computation.maxMemoryPages');
    expect(refusal({ ...moduleSpec, computation: { ...moduleSpec.computation, output: { length: 2, min: 3, max: 3 } } })).toBe('computation.output.max');
    expect(refusal({ kind: 'federated-analytics', maxRows: 5, computation: { kind: 'cross-tabulation', rows: { column: 'a', categories: ['x'] }, columns: { column: 'a', categories: ['y'] } } })).toBe('computation.columns.column');
    expect(refusal({ ...histogram, extra: 1 })).toBe('');
  });
});

describe('output policy', () => {
  const spec = parseAnalyticsJobSpec(moduleSpec);
  const code = (output: number[]): string | undefined => {
    try {
      checkOutput(spec, output);
      return undefined;
    } catch (err) {
      return isTroveError(err) ? err.code : 'untyped';
    }
  };

  it('passes an output of the declared length within bounds, unchanged', () => {
    expect(Array.from(checkOutput(spec, [3, 7]))).toEqual([3, 7]);
  });

  it('refuses the wrong length, NaN, infinities and values out of bounds', () => {
    expect(code([1])).toBe('ANALYTICS_OUTPUT_REFUSED');
    expect(code([1, 2, 3])).toBe('ANALYTICS_OUTPUT_REFUSED');
    expect(code([NaN, 2])).toBe('ANALYTICS_OUTPUT_REFUSED');
    expect(code([1, Infinity])).toBe('ANALYTICS_OUTPUT_REFUSED');
    expect(code([-11, 2])).toBe('ANALYTICS_OUTPUT_REFUSED');
    expect(code([1, 1000.5])).toBe('ANALYTICS_OUTPUT_REFUSED');
  });

  it('clips to the L2 bound the noise was sized for', () => {
    const small = parseAnalyticsJobSpec({ ...moduleSpec, computation: { ...moduleSpec.computation, output: { length: 2, min: 0, max: 1 } } });
    const out = checkOutput(small, [1, 1]);
    expect(Math.hypot(out[0]!, out[1]!)).toBeLessThanOrEqual(Math.SQRT2 + 1e-12);
    const counts = parseAnalyticsJobSpec({ kind: 'federated-analytics', maxRows: 4, computation: { kind: 'histogram', column: 'x', edges: [0, 1, 2] } });
    const clipped = checkOutput(counts, [4, 4]);
    expect(Math.hypot(clipped[0]!, clipped[1]!)).toBeCloseTo(4);
  });
});
