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
import { verifyCase, type CaseHandle } from '../../../src/custody/index.js';
import { addInstance } from '../../../src/lab/index.js';
import { caseWith } from '../../support/case-with.js';
import { contextFor } from './helpers.js';
import { instanceArn, REGION, useAwsLab } from './lab-fixture.js';

const ACCOUNT = '222222222222';
const TAGGED = { ForensicsEnabled: 'true' };
const world = useAwsLab({ scratchPrefix: 'custody-aws-stop-' });

/** A gate a test opens: `reached` resolves when work arrives at it, which waits for `open()`. */
function gate(): { reached: Promise<void>; open: () => void; pass: () => Promise<void> } {
  let reach!: () => void;
  let open!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { reached, open, pass: () => (reach(), opened) };
}

/**
 * `kase`, except that recording `type` fails as a full disk would (`refused` resolves when it
 * has), and storing a file named `holdFile` waits at `fileGate` first.
 */
function refusing(kase: CaseHandle, type: string, holdFile?: { name: string; at: ReturnType<typeof gate> }): { recorder: CaseRecorder; refused: Promise<void> } {
  let refusedNow!: () => void;
  const refused = new Promise<void>((resolve) => (refusedNow = resolve));
  const recorder = caseWith(kase, {
    record: (t, data, target) => {
      if (t !== type) return kase.record(t, data, target);
      refusedNow();
      return Promise.reject(new CustodyError('E_LEDGER', `test: ${t} could not be written`));
    },
    storeEvidence: async (input) => {
      if (input.name === holdFile?.name) await holdFile.at.pass();
      return kase.storeEvidence(input);
    },
  });
  return { recorder, refused };
}

/** Lets every queued callback and the I/O after it run: what a caller would see "after" the stop. */
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
};

/** A one-volume tagged instance, collected into a new case through `recorder(kase)`; `isSettled` tells whether collect has returned. */
async function startCollecting(name: string, recorderFor: (kase: CaseHandle) => CaseRecorder) {
  const host = addInstance(world.lab.state, ACCOUNT, REGION, {
    tags: { Name: name, ...TAGGED },
    volumes: [{ sizeGiB: 8, encryption: 'alias/cloud-custody-share', tags: TAGGED }],
    consoleOutput: `${name} login: `,
  });
  const kase = await world.newCase('stop');
  let settled = false;
  const collecting = world
    .provider()
    .collect(parseTarget(instanceArn(host)), contextFor(recorderFor(kase)))
    .finally(() => (settled = true));
  collecting.catch(() => undefined);
  return { kase, collecting, isSettled: () => settled };
}

describe('AWS provider: the stop signal', () => {
  it('a ledger that fails after CreateSnapshots stops the target only once its GetConsoleOutput, still in flight, has been answered', async () => {
    let refused!: Promise<void>;
    const consoleHeld = world.lab.control.holdNext('ec2:GetConsoleOutput');
    const { collecting, isSettled } = await startCollecting('stop-signal-01', (kase) => {
      const refusal = refusing(kase, 'snapshot.created');
      refused = refusal.refused;
      return refusal.recorder;
    });

    // The snapshot branch has hit the stop signal while the console branch's call is at the lab.
    await Promise.all([consoleHeld.arrived, refused]);
    await turns(20);
    expect(isSettled()).toBe(false);

    consoleHeld.release();
    await expect(collecting).rejects.toMatchObject({ code: 'E_LEDGER' });
    expect(world.lab.control.calls()[ACCOUNT]?.['ec2:GetConsoleOutput']).toBe(1);
  });

  it('a ledger that fails when a snapshot completes stops the target only once its description file is stored: no file lands after collect returned', async () => {
    let refused!: Promise<void>;
    const fileGate = gate();
    const { kase, collecting, isSettled } = await startCollecting('stop-signal-02', (kase) => {
      const refusal = refusing(kase, 'snapshot.completed', { name: 'instance.json', at: fileGate });
      refused = refusal.refused;
      return refusal.recorder;
    });

    // The volume's chain has hit the stop signal while instance.json waits to be stored.
    await Promise.all([fileGate.reached, refused]);
    await turns(20);
    expect(isSettled()).toBe(false);

    fileGate.open();
    await expect(collecting).rejects.toMatchObject({ code: 'E_LEDGER' });
    // Everything the target placed in the case is on record by the time collect returned.
    await kase.release();
    const verified = await verifyCase(kase.caseDir, { requireClosed: false });
    expect(verified.problems.filter((p) => p.kind === 'unrecorded-file')).toEqual([]);
    expect(kase.entries().some((e) => e.type === 'evidence.stored' && e.data.name === 'instance.json')).toBe(true);
  });
});
