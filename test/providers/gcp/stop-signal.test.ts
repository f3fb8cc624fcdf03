/**
 * When the ledger cannot be written, collection stops (E_LEDGER), and `collect` returns only when
 * none of the target's Compute calls is still out: an instance's disks are snapshotted side by
 * side, and a disk's chain that gave up first must not leave its sibling's call in flight after
 * the caller was told the run had stopped.
 */
import { describe, expect, it } from 'vitest';
import { CustodyError } from '../../../src/core/errors.js';
import type { LedgerEntry } from '../../../src/core/ports.js';
import { collectGcpTarget } from '../../../src/providers/gcp/collect.js';
import { parseGcpTarget } from '../../../src/providers/gcp/targets.js';
import { ContentRecorder, useGcpFixtures } from './fixture.js';

const WEB_1 = '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1';
const startFixture = useGcpFixtures();

/** A recorder whose ledger fails, as a full disk would, on the first entry of `type`; `refused` resolves then. */
class RefusingRecorder extends ContentRecorder {
  readonly refused: Promise<void>;
  private refuseNow!: () => void;
  private done = false;

  constructor(private readonly refusedType: string) {
    super();
    this.refused = new Promise<void>((resolve) => (this.refuseNow = resolve));
  }

  override async record(type: string, data: Record<string, unknown> = {}, target?: string): Promise<LedgerEntry> {
    if (type === this.refusedType && !this.done) {
      this.done = true;
      this.refuseNow();
      throw new CustodyError('E_LEDGER', `test: ${type} could not be written`);
    }
    return super.record(type, data, target);
  }
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('GCP provider: the stop signal', () => {
  it("one disk's snapshot.created cannot be written while the other disk's snapshots.insert is at Compute: collect returns only once that call is answered", async () => {
    const fx = await startFixture();
    // The first insert to reach Compute waits; the other is answered, and its record is refused.
    const insertHeld = fx.lab.server.holdNext('compute.snapshots.insert');
    const recorder = new RefusingRecorder('snapshot.created');
    const session = fx.newSession(recorder);

    let settled = false;
    const collecting = collectGcpTarget({ session, recorder }, parseGcpTarget(WEB_1)).finally(() => (settled = true));
    collecting.catch(() => undefined);

    await Promise.all([insertHeld.arrived, recorder.refused]);
    await turns(20);
    expect(settled).toBe(false);

    insertHeld.release();
    await expect(collecting).rejects.toMatchObject({ code: 'E_LEDGER' });
    expect(fx.lab.server.calls.get('compute.snapshots.insert')).toBe(2);
  });
});
