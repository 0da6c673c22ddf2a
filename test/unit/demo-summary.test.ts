import { describe, expect, it } from 'vitest';
import { accuracyChange } from '../../main/cli/demo.js';

describe('the demo says how the model changed, whichever way it went', () => {
  it('reports a gain, a loss, no change and no finished round in neutral words', () => {
    expect(accuracyChange(0.52, 0.56)).toBe('Overall: 4.0 percentage points better than the starting model.');
    expect(accuracyChange(0.52, 0.47)).toBe('Overall: 5.0 percentage points worse than the starting model.');
    expect(accuracyChange(0.5, 0.5002)).toBe('Overall: no change in accuracy (50.0%).');
    expect(accuracyChange(0.5, undefined)).toBe('No round finished, so the model did not change.');
  });
});
