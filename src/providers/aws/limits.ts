/**
 * EC2's limits on work in flight, enforced on our side so AWS never has to refuse us: at most
 * 20 concurrent snapshot copies per destination region, at most 100 pending snapshots per
 * account. A permit is held from the request until the snapshot (or copy) completes or fails.
 */
export const MAX_CONCURRENT_COPIES = 20;
export const MAX_PENDING_SNAPSHOTS = 100;

export class Semaphore {
  private available: number;
  private readonly waiters: Array<{ n: number; resolve: () => void }> = [];

  constructor(readonly capacity: number) {
    this.available = capacity;
  }

  /** Waits for `n` permits (capped at the capacity, so a 120-volume instance still proceeds). */
  async acquire(n = 1): Promise<() => void> {
    const want = Math.min(n, this.capacity);
    if (this.waiters.length === 0 && this.available >= want) {
      this.available -= want;
    } else {
      await new Promise<void>((resolve) => this.waiters.push({ n: want, resolve }));
    }
    let left = want;
    // Returns a release function for one permit at a time (snapshots complete one by one).
    return () => {
      if (left <= 0) return;
      left -= 1;
      this.available += 1;
      this.drain();
    };
  }

  private drain(): void {
    while (this.waiters.length > 0) {
      const next = this.waiters[0];
      if (!next || this.available < next.n) return;
      this.available -= next.n;
      this.waiters.shift();
      next.resolve();
    }
  }
}
