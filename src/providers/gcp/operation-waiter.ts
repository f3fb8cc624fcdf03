/**
 * Waits on snapshot insert operations in batches: one loop per case takes every pending
 * operation in turn with `globalOperations.wait` (which answers when the operation is DONE or
 * near its own deadline, and may answer early), a bounded number at a time — never one poller
 * per disk. A DONE operation may still carry an error: DONE is not success.
 *
 * A stopped run (its signal aborts: the first Ctrl-C or SIGTERM) rejects every pending wait at
 * once and makes no further call: the snapshots carry on in GCP, and a resumed run finds each
 * under its deterministic name and adopts it (snapshot.ts).
 */
import { CustodyError } from '../../core/errors.js';
import { pauseUnlessStopped, timerSleep, type Sleep } from '../shared/stoppable-sleep.js';

export interface WaitedOperation {
  name: string;
  status: string;
  error?: { errors?: Array<{ code?: string | null; message?: string | null }> | null } | null;
  targetId?: string | null;
  user?: string | null;
  endTime?: string | null;
}

export interface OperationWaiterOptions {
  /** Calls `wait` for one operation, with the credentials of the project that started it. */
  wait: (name: string, project: string) => Promise<WaitedOperation>;
  /** Operations waited on at once (default 8). */
  parallel?: number;
  /** Pause between rounds in which nothing finished (default 2 s; tests 0). */
  idleDelayMs?: number;
  sleep?: Sleep;
  /** The run's signal (the waiter is the run's): once it aborts, every wait is rejected. */
  signal?: AbortSignal;
}

interface Pending {
  name: string;
  project: string;
  /** What the operation makes, for the error of a stopped wait. */
  about: string;
  resolve: (operation: WaitedOperation) => void;
  reject: (error: unknown) => void;
}

export class OperationWaiter {
  private readonly pending = new Map<string, Pending>();
  private loop: Promise<void> | undefined;
  /** `wait` calls made: the benchmark's and the tests' measure of batching. */
  calls = 0;
  rounds = 0;

  constructor(private readonly options: OperationWaiterOptions) {
    options.signal?.addEventListener('abort', () => this.stop(), { once: true });
  }

  /** Resolves with the DONE operation (check its `error`); rejects if waiting itself fails, or the run is stopped. */
  waitFor(name: string, project: string, about = `operation ${name}`): Promise<WaitedOperation> {
    if (this.options.signal?.aborted) return Promise.reject(stoppedWaiting(about, name));
    const existing = this.pending.get(name);
    if (existing) return new Promise((resolve, reject) => {
      const { resolve: r0, reject: j0 } = existing;
      existing.resolve = (op) => { r0(op); resolve(op); };
      existing.reject = (e) => { j0(e); reject(e); };
    });
    const promise = new Promise<WaitedOperation>((resolve, reject) => this.pending.set(name, { name, project, about, resolve, reject }));
    this.loop ??= this.run().finally(() => {
      this.loop = undefined;
    });
    return promise;
  }

  /** The run was stopped: every wait ends now, with what carries on and what a resume does. */
  private stop(): void {
    const stopped = [...this.pending.values()];
    this.pending.clear();
    for (const p of stopped) p.reject(stoppedWaiting(p.about, p.name));
  }

  private async run(): Promise<void> {
    const parallel = this.options.parallel ?? 8;
    const sleep = this.options.sleep ?? timerSleep;
    while (this.pending.size > 0) {
      this.rounds += 1;
      let finished = 0;
      const batch = [...this.pending.values()];
      for (let i = 0; i < batch.length; i += parallel) {
        await Promise.all(
          batch
            .slice(i, i + parallel)
            // A stop empties `pending`: a wait it ended is not asked for again.
            .filter((p) => this.pending.get(p.name) === p)
            .map(async (p) => {
              try {
                this.calls += 1;
                const op = await this.options.wait(p.name, p.project);
                if (op.status === 'DONE') {
                  this.pending.delete(p.name);
                  finished += 1;
                  p.resolve(op);
                }
              } catch (error) {
                this.pending.delete(p.name);
                finished += 1;
                p.reject(error);
              }
            }),
        );
      }
      if (finished === 0 && this.pending.size > 0) await pauseUnlessStopped(sleep, this.options.idleDelayMs ?? 2000, this.options.signal);
    }
  }
}

/** E_CLOUD as AWS's stopped snapshot wait (aws/snapshot-waiter.ts), and what a resume does (the target's reason says `leftInGcp` in its place). */
function stoppedWaiting(about: string, operation: string): CustodyError {
  return new CustodyError('E_CLOUD', `stopped waiting for ${about}: the run was cancelled (the snapshot continues in GCP; resume the case to adopt it)`, { resource: operation });
}
