// How fast this computer multiplies and adds, measured once, for the resource estimate on a job's
// card ("about 3 minutes a round on this computer"). A plain loop is slower than the worker's
// kernels, so the estimate errs long, which is the safe side for refusing time bombs.

let measured: number | null = null;

/** Multiply-adds a second of a tight float loop on this computer (measured for about 20 ms, once). */
export function machineFlopsPerSecond(): number {
  if (measured !== null) return measured;
  const a = new Float32Array(4096).map((_, i) => (i % 7) / 7);
  const b = new Float32Array(4096).map((_, i) => (i % 5) / 5);
  let sum = 0;
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < 20) {
    for (let i = 0; i < a.length; i++) sum += a[i]! * b[i]!;
    ops += a.length;
    elapsed = performance.now() - start;
  }
  // `sum` is used so the loop cannot be optimised away.
  measured = Number.isFinite(sum) ? (ops / elapsed) * 1000 : ops;
  return measured;
}
