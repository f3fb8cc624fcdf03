/**
 * When the ledger cannot be written, collection stops (the stop signal, E_LEDGER) — and the
 * provider returns only when none of its calls is still out. A target runs side-by-side branches
 * (console output, snapshots, key descriptions); if `collect` gave up at the first branch to stop,
 * a sibling's cloud call would still be in flight after the caller was told the run had stopped:
 * in library use, cloud work after the stop that nobody records.
 */
import { describe, expect, it } from 'vitest';
import { CustodyError } from '../../../src/core/errors.js';
import type { CaseRecorder } from '../../../src/core/ports.js';
import { parseTarget } from '../../../src/providers/targets.js';
import type { CaseHandle } from '../../../src/custody/index.js';
import { addInstance } from '../../../src/lab/index.js';
import { contextFor } from './helpers.js';
import { instanceArn, REGION, useAwsLab } from './lab-fixture.js';

const ACCOUNT = '222222222222';
const TAGGED = { ForensicsEnabled: 'true' };
const world = useAwsLab({ scratchPrefix: 'custody-aws-stop-' });

/** `kase`, except that recording `type` fails as a full disk would; `refused` resolves when it has. */
function refusing(kase: CaseHandle, type: string): { recorder: CaseRecorder; refused: Promise<void> } {
  let refusedNow!: () => void;
  const refused = new Promise<void>((resolve) => (refusedNow = resolve));
  const recorder: CaseRecorder = {
    caseId: kase.caseId,
    analyst: kase.analyst,
    caseDir: kase.caseDir,
    entries: () => kase.entries(),
    record: (t, data, target) => {
      if (t !== type) return kase.record(t, data, target);
      refusedNow();
      return Promise.reject(new CustodyError('E_LEDGER', `test: ${t} could not be written`));
    },
    storeEvidence: (input) => kase.storeEvidence(input),
    recordArtifact: (input) => kase.recordArtifact(input),
  };
  return { recorder, refused };
}

/** Lets every queued callback and the I/O after it run: what a caller would see "after" the stop. */
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

describe('AWS provider: the stop signal', () => {
  it('a ledger that fails after CreateSnapshots stops the target only once its GetConsoleOutput, still in flight, has been answered', async () => {
    const host = addInstance(world.lab.state, ACCOUNT, REGION, {
      tags: { Name: 'stop-signal-01', ...TAGGED },
      volumes: [{ sizeGiB: 8, encryption: 'alias/cloud-custody-share', tags: TAGGED }],
      consoleOutput: 'stop-signal-01 login: ',
    });
    const kase = await world.newCase('stop');
    const { recorder, refused } = refusing(kase, 'snapshot.created');
    const consoleHeld = world.lab.control.holdNext('ec2:GetConsoleOutput');

    let settled = false;
    const collecting = world
      .provider()
      .collect(parseTarget(instanceArn(host)), contextFor(recorder))
      .finally(() => (settled = true));
    collecting.catch(() => undefined);

    // The snapshot branch has hit the stop signal while the console branch's call is at the lab.
    await Promise.all([consoleHeld.arrived, refused]);
    await turns(20);
    expect(settled).toBe(false);

    consoleHeld.release();
    await expect(collecting).rejects.toMatchObject({ code: 'E_LEDGER' });
    expect(world.lab.control.calls()[ACCOUNT]?.['ec2:GetConsoleOutput']).toBe(1);
  });
});
