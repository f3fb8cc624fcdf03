/**
 * The pause of a wait loop ends when the run is stopped: with the real timer (which the signal
 * clears, so a stopped run keeps no timer alive) and with an injected sleep that ignores the
 * signal. Asserted on what each pause answers, never on time: a pause the signal did not end
 * would outlast the test's timeout.
 */
import { describe, expect, it } from 'vitest';
import { pauseUnlessStopped, timerSleep } from '../../../src/providers/shared/stoppable-sleep.js';

describe('pauseUnlessStopped', () => {
  it('answers false at once for a run already stopped, without calling the sleep', async () => {
    const controller = new AbortController();
    controller.abort();
    const calls: number[] = [];
    expect(await pauseUnlessStopped(async (ms) => void calls.push(ms), 10, controller.signal)).toBe(false);
    expect(calls).toEqual([]);
  });

  it('ends an hour-long timer when the run stops during it, and answers false', async () => {
    const controller = new AbortController();
    const pause = pauseUnlessStopped(timerSleep, 3_600_000, controller.signal);
    controller.abort(new Error('interrupted by the user'));
    expect(await pause).toBe(false);
  });

  it('ends a sleep that ignores the signal when the run stops during it', async () => {
    const controller = new AbortController();
    const never = () => new Promise<void>(() => {});
    const pause = pauseUnlessStopped(never, 10, controller.signal);
    controller.abort();
    expect(await pause).toBe(false);
  });

  it('answers true after a whole pause, and without a signal simply sleeps', async () => {
    const calls: number[] = [];
    const sleep = async (ms: number) => void calls.push(ms);
    expect(await pauseUnlessStopped(sleep, 5, new AbortController().signal)).toBe(true);
    expect(await pauseUnlessStopped(sleep, 7, undefined)).toBe(true);
    expect(calls).toEqual([5, 7]);
  });

  it('passes on a sleep that fails for another reason than the stop', async () => {
    const broken = () => Promise.reject(new Error('clock broken'));
    await expect(pauseUnlessStopped(broken, 5, new AbortController().signal)).rejects.toThrow('clock broken');
  });
});
