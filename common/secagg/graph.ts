// The k-regular neighbour graph of SecAgg+ (Bell et al. 2020): clients sit on a ring in an order
// drawn from the round id, and each is joined to the k/2 clients on either side. Every party
// derives the same graph from the public parameters; k = n - 1 gives the complete graph of SecAgg.
import type { RoundParams } from './params.js';
import { MaskStream, sodiumNow } from './sodium.js';
import { concatBytes } from '../bytes.js';

export class NeighbourGraph {
  readonly clientCount: number;
  readonly neighbourCount: number;
  private readonly complete: boolean;
  /** position[id] = place of client id on the ring. */
  private readonly position: Uint32Array;
  /** order[place] = client id at that place. */
  private readonly order: Uint32Array;

  constructor(params: Pick<RoundParams, 'roundId' | 'clientCount' | 'neighbourCount'>) {
    const n = params.clientCount;
    this.clientCount = n;
    this.neighbourCount = params.neighbourCount;
    this.complete = params.neighbourCount >= n - 1;
    this.order = new Uint32Array(n);
    for (let i = 0; i < n; i++) this.order[i] = i;
    if (!this.complete) {
      // Fisher-Yates with words from a keystream keyed by the round id. The graph is public, so
      // the tiny bias of multiply-shift (at most n / 2^32) does not matter.
      const seed = sodiumNow().crypto_generichash(32, concatBytes(utf8('trove/secagg/graph'), params.roundId), null);
      const stream = new MaskStream();
      stream.expand(seed, n, (words) => {
        for (let i = n - 1; i > 0; i--) {
          const j = Math.floor(((words[i] ?? 0) * (i + 1)) / 4294967296);
          const tmp = this.order[i] ?? 0;
          this.order[i] = this.order[j] ?? 0;
          this.order[j] = tmp;
        }
      });
      stream.dispose();
    }
    this.position = new Uint32Array(n);
    for (let p = 0; p < n; p++) this.position[this.order[p] ?? 0] = p;
  }

  areNeighbours(a: number, b: number): boolean {
    const n = this.clientCount;
    if (a === b || a < 0 || b < 0 || a >= n || b >= n || !Number.isInteger(a) || !Number.isInteger(b)) return false;
    if (this.complete) return true;
    const gap = Math.abs((this.position[a] ?? 0) - (this.position[b] ?? 0));
    return Math.min(gap, n - gap) <= this.neighbourCount / 2;
  }

  /** The neighbours of `id`, in increasing id order. */
  neighbours(id: number): number[] {
    const n = this.clientCount;
    const out: number[] = [];
    if (this.complete) {
      for (let v = 0; v < n; v++) if (v !== id) out.push(v);
      return out;
    }
    const p = this.position[id] ?? 0;
    const half = this.neighbourCount / 2;
    for (let off = 1; off <= half; off++) {
      out.push(this.order[(p + off) % n] ?? 0, this.order[(p - off + n) % n] ?? 0);
    }
    return out.sort((x, y) => x - y);
  }
}

export function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function u32le(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value, true);
  return out;
}
