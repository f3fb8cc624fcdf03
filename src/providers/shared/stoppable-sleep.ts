/**
 * The pause of a wait loop that a stopped run ends at once (the first Ctrl-C or SIGTERM aborts the
 * run's signal): without it, a loop polling a snapshot or a server-side copy goes on for as long
 * as the cloud takes, and the user has to press again, which quits before the steps record how
 * they ended. The cloud's work carries on either way; only the waiting stops.
 */
import { setTimeout as delay } from 'node:timers/promises';

/** A sleep that may end early (rejecting) when `signal` aborts; tests inject one that returns at once. */
export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** The default: a timer the signal clears, so a stopped run keeps no timer alive. */
export const timerSleep: Sleep = (ms, signal) => delay(ms, undefined, signal ? { signal } : {});

/**
 * Sleeps `ms` unless the run is stopped: true when it slept, false when `signal` aborted before or
 * during the pause. An injected `sleep` that ignores the signal is raced with it, so it ends at
 * once too.
 */
export async function pauseUnlessStopped(sleep: Sleep, ms: number, signal: AbortSignal | undefined): Promise<boolean> {
  if (!signal) {
    await sleep(ms);
    return true;
  }
  if (signal.aborted) return false;
  let onAbort = (): void => {};
  const stopped = new Promise<void>((resolve) => {
    onAbort = resolve;
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([
      sleep(ms, signal).catch((error: unknown) => {
        // A signal-aware sleep rejects when the run stops: that is the stop, not a failure.
        if (!signal.aborted) throw error;
      }),
      stopped,
    ]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
  return !signal.aborted;
}
