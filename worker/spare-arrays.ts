// Large typed arrays kept between a warm worker's tasks. A worker trains on the same dataset round
// after round; fresh arrays of its size are paged in anew every time, which on a busy machine costs
// more than filling them (13 MB: 25-100 ms at load 5, against 0.3 ms to refill arrays already in
// memory). Arrays come back wiped, and at most limitBytes are kept.
type Numeric = Float64Array | Float32Array | Uint8Array;
type NumericConstructor<T extends Numeric> = { new (length: number): T; readonly name: string };

export class SpareArrays {
  private readonly pools = new Map<string, Numeric[]>();
  private bytes = 0;

  constructor(private readonly limitBytes: number) {}

  /** A zeroed array of this type and length: a kept one, or a new one. */
  take<T extends Numeric>(type: NumericConstructor<T>, length: number): T {
    const array = this.pools.get(`${type.name}:${length}`)?.pop() as T | undefined;
    if (!array) return new type(length);
    this.bytes -= array.byteLength;
    return array;
  }

  /** Wipes an array its owner is done with and keeps it, if there is room. */
  keep(array: Numeric): void {
    array.fill(0);
    if (this.bytes + array.byteLength > this.limitBytes) return;
    const key = `${array.constructor.name}:${array.length}`;
    const list = this.pools.get(key) ?? [];
    list.push(array);
    this.pools.set(key, list);
    this.bytes += array.byteLength;
  }
}

/** The worker's one set of spare arrays: the dataset's columns and the training matrix. */
export const spareArrays = new SpareArrays(192 * 1024 * 1024);
