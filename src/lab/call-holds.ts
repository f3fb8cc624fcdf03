/**
 * Holding a lab call in flight, for tests that must know — without timing — that the collector
 * has a call out: `holdNext(api)` gives `arrived` (the lab has the call) and `release()` (its
 * answer may go). Each lab's server awaits `heldUntilReleased(api)` before serving a call.
 */
export interface CallHold {
  arrived: Promise<void>;
  release: () => void;
}

export class CallHolds {
  private holds: Array<{ api: string; arrive: () => void; released: Promise<void> }> = [];

  /** Holds the next call of `api` (`ec2:GetConsoleOutput`, `compute.snapshots.insert`) before it is served. */
  holdNext(api: string): CallHold {
    let arrive!: () => void;
    let release!: () => void;
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.holds.push({ api, arrive, released });
    return { arrived, release };
  }

  /** Waits while a hold of this api is set (the first matching call only). */
  async heldUntilReleased(api: string): Promise<void> {
    const i = this.holds.findIndex((h) => h.api === api);
    if (i < 0) return;
    const [hold] = this.holds.splice(i, 1);
    hold!.arrive();
    await hold!.released;
  }
}
