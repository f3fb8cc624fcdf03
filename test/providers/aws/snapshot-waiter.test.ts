import type { Snapshot } from '@aws-sdk/client-ec2';
import { describe, expect, it } from 'vitest';
import type { Clock } from '../../../src/providers/aws/clock.js';
import type { ScopeCaller } from '../../../src/providers/aws/scope.js';
import { SnapshotWaitCut, SnapshotWaiter } from '../../../src/providers/aws/snapshot-waiter.js';

/** A clock that moves only when the test says so; sleeps are timers the test can inspect. */
class VirtualClock implements Clock {
  private t = 0;
  private timers: Array<{ at: number; resolve: () => void; reject: (e: unknown) => void }> = [];
  now(): number {
    return this.t;
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = { at: this.t + ms, resolve, reject };
      this.timers.push(timer);
      signal?.addEventListener('abort', () => {
        this.timers = this.timers.filter((x) => x !== timer);
        reject(signal.reason);
      }, { once: true });
    });
  }
  /** When the earliest pending sleep ends. */
  nextWake(): number | undefined {
    return this.timers.length > 0 ? Math.min(...this.timers.map((x) => x.at)) : undefined;
  }
  /** Moves to `at`, ending the sleeps due by then, and lets the waiter run. */
  async advanceTo(at: number): Promise<void> {
    this.t = at;
    const due = this.timers.filter((x) => x.at <= at);
    this.timers = this.timers.filter((x) => x.at > at);
    for (const x of due) x.resolve();
    for (let i = 0; i < 20; i += 1) await new Promise((r) => setImmediate(r));
  }
}

/** EC2 as the waiter sees it: every snapshot's state decided by the test, polls counted. */
function fakeEc2(clock: VirtualClock, snapshots: Map<string, () => Snapshot>) {
  const polls: number[] = [];
  const caller = {
    id: { account: '222222222222', region: 'us-east-1' },
    ec2: async (_op: string, command: { input: { Filters?: Array<{ Values?: string[] }> } }) => {
      polls.push(clock.now());
      const ids = command.input.Filters?.[0]?.Values ?? [];
      return { output: { Snapshots: ids.flatMap((id) => (snapshots.has(id) ? [snapshots.get(id)!()] : [])) }, requestId: `req-${polls.length}` };
    },
  } as unknown as ScopeCaller;
  return { caller, polls };
}

const settings = { initialDelayMs: 10_000, maxDelayMs: 60_000, timeoutMs: 3_600_000, notFoundGraceMs: 60_000 };

describe('snapshot waiter', () => {
  it('polls again when the progress so far says the snapshot will complete, not a whole backoff later', async () => {
    const clock = new VirtualClock();
    // Started at 0; 90 % at 10 s, so it should complete at ~11.1 s; completed from 11 s on.
    const snapshots = new Map([['snap-1', (): Snapshot => ({
      SnapshotId: 'snap-1',
      StartTime: new Date(0),
      State: clock.now() >= 11_000 ? 'completed' : 'pending',
      Progress: clock.now() >= 11_000 ? '100%' : `${Math.floor((clock.now() / 11_111) * 100)}%`,
    })]]);
    const { caller, polls } = fakeEc2(clock, snapshots);
    const waiter = new SnapshotWaiter(caller, clock, settings, 'describeSnapshots');
    const done = waiter.wait('snap-1');
    await clock.advanceTo(10_000);
    expect(polls).toEqual([10_000]);
    // The plain backoff would sleep 12.5 s; the estimate brings the next poll to ~11.1 s.
    const next = clock.nextWake()!;
    expect(next).toBeGreaterThan(10_500);
    expect(next).toBeLessThan(11_200);
    await clock.advanceTo(next);
    await expect(done).resolves.toMatchObject({ snapshot: { SnapshotId: 'snap-1', State: 'completed' }, requestId: 'req-2' });
    expect(polls).toHaveLength(2);
  });

  it('a snapshot that joins while the loop sleeps a long backoff is first checked after the initial delay', async () => {
    const clock = new VirtualClock();
    const snapshots = new Map<string, () => Snapshot>([
      ['snap-old', () => ({ SnapshotId: 'snap-old', State: 'pending', Progress: '0%' })],
    ]);
    const { caller, polls } = fakeEc2(clock, snapshots);
    const waiter = new SnapshotWaiter(caller, clock, { ...settings, initialDelayMs: 1_000 }, 'describeSnapshots');
    void waiter.wait('snap-old').catch(() => undefined);
    // Let the backoff grow past 5 s (no progress: nothing to estimate from).
    while (clock.nextWake()! - clock.now() < 5_000) await clock.advanceTo(clock.nextWake()!);
    const pollsBefore = polls.length;
    const joinedAt = clock.now();
    snapshots.set('snap-new', () => ({ SnapshotId: 'snap-new', State: clock.now() - joinedAt >= 1_000 ? 'completed' : 'pending', Progress: '0%' }));
    const done = waiter.wait('snap-new');
    await clock.advanceTo(clock.now()); // the woken loop goes back to sleep
    expect(clock.nextWake()).toBe(joinedAt + 1_000);
    await clock.advanceTo(joinedAt + 1_000);
    await expect(done).resolves.toMatchObject({ snapshot: { SnapshotId: 'snap-new' } });
    expect(polls.length).toBe(pollsBefore + 1);
    waiter.close();
  });

  it('a wait asked for after the provider closed is cut at once, never left pending', async () => {
    const clock = new VirtualClock();
    const { caller, polls } = fakeEc2(clock, new Map([['snap-1', (): Snapshot => ({ SnapshotId: 'snap-1', State: 'pending', Progress: '0%' })]]));
    const waiter = new SnapshotWaiter(caller, clock, settings, 'describeSnapshots');
    waiter.close();
    const error = await waiter.wait('snap-1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnapshotWaitCut);
    expect(error).toMatchObject({ code: 'E_CLOUD', message: 'the provider was closed before the wait for snap-1 began' });
    expect(polls).toEqual([]);
  });
});
