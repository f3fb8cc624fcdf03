/**
 * The lab's own clock. Snapshot progress, session expiry and EC2's token buckets all read it, so
 * a test can run the lab fast (`speed: 50`) or jump it forward (`advance`) instead of sleeping.
 */
export class LabClock {
  private readonly realStart: number;
  private readonly labStart: number;
  private offset = 0;
  private speedFactor: number;

  constructor(options: { speed?: number; start?: number } = {}) {
    this.realStart = Date.now();
    this.labStart = options.start ?? this.realStart;
    this.speedFactor = options.speed ?? 1;
  }

  /** Lab time in epoch milliseconds. */
  now(): number {
    return this.labStart + (Date.now() - this.realStart) * this.speedFactor + this.offset;
  }

  /** Jumps lab time forward (snapshots progress, buckets refill, sessions age). */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError('the lab clock only moves forward');
    this.offset += ms;
  }

  /** Lab milliseconds per real millisecond. */
  get speed(): number {
    return this.speedFactor;
  }
}
