/**
 * The one memory budget of every disk hashed in this process: block buffers (fetched, waiting in
 * the reorder window, being checked or hashed) are slots of one SharedArrayBuffer, so the hash
 * threads read them where they are (no copy, no transfer) and memory stays bounded however many
 * disks run at once. A disk may hold at most its fair share (the slots over the disks running, at
 * least two), so one large disk cannot starve the others; a disk that holds none can always get
 * one once any other disk hands one back.
 */

/** EBS's block size: a slot holds one block. */
export const SLOT_BYTES = 512 * 1024;
/** 16 MiB: 32 blocks in flight or waiting, shared by every disk of the process. */
export const DEFAULT_BUDGET_BYTES = 32 * SLOT_BYTES;

interface Waiter {
  owner: object;
  resolve: (slot: number) => void;
  reject: (error: Error) => void;
}

export class BlockBuffers {
  readonly memory: SharedArrayBuffer;
  readonly slots: number;
  private readonly free: number[] = [];
  private readonly held = new Map<object, number>();
  private waiters: Waiter[] = [];

  constructor(budgetBytes = DEFAULT_BUDGET_BYTES) {
    this.slots = Math.max(2, Math.floor(budgetBytes / SLOT_BYTES));
    // Pages are touched only when a slot is first used: an idle budget costs no RSS.
    this.memory = new SharedArrayBuffer(this.slots * SLOT_BYTES);
    for (let i = this.slots - 1; i >= 0; i--) this.free.push(i);
  }

  /** A view of slot `slot` (`length` bytes, at most one block). */
  view(slot: number, length = SLOT_BYTES): Buffer {
    return Buffer.from(this.memory, slot * SLOT_BYTES, length);
  }

  /** Registers a disk; its share is recomputed as disks come and go. */
  join(owner: object): void {
    if (!this.held.has(owner)) this.held.set(owner, 0);
  }

  leave(owner: object): void {
    this.held.delete(owner);
    this.waiters = this.waiters.filter((w) => {
      if (w.owner !== owner) return true;
      w.reject(new Error('the disk hash ended while it waited for a buffer'));
      return false;
    });
    this.serve();
  }

  /** The most slots one disk may hold now. */
  share(): number {
    return Math.max(2, Math.floor(this.slots / Math.max(1, this.held.size)));
  }

  holding(owner: object): number {
    return this.held.get(owner) ?? 0;
  }

  /** A slot now, or undefined when the budget or the disk's share is used up. */
  tryAcquire(owner: object): number | undefined {
    if (this.free.length === 0) return undefined;
    const holding = this.holding(owner);
    if (holding > 0 && holding >= this.share()) return undefined;
    // A disk holding nothing goes first: it cannot progress at all without one.
    if (holding > 0 && this.waiters.some((w) => this.holding(w.owner) === 0)) return undefined;
    const slot = this.free.pop() as number;
    this.held.set(owner, holding + 1);
    return slot;
  }

  /** Waits for a slot (the disk's share, the budget). */
  acquire(owner: object): Promise<number> {
    const slot = this.tryAcquire(owner);
    if (slot !== undefined) return Promise.resolve(slot);
    return new Promise<number>((resolve, reject) => this.waiters.push({ owner, resolve, reject }));
  }

  release(owner: object, slot: number): void {
    this.free.push(slot);
    if (this.held.has(owner)) this.held.set(owner, Math.max(0, this.holding(owner) - 1));
    this.serve();
  }

  private serve(): void {
    for (let i = 0; i < this.waiters.length && this.free.length > 0; ) {
      const w = this.waiters[i] as Waiter;
      const holding = this.holding(w.owner);
      if (holding < this.share() || holding === 0) {
        this.waiters.splice(i, 1);
        const slot = this.free.pop() as number;
        this.held.set(w.owner, holding + 1);
        w.resolve(slot);
      } else {
        i += 1;
      }
    }
  }
}

let shared: BlockBuffers | undefined;

/** The process's budget (created on first use). */
export function sharedBlockBuffers(): BlockBuffers {
  shared ??= new BlockBuffers();
  return shared;
}
