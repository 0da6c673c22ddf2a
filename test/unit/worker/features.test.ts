import { describe, expect, it } from 'vitest';
import type { ColumnarRows } from '../../../common/dataset.js';
import { isTroveError } from '../../../common/errors.js';
import { parseTrainingJobSpec } from '../../../common/jobspec.js';
import { buildTrainingMatrix } from '../../../common/model/features.js';
import { healthSpec } from '../../fixtures/training-data.js';

function rows(): ColumnarRows {
  const n = 4;
  return {
    recordIds: Float64Array.from([1, 2, 3, 4]),
    columns: [
      { type: 'integer', values: Float64Array.from([18, 90, 54, 30]), nulls: Uint8Array.from([0, 0, 0, 1]) },
      { type: 'number', values: Float64Array.from([60, 70, 50, 60]), nulls: new Uint8Array(n) },
      { type: 'number', values: Float64Array.from([8, 0, 6, 7]), nulls: Uint8Array.from([0, 1, 0, 0]) },
      { type: 'boolean', values: Float64Array.from([1, 0, 1, 0]), nulls: new Uint8Array(n) },
      { type: 'category', values: ['south', 'abroad', null, 'west'] },
      { type: 'category', values: ['good', 'poor', 'good', 'good'] },
    ],
  };
}

describe('feature mapping', () => {
  it('scales, one-hot encodes, imputes and flags as the spec says', () => {
    const m = buildTrainingMatrix(parseTrainingJobSpec(healthSpec()), rows());
    // row 4 has no age and age drops the row
    expect(m.rows).toBe(3);
    expect(m.droppedRows).toBe(1);
    expect(m.width).toBe(11);
    const row = (r: number): number[] => Array.from(m.x.subarray(r * 11, r * 11 + 11), (v) => Number(v.toFixed(5)));
    // age minmax, heart standard, sleep standard + missing flag, smoker [true,false], region [n,s,e,w,other]
    expect(row(0)).toEqual([0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 0]);
    // sleep missing: imputed 7 -> 0 after scaling, flag 1; 'abroad' is not in the vocabulary -> other
    expect(row(1)).toEqual([1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 1]);
    // region missing -> other as well
    expect(row(2)).toEqual([0.5, -1, -1, 0, 1, 0, 0, 0, 0, 0, 1]);
    // classes ['poor', 'good'] one-hot
    expect(Array.from(m.y)).toEqual([0, 1, 1, 0, 0, 1]);
  });

  it('drops rows whose label is missing or not one of the classes', () => {
    const data = rows();
    data.columns[5] = { type: 'category', values: ['good', 'unsure', null, 'good'] };
    const m = buildTrainingMatrix(parseTrainingJobSpec(healthSpec()), data);
    expect(m.rows).toBe(1);
    expect(m.droppedRows).toBe(3);
  });

  it('refuses to read a text column as numbers', () => {
    const data = rows();
    data.columns[1] = { type: 'string', values: ['60', '70', '50', '60'] };
    let caught: unknown;
    try {
      buildTrainingMatrix(parseTrainingJobSpec(healthSpec()), data);
    } catch (err) {
      caught = err;
    }
    expect(isTroveError(caught, 'INVALID_JOB_SPEC')).toBe(true);
    expect((caught as Error).message).toContain('resting_heart_rate');
  });
});
