import { describe, expect, it } from 'vitest';
import { createScopedScheduler } from '../../src/core/concurrency.js';
import { deferred } from './fakes.js';

describe('createScopedScheduler', () => {
  it('a busy account does not hold back another account queued behind it', async () => {
    const scheduler = createScopedScheduler({ perScope: 1, total: 4 });
    const started: string[] = [];
    const gateA = deferred();
    const runs = [
      scheduler.run('A', async () => { started.push('a1'); await gateA.promise; }),
      scheduler.run('A', async () => { started.push('a2'); }),
      scheduler.run('B', async () => { started.push('b1'); }),
    ];
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['a1', 'b1']);
    gateA.resolve();
    await Promise.all(runs);
    expect(started).toEqual(['a1', 'b1', 'a2']);
  });

  it('a task that throws frees its slot and its caller sees the error', async () => {
    const scheduler = createScopedScheduler({ perScope: 1, total: 1 });
    await expect(scheduler.run('A', () => { throw new Error('boom'); })).rejects.toThrow('boom');
    await expect(scheduler.run('A', async () => 'next')).resolves.toBe('next');
    expect(scheduler.active).toBe(0);
  });

  it('cancelling drops what has not started', async () => {
    const scheduler = createScopedScheduler({ perScope: 1, total: 1 });
    const gate = deferred();
    const first = scheduler.run('A', () => gate.promise);
    const second = scheduler.run('A', async () => 'ran');
    scheduler.cancelQueued(new Error('stopped'));
    gate.resolve();
    await first;
    await expect(second).rejects.toThrow('stopped');
  });

  it('a task that says its request phase is over lets the next one start while it still waits, and frees its slot only once', async () => {
    const scheduler = createScopedScheduler({ perScope: 1, total: 1 });
    const started: string[] = [];
    const waiting = deferred();
    const first = scheduler.run('A', async (release) => {
      started.push('first requested');
      release();
      release(); // idempotent: a second call must not free another target's slot
      await waiting.promise; // the snapshot wait, outside the slot
    });
    const second = scheduler.run('A', async () => { started.push('second'); });
    const third = scheduler.run('A', async () => { started.push('third'); });
    await second;
    await third;
    expect(started).toEqual(['first requested', 'second', 'third']);
    expect(scheduler.active).toBe(0);
    waiting.resolve();
    await first;
    expect(scheduler.active).toBe(0);
  });
});
