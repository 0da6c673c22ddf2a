// Work that must not overlap (a vault write, a worker task, a ledger update) run one at a time in
// the order asked: each waits for the one before, whether that one succeeded or failed.
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T> | T): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
