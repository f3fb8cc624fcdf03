import { describe, expect, it } from 'vitest';
import { createBackgroundLane } from '../../src/core/background.js';
import { deferred } from './fakes.js';

const turn = () => new Promise((r) => setImmediate(r));

describe('createBackgroundLane', () => {
  it('while targets are still requesting, descriptions are written one at a time; after, many at once', async () => {
    let busy = true;
    const lane = createBackgroundLane({ busy: () => busy, whileBusy: 1, whenIdle: 3 });
    const started: number[] = [];
    const gates = [deferred(), deferred(), deferred(), deferred()];
    const runs = gates.map((gate, i) => lane.run(async () => { started.push(i); await gate.promise; return i; }));
    await turn();
    expect(started).toEqual([0]);
    busy = false;
    lane.poke();
    await turn();
    expect(started).toEqual([0, 1, 2]);
    gates[0]!.resolve();
    await turn();
    expect(started).toEqual([0, 1, 2, 3]);
    for (const gate of gates) gate.resolve();
    await expect(Promise.all(runs)).resolves.toEqual([0, 1, 2, 3]);
    expect(lane.queued).toBe(0);
  });

  it('with no room while busy, nothing starts until the requests are done', async () => {
    let busy = true;
    const lane = createBackgroundLane({ busy: () => busy, whileBusy: 0, whenIdle: 1 });
    let ran = false;
    const run = lane.run(async () => { ran = true; });
    await turn();
    expect(ran).toBe(false);
    expect(lane.queued).toBe(1);
    busy = false;
    lane.poke();
    await run;
    expect(ran).toBe(true);
  });

  it('a failing item reaches its caller and frees its place for the next', async () => {
    const lane = createBackgroundLane({ busy: () => false, whileBusy: 0, whenIdle: 1 });
    await expect(lane.run(() => { throw new Error('disk full'); })).rejects.toThrow('disk full');
    await expect(lane.run(async () => Promise.reject(new Error('ledger')))).rejects.toThrow('ledger');
    await expect(lane.run(async () => 'next')).resolves.toBe('next');
  });
});
