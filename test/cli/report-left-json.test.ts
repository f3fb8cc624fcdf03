/**
 * `custody report --json` counts what the report's "Left in the cloud" section lists, as its
 * summary line does: every note the ledger records, and those no later entry took up.
 */
import { describe, expect, it } from 'vitest';
import { EXIT } from '../../src/core/errors.js';
import { openCase } from '../../src/custody/index.js';
import { leftInCloud } from '../../src/providers/shared/left-in-cloud.js';
import { custody } from '../e2e/cli-run.js';
import { caseOptions, INSTANCE, useScratch } from '../custody/helpers.js';

const scratch = useScratch();
const RG = '/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.Compute';

async function reportJson(caseDir: string): Promise<{ report: Record<string, unknown>; exitCode: number }> {
  const run = await custody(['report', '--json', caseDir]);
  expect(run.stderr).toBe('');
  return JSON.parse(run.stdout) as { report: Record<string, unknown>; exitCode: number };
}

describe('custody report --json: left in the cloud', () => {
  it('counts the notes the report lists and those still left', async () => {
    const kase = await openCase(caseOptions(scratch));
    const cut = (snapshotId: string) => ({ step: 'wait-snapshot', volumeId: 'vol-0123', snapshotId, error: { code: 'E_CLOUD', message: 'stopped' }, leftInAws: leftInCloud(`snapshot ${snapshotId}`) });
    await kase.record('step.failed', cut('snap-0a'), INSTANCE);
    await kase.record('step.failed', cut('snap-0b'), INSTANCE);
    await kase.record('export.left-open', { source: `${RG}/disks/data-1`, reason: 'stopped: the read grant (SAS) may still be open; a resume revokes it' }, `${RG}/virtualMachines/vm-1`);
    await kase.record('snapshot.adopted', { snapshotId: 'snap-0a', volumeId: 'vol-0123', role: 'source', state: 'completed' }, INSTANCE);
    await kase.close({});
    const doc = await reportJson(kase.caseDir);
    expect(doc.exitCode).toBe(EXIT.OK);
    expect(doc.report.leftInCloud).toEqual({ total: 3, stillLeft: 2 });
  });

  it('counts none when the ledger records nothing left', async () => {
    const kase = await openCase(caseOptions(scratch));
    await kase.close({});
    expect((await reportJson(kase.caseDir)).report.leftInCloud).toEqual({ total: 0, stillLeft: 0 });
  });
});
