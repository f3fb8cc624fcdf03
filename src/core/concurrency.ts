/**
 * A first-in, first-out scheduler with two limits: work items in the same scope (an AWS account
 * and region) share `perScope` slots, and everything shares `total` slots. An item whose scope is
 * full does not block items of other scopes queued behind it, so one busy account never starves
 * the rest. A task may give its slots back before it settles (`release`): admission bounds the
 * request phase, and what follows (waiting for the cloud, copying) must not keep the next target
 * from starting.
 */
export interface ScopedLimits {
  perScope: number;
  total: number;
}

interface Pending {
  scope: string;
  start: () => void;
}

export interface ScopedScheduler {
  /**
   * Runs `task` when a slot in its scope and an overall slot are free. The task is handed
   * `release`, which frees its slots early (idempotent; they are freed when it settles anyway).
   */
  run<T>(scope: string, task: (release: () => void) => Promise<T>): Promise<T>;
  /** Items started and not yet settled, overall. */
  readonly active: number;
  /** Items waiting for a slot. */
  readonly queued: number;
  /** Drops every item not yet started; their promises reject with `reason`. */
  cancelQueued(reason: unknown): void;
}

/** Creates a scheduler enforcing `limits` (each at least 1). */
export function createScopedScheduler(limits: ScopedLimits): ScopedScheduler {
  const perScope = Math.max(1, Math.floor(limits.perScope));
  const total = Math.max(1, Math.floor(limits.total));
  const activeByScope = new Map<string, number>();
  let active = 0;
  const queue: Array<Pending & { reject: (reason: unknown) => void }> = [];

  const pump = (): void => {
    for (let i = 0; i < queue.length && active < total; ) {
      const item = queue[i]!;
      const inScope = activeByScope.get(item.scope) ?? 0;
      if (inScope >= perScope) {
        i += 1;
        continue;
      }
      queue.splice(i, 1);
      active += 1;
      activeByScope.set(item.scope, inScope + 1);
      item.start();
    }
  };

  const release = (scope: string): void => {
    active -= 1;
    const left = (activeByScope.get(scope) ?? 1) - 1;
    if (left <= 0) activeByScope.delete(scope);
    else activeByScope.set(scope, left);
    pump();
  };

  return {
    run<T>(scope: string, task: (release: () => void) => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({
          scope,
          reject,
          start: () => {
            let held = true;
            const releaseOnce = (): void => {
              if (!held) return;
              held = false;
              release(scope);
            };
            let settled: Promise<T>;
            try {
              settled = task(releaseOnce);
            } catch (error) {
              settled = Promise.reject(error);
            }
            settled.then(
              (value) => {
                releaseOnce();
                resolve(value);
              },
              (error: unknown) => {
                releaseOnce();
                reject(error);
              },
            );
          },
        });
        pump();
      });
    },
    get active() {
      return active;
    },
    get queued() {
      return queue.length;
    },
    cancelQueued(reason: unknown): void {
      for (const item of queue.splice(0)) item.reject(reason);
    },
  };
}
