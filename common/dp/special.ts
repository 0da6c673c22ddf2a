// The few special functions the accountant needs, accurate in log space far into the tails.

/** log(exp(a) + exp(b)) without overflow. */
export function logAdd(a: number, b: number): number {
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  if (lo === -Infinity) return hi;
  return Math.log1p(Math.exp(lo - hi)) + hi;
}

const SQRT_PI = Math.sqrt(Math.PI);

/** erf(x) for 0 <= x < 6 by the all-positive series 2/sqrt(pi) e^{-x^2} sum 2^n x^{2n+1} / (2n+1)!!. */
function erfSeries(x: number): number {
  let term = x;
  let sum = x;
  const x2 = x * x;
  for (let n = 1; n < 500; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return ((2 / SQRT_PI) * Math.exp(-x2) * sum);
}

/** log(erfc(x)) for every real x, accurate to ~1e-13 relative even where erfc underflows. */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x < 0) return x < -6 ? Math.LN2 : Math.log(1 + erfSeries(-x));
  if (x < 2) return Math.log(1 - erfSeries(x));
  if (x === Infinity) return -Infinity;
  // Continued fraction erfc(x) = e^{-x^2} / (sqrt(pi) (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))),
  // evaluated from the tail; 200 terms are far more than needed for x >= 2.
  let f = x;
  for (let k = 200; k >= 1; k--) f = x + k / 2 / f;
  return -x * x - Math.log(SQRT_PI) - Math.log(f);
}

export function erfc(x: number): number {
  return Math.exp(logErfc(x));
}

/** The standard normal CDF. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}
