// Neighbourhood size k and threshold t of SecAgg+ sized as in Bell et al. 2020 (§3.3-3.4) for a
// stated fraction of contributors colluding with the coordinator and a stated dropout rate.
//
// Each client's k neighbours are a uniformly random k-subset of the other n - 1 clients (the ring
// order is a random permutation), so with C = floor(corruptFraction * n) colluders the number of
// colluding neighbours c is hypergeometric. Two events must be rare, union-bounded over n clients:
//  - privacy: c >= 2t - k. An honest neighbour reveals one kind of share, a colluder both; with
//    c < 2t - k no split of the honest ones gives the coordinator t shares of both kinds of any
//    honest client's secrets, and colluders alone never hold t (c < t). Target 2^-securityBits.
//  - completion: more than k - t neighbours drop or collude (each independently with rate
//    dropoutRate + corruptFraction, binomial), and the client's secrets cannot be rebuilt: the
//    round aborts. Target 2^-correctnessBits.
// The smallest even k that meets both wins; when none below n - 1 does, the graph is complete
// (k = n - 1), where c <= C exactly: t is the smallest with 2t > k + C, and completion is best
// effort (a small round aborts more often rather than weaken privacy).
import { TroveError } from '../errors.js';

export interface CollusionAssumptions {
  /** The largest fraction of a round's roster that may collude with the coordinator. */
  corruptFraction: number;
  /** The expected fraction of contributors that drop out during a round. */
  dropoutRate: number;
  /** Privacy fails with probability at most 2^-securityBits per round. */
  securityBits: number;
  /** A round aborts for want of shares with probability at most 2^-correctnessBits. */
  correctnessBits: number;
}

/** The assumptions Trove's jobs are sized for, stated in docs/secure-aggregation.md and on the consent card. */
// 3% colluding and 5% dropping keep k near 60 at n = 1000, inside the client (0.2 s) and server
// unmask (10 s) budgets of bench:secagg; 5% and 10% would need k = 118 and a 15 s unmask.
export const DEFAULT_ASSUMPTIONS: CollusionAssumptions = { corruptFraction: 0.03, dropoutRate: 0.05, securityBits: 40, correctnessBits: 20 };

export interface Neighbourhood {
  neighbourCount: number;
  threshold: number;
  /** C: colluding contributors the round tolerates under the assumptions. */
  colluders: number;
  /** Whether the completion target was met (always true unless the graph is complete). */
  meetsCompletionTarget: boolean;
}

let logFactorials = new Float64Array([0]);

function logFactorial(x: number): number {
  if (x >= logFactorials.length) {
    const grown = new Float64Array(Math.max(x + 1, 2 * logFactorials.length));
    grown.set(logFactorials);
    for (let i = logFactorials.length; i < grown.length; i++) grown[i] = (grown[i - 1] as number) + Math.log(i);
    logFactorials = grown;
  }
  return logFactorials[x] as number;
}

function logChoose(n: number, k: number): number {
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

/** log2 Pr[X >= m] for X ~ Hypergeometric(population N, K marked, k drawn). */
export function log2HypergeometricTail(N: number, K: number, k: number, m: number): number {
  const lo = Math.max(m, 0, k - (N - K));
  const hi = Math.min(K, k);
  if (lo > hi) return -Infinity;
  let sum = 0;
  const base = logChoose(N, k);
  for (let x = lo; x <= hi; x++) sum += Math.exp(logChoose(K, x) + logChoose(N - K, k - x) - base);
  return Math.log2(sum);
}

/** log2 Pr[X >= m] for X ~ Binomial(k, p). */
export function log2BinomialTail(k: number, p: number, m: number): number {
  if (m <= 0) return 0;
  if (m > k || p <= 0) return -Infinity;
  if (p >= 1) return 0;
  let sum = 0;
  for (let x = m; x <= k; x++) sum += Math.exp(logChoose(k, x) + x * Math.log(p) + (k - x) * Math.log1p(-p));
  return Math.log2(sum);
}

const cache = new Map<string, Neighbourhood>();

/** k and t for n clients under `assumptions` (see the header). */
export function neighbourhoodFor(n: number, assumptions: CollusionAssumptions = DEFAULT_ASSUMPTIONS): Neighbourhood {
  const { corruptFraction: g, dropoutRate: d, securityBits, correctnessBits } = assumptions;
  if (!Number.isInteger(n) || n < 2) throw new TroveError('INVALID_INPUT', 'A round needs at least 2 clients.');
  if (!(g >= 0 && d >= 0 && g + d < 1 && securityBits > 0 && correctnessBits > 0)) {
    throw new TroveError('INVALID_INPUT', 'The collusion and dropout assumptions must be fractions that sum to less than 1.');
  }
  const key = `${n}:${g}:${d}:${securityBits}:${correctnessBits}`;
  const known = cache.get(key);
  if (known) return known;
  const colluders = Math.floor(g * n);
  const log2n = Math.log2(n);
  let found: Neighbourhood | undefined;
  for (let k = 2; k < n - 1 && !found; k += 2) {
    // The smallest t whose privacy event is rare enough; a larger t only makes completion harder.
    for (let t = k / 2 + 1; t <= k; t++) {
      if (log2HypergeometricTail(n - 1, colluders, k, 2 * t - k) + log2n > -securityBits) continue;
      if (log2BinomialTail(k, g + d, k - t + 1) + log2n <= -correctnessBits) found = { neighbourCount: k, threshold: t, colluders, meetsCompletionTarget: true };
      break;
    }
  }
  if (!found) {
    const k = n - 1;
    const t = Math.floor((k + colluders) / 2) + 1;
    if (t > k) throw new TroveError('INVALID_INPUT', `A round of ${n} cannot be private with ${colluders} colluding contributors.`, { n, colluders });
    found = { neighbourCount: k, threshold: t, colluders, meetsCompletionTarget: log2BinomialTail(k, g + d, k - t + 1) + log2n <= -correctnessBits };
  }
  cache.set(key, found);
  return found;
}
