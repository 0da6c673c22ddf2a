// The order of a contributor's messages from the coordinator, across inbox reads and the answers
// to its own messages: each must come after the last, or the coordinator is breaking the protocol.
import { describe, expect, it } from 'vitest';
import { InboxQueue } from '../../../common/jobs/client.js';

const message = (seq: number) => ({ seq, data: new Uint8Array([seq]) });

describe('a contributor’s queue of messages from the coordinator', () => {
  it('hands them out in order and asks after the last one taken, from an inbox read and an answer alike', () => {
    const queue = new InboxQueue();
    expect(queue.after).toBe(0);
    queue.take([message(1), message(2)]);
    expect(queue.next()?.seq).toBe(1);
    // An answer to the reply brings what follows the last message taken, not the last handled.
    expect(queue.after).toBe(2);
    queue.take([message(3)]);
    expect([queue.next()?.seq, queue.next()?.seq, queue.next()]).toEqual([2, 3, undefined]);
    expect(queue.length).toBe(0);
  });

  it('refuses a message that does not come after the last one, from the same read or a later one', () => {
    const repeated = new InboxQueue();
    repeated.take([message(1), message(2)]);
    // An answer repeating a message the queue already has.
    expect(() => repeated.take([message(2)])).toThrow(expect.objectContaining({ code: 'COORDINATOR_PROTOCOL' }));
    const backwards = new InboxQueue();
    expect(() => backwards.take([message(3), message(1)])).toThrow(expect.objectContaining({ code: 'COORDINATOR_PROTOCOL' }));
    // The control: the next message in order is still taken.
    repeated.take([message(3)]);
    expect(repeated.after).toBe(3);
  });
});
