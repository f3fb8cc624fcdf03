/**
 * The hash's shared memory budget and its request pacing, on their own: a disk holds at most its
 * share of the budget, a disk holding nothing is served before one holding some, and pacing lets a
 * burst go at once and makes the next request wait.
 */
import { describe, expect, it } from 'vitest';
import { BlockBuffers, SLOT_BYTES } from '../../../src/providers/aws/block-buffers.js';
import { RequestPacer } from '../../../src/providers/aws/request-pacer.js';

describe('the shared block buffers', () => {
  it('one disk alone may use the whole budget; with two, each is held to half and a waiting disk with nothing goes first', async () => {
    const buffers = new BlockBuffers(4 * SLOT_BYTES);
    const a = {};
    const b = {};
    buffers.join(a);
    const taken = [0, 1, 2, 3].map(() => buffers.tryAcquire(a));
    expect(taken.every((s) => s !== undefined)).toBe(true);
    expect(buffers.tryAcquire(a)).toBeUndefined();

    buffers.join(b);
    expect(buffers.share()).toBe(2);
    const forB = buffers.acquire(b);
    buffers.release(a, taken[0]!);
    await expect(forB).resolves.toBe(taken[0]);
    // a holds 3 of its share of 2: what it gives back goes to b until b has its share.
    const second = buffers.acquire(b);
    buffers.release(a, taken[1]!);
    await expect(second).resolves.toBe(taken[1]);
    buffers.release(a, taken[2]!);
    expect(buffers.tryAcquire(b)).toBeUndefined();
    expect(buffers.tryAcquire(a)).toBe(taken[2]);
  });

  it('a disk that leaves while it waits is answered with an error, and its slots are free again', async () => {
    const buffers = new BlockBuffers(2 * SLOT_BYTES);
    const a = {};
    buffers.join(a);
    const s1 = buffers.tryAcquire(a)!;
    const s2 = buffers.tryAcquire(a)!;
    const waiting = buffers.acquire(a);
    buffers.leave(a);
    await expect(waiting).rejects.toThrow(/ended/);
    buffers.release(a, s1);
    buffers.release(a, s2);
    const c = {};
    buffers.join(c);
    expect(buffers.tryAcquire(c)).toBeDefined();
    expect(buffers.tryAcquire(c)).toBeDefined();
  });

  it('a slot is a view of the shared memory, one block long', () => {
    const buffers = new BlockBuffers(2 * SLOT_BYTES);
    const view = buffers.view(1);
    view[0] = 7;
    expect(view.byteLength).toBe(SLOT_BYTES);
    expect(new Uint8Array(buffers.memory)[SLOT_BYTES]).toBe(7);
  });
});

describe('request pacing', () => {
  it('lets a burst go at once, then makes the next request wait', async () => {
    // One a second: the test never runs slowly enough to earn a token back between the calls.
    const pacer = new RequestPacer(1, 3);
    expect([pacer.take(), pacer.take(), pacer.take()]).toEqual([undefined, undefined, undefined]);
    const next = pacer.take();
    expect(next).toBeInstanceOf(Promise);
    await next;
  });
});
