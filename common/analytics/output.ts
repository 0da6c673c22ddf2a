// The output policy: a contributor's analytics output leaves the worker only if it has the
// declared length and every value is a finite number inside its declared bounds; it is then
// clipped to the L2 bound that the round's noise was sized for. A module that returns anything
// else is refused rather than repaired, so a hostile module cannot smuggle data out through
// NaN payloads or out-of-range values.
import { TroveError } from '../errors.js';
import { outputBounds, outputLength, type AnalyticsJobSpec } from './spec.js';

export function checkOutput(spec: AnalyticsJobSpec, output: ArrayLike<number>): Float64Array {
  const length = outputLength(spec);
  if (output.length !== length) {
    throw new TroveError('ANALYTICS_OUTPUT_REFUSED', `The job's program returned ${output.length} numbers where the job declares ${length}; nothing was sent.`, { length: output.length, declared: length });
  }
  const { min, max, l2 } = outputBounds(spec);
  const out = new Float64Array(length);
  let sumSq = 0;
  for (let i = 0; i < length; i++) {
    const v = output[i]!;
    if (!Number.isFinite(v)) {
      throw new TroveError('ANALYTICS_OUTPUT_REFUSED', `The job's program returned a value that is not a number (at ${i + 1}); nothing was sent.`, { index: i });
    }
    if (v < min[i]! || v > max[i]!) {
      throw new TroveError('ANALYTICS_OUTPUT_REFUSED', `The job's program returned ${v} at ${i + 1}, outside the declared ${min[i]} to ${max[i]}; nothing was sent.`, { index: i, value: v });
    }
    out[i] = v;
    sumSq += v * v;
  }
  const norm = Math.sqrt(sumSq);
  if (norm > l2) {
    const scale = l2 / norm;
    for (let i = 0; i < length; i++) out[i]! *= scale;
  }
  return out;
}
