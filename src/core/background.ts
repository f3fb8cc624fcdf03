/**
 * The background lane: work that follows a target's request phase and does not decay (writing
 * descriptions the provider already holds in memory to the case folder) waits here while other
 * targets are still requesting snapshots. On a collector bound by its own CPU the event loop is
 * one queue: every file written in between pushes the next target's snapshot request later, and
 * a snapshot request is what stops evidence from decaying.
 *
 * While requests are in progress (`busy()`) at most `whileBusy` items run, so a long request
 * phase never parks the lane entirely; once none is, up to `whenIdle` run. `poke()` is called
 * when `busy()` may have changed.
 */
export interface BackgroundLane {
  /** Runs `work` when the lane has room; settles as `work` does. */
  run<T>(work: () => Promise<T>): Promise<T>;
  /** Re-checks `busy()` and starts what now has room. */
  poke(): void;
  /** Items waiting to start. */
  readonly queued: number;
}

export interface BackgroundLaneOptions {
  /** Whether targets are still in their request phase (admitted or waiting for admission). */
  busy: () => boolean;
  /** Items running at once while `busy()` (at least 0). */
  whileBusy: number;
  /** Items running at once otherwise (at least 1). */
  whenIdle: number;
}

export function createBackgroundLane(options: BackgroundLaneOptions): BackgroundLane {
  const whileBusy = Math.max(0, Math.floor(options.whileBusy));
  const whenIdle = Math.max(1, Math.floor(options.whenIdle));
  const waiting: Array<() => void> = [];
  let running = 0;

  const pump = (): void => {
    while (waiting.length > 0 && running < (options.busy() ? whileBusy : whenIdle)) {
      running += 1;
      waiting.shift()!();
    }
  };

  return {
    run<T>(work: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        waiting.push(() => {
          let settled: Promise<T>;
          try {
            settled = work();
          } catch (error) {
            settled = Promise.reject(error);
          }
          settled.then(resolve, reject).finally(() => {
            running -= 1;
            pump();
          });
        });
        pump();
      });
    },
    poke: pump,
    get queued() {
      return waiting.length;
    },
  };
}

/** What a provider without a lane uses: the work runs at once. */
export const runAtOnce = <T>(work: () => Promise<T>): Promise<T> => work();
