/**
 * What the cloud may still hold that the case did not collect: every `leftInAws` / `leftInGcp` /
 * `leftInAzure` note and every `export.left-open`, per target, with the provider's ids and what
 * the ledger says a resume does, and whether a later entry of the case took it up.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { openCase, renderReport } from '../../src/custody/index.js';
import { leftInCloud } from '../../src/providers/shared/left-in-cloud.js';
import { caseOptions, INSTANCE, useScratch } from './helpers.js';

const scratch = useScratch();
const GCE = '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1';
const VM = '/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.Compute/virtualMachines/vm-1';
const AZ_SNAPSHOT = '/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.Compute/snapshots/custody-ev-1';
const AZ_POINT = '/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.Compute/restorePointCollections/custody-c/restorePoints/custody-p';
const DISK = '/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.Compute/disks/data-1';

/** The lines of a Markdown section, from its heading to the next. */
function sectionOf(markdown: string, title: string): string {
  const start = markdown.indexOf(`## ${title}\n`);
  if (start < 0) return '';
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, end < 0 ? undefined : end);
}

const rowsOf = (section: string, needle: string) => section.split('\n').filter((line) => line.startsWith('|') && line.includes(needle));

describe('report: left in the cloud', () => {
  it('lists each leftIn* note and each export.left-open per target, with its provider ids and the entry that recorded it', async () => {
    const kase = await openCase(caseOptions(scratch));
    const aws = await kase.record('step.failed', { step: 'wait-snapshot', volumeId: 'vol-0123', snapshotId: 'snap-0left', error: { code: 'E_CLOUD', message: 'stopped waiting for snap-0left: the run was cancelled' }, leftInAws: leftInCloud('snapshot snap-0left') }, INSTANCE);
    const gcp = await kase.record('step.failed', { step: 'snapshot', disk: 'web-1', snapshotName: 'custody-ev-0123456789ab', snapshotId: '4711', evidenceId: 'ev-0123456789ab', error: { code: 'E_CLOUD', message: 'timed out' }, leftInGcp: leftInCloud('snapshot custody-ev-0123456789ab') }, GCE);
    const point = await kase.record('step.failed', { step: 'restore-point', restorePointId: AZ_POINT, error: { code: 'E_CLOUD', message: 'stopped' }, requestIds: ['arm-1'], refusedOutright: false, leftInAzure: leftInCloud(`restore point ${AZ_POINT}`) }, VM);
    const grant = await kase.record('export.left-open', { source: DISK, blob: 'ev-2/disk.vhd', copyId: 'copy-1', grantExpiresOn: '2026-12-06T09:00:00Z', reason: 'the run was stopped: the read grant (SAS) may still be open until 2026-12-06T09:00:00Z; a resume revokes it' }, VM);
    const revoke = await kase.record('step.failed', { step: 'revoke', source: AZ_SNAPSHOT, error: { code: 'E_CLOUD', message: `endGetAccess on ${AZ_SNAPSHOT} failed: its read grant (SAS) is still open` }, grantStillOpen: true, grantExpiresOn: '2026-12-06T10:00:00Z' }, VM);
    // A failed step that left nothing is no such row.
    await kase.record('step.failed', { step: 'console-screenshot', error: { code: 'E_ACCESS_DENIED', message: 'denied' } }, INSTANCE);
    await kase.close({});
    const result = await renderReport(kase.caseDir);
    const markdown = await readFile(result.markdown, 'utf8');
    const section = sectionOf(markdown, 'Left in the cloud');

    expect(rowsOf(section, 'snap-0left')).toEqual([
      `| ${INSTANCE} | ${aws.seq} | ${aws.time} | wait-snapshot | snapshotId=snap-0left, volumeId=vol-0123 | snapshot snap-0left was asked for and may still be being made; a resume adopts it | still left, as recorded in entry ${aws.seq}: no later entry records it adopted or completed |`,
    ]);
    expect(rowsOf(section, 'custody-ev-0123456789ab')).toEqual([
      `| ${GCE} | ${gcp.seq} | ${gcp.time} | snapshot | snapshotName=custody-ev-0123456789ab, snapshotId=4711, disk=web-1 | snapshot custody-ev-0123456789ab was asked for and may still be being made; a resume adopts it | still left, as recorded in entry ${gcp.seq}: no later entry records it adopted, completed or failed |`,
    ]);
    expect(rowsOf(section, `| ${point.seq} |`)).toEqual([
      `| ${VM} | ${point.seq} | ${point.time} | restore-point | restorePointId=${AZ_POINT} | restore point ${AZ_POINT} was asked for and may still be being made; a resume adopts it | still left, as recorded in entry ${point.seq}: no later entry records it adopted or completed |`,
    ]);
    expect(rowsOf(section, `| ${grant.seq} |`)).toEqual([
      `| ${VM} | ${grant.seq} | ${grant.time} | export.left-open | source=${DISK}, blob=ev-2/disk.vhd, copyId=copy-1, grantExpiresOn=2026-12-06T09:00:00Z | the run was stopped: the read grant (SAS) may still be open until 2026-12-06T09:00:00Z; a resume revokes it | still left, as recorded in entry ${grant.seq}: no later entry records it revoked |`,
    ]);
    expect(rowsOf(section, `| ${revoke.seq} |`)).toEqual([
      `| ${VM} | ${revoke.seq} | ${revoke.time} | revoke | source=${AZ_SNAPSHOT}, grantExpiresOn=2026-12-06T10:00:00Z | E_CLOUD endGetAccess on ${AZ_SNAPSHOT} failed: its read grant (SAS) is still open | still left, as recorded in entry ${revoke.seq}: no later entry records it revoked |`,
    ]);
    expect(section).not.toContain('console-screenshot');
    expect(markdown).toContain('- Left in the cloud: 5 items the case did not collect, as the ledger last records them (see Left in the cloud)');

    const html = await readFile(result.html, 'utf8');
    expect(html).toContain('<h2>Left in the cloud</h2>');
    expect(html).toContain(`<td>snapshotId=snap-0left, volumeId=vol-0123</td>`);
    expect(html).toContain(`<td>still left, as recorded in entry ${grant.seq}: no later entry records it revoked</td>`);
  });

  it('says which later entry adopted, completed, failed or revoked each, and keeps a note cut again after its adoption', async () => {
    const kase = await openCase(caseOptions(scratch));
    const cut = await kase.record('step.failed', { step: 'wait-snapshot', volumeId: 'vol-0123', snapshotId: 'snap-0cut', error: { code: 'E_CLOUD', message: 'stopped' }, leftInAws: leftInCloud('snapshot snap-0cut') }, INSTANCE);
    const copyCut = await kase.record('step.failed', { step: 'forensics-copy', volumeId: 'vol-0123', snapshotId: 'snap-0src', error: { code: 'E_CLOUD', message: 'stopped' }, leftInAws: leftInCloud('snapshot snap-0fcopy') }, INSTANCE);
    const gcpCut = await kase.record('step.failed', { step: 'snapshot', disk: 'web-1', snapshotName: 'custody-ev-1', evidenceId: 'ev-1', error: { code: 'E_CLOUD', message: 'stopped' }, leftInGcp: leftInCloud('snapshot custody-ev-1') }, GCE);
    const gcpCutFailed = await kase.record('step.failed', { step: 'snapshot', disk: 'db-1', snapshotName: 'custody-ev-2', evidenceId: 'ev-2', error: { code: 'E_CLOUD', message: 'stopped' }, leftInGcp: leftInCloud('snapshot custody-ev-2') }, GCE);
    const azCut = await kase.record('step.failed', { step: 'snapshot', snapshotId: AZ_SNAPSHOT, error: { code: 'E_CLOUD', message: 'stopped' }, leftInAzure: leftInCloud(`snapshot ${AZ_SNAPSHOT}`) }, VM);
    const open = await kase.record('export.left-open', { source: DISK, blob: 'ev-2/disk.vhd', reason: 'stopped: the read grant (SAS) may still be open until it expires (expiry not known); a resume revokes it' }, VM);
    await kase.record('case.resumed', { analyst: 'alice@example.org' });
    // Another target's adoption of the same id, and an adoption of another copy role, take up nothing here.
    await kase.record('snapshot.adopted', { snapshotId: 'snap-0cut', volumeId: 'vol-0123', role: 'source', state: 'pending' }, 'arn:aws:ec2:us-east-1:222222222222:instance/i-0other');
    await kase.record('snapshot.adopted', { snapshotId: 'snap-0re', volumeId: 'vol-0123', role: 'reencrypted', state: 'completed', sourceSnapshotId: 'snap-0src' }, INSTANCE);
    const adopted = await kase.record('snapshot.adopted', { snapshotId: 'snap-0cut', volumeId: 'vol-0123', role: 'source', state: 'pending' }, INSTANCE);
    const cutAgain = await kase.record('step.failed', { step: 'wait-snapshot', volumeId: 'vol-0123', snapshotId: 'snap-0cut', error: { code: 'E_CLOUD', message: 'timed out' }, leftInAws: leftInCloud('snapshot snap-0cut') }, INSTANCE);
    const copyAdopted = await kase.record('snapshot.adopted', { snapshotId: 'snap-0fcopy', volumeId: 'vol-0123', role: 'forensics', state: 'completed', sourceSnapshotId: 'snap-0src' }, INSTANCE);
    const gcpDone = await kase.record('snapshot.completed', { snapshotName: 'custody-ev-1', snapshotId: '99', status: 'READY', evidenceId: 'ev-1' }, GCE);
    // A snapshot a resume found FAILED is settled (kept in GCP; the resume took the next name).
    const gcpFailed = await kase.record('snapshot.failed', { snapshotName: 'custody-ev-2', snapshotId: '98', status: 'FAILED', attempt: 1, evidenceId: 'ev-2', kept: true, nextSnapshotName: 'custody-ev-2-2' }, GCE);
    // ARM ids are compared without regard to case, as Azure compares them.
    const azAdopted = await kase.record('snapshot.adopted', { disk: DISK, snapshotId: AZ_SNAPSHOT.toLowerCase(), evidenceId: 'ev-1', provisioningState: 'Succeeded' }, VM);
    const revoked = await kase.record('export.revoked', { source: DISK, requestIds: ['arm-9'] }, VM);
    await kase.close({});
    const markdown = await readFile((await renderReport(kase.caseDir)).markdown, 'utf8');
    const section = sectionOf(markdown, 'Left in the cloud');
    const lastCell = (seq: number) => rowsOf(section, `| ${seq} |`).map((row) => row.split(' | ').at(-1));

    expect(lastCell(cut.seq)).toEqual([`adopted in entry ${adopted.seq} (snapshot.adopted, state pending) |`]);
    expect(lastCell(cutAgain.seq)).toEqual([`still left, as recorded in entry ${cutAgain.seq}: no later entry records it adopted or completed |`]);
    // A copy's step records the copy's source as its snapshotId: said so, not passed off as the copy.
    expect(rowsOf(section, `| ${copyCut.seq} |`)[0]).toContain("| forensics-copy | snapshotId=snap-0src (the copy's source), volumeId=vol-0123 | snapshot snap-0fcopy was asked for");
    expect(lastCell(copyCut.seq)).toEqual([`adopted in entry ${copyAdopted.seq} (snapshot.adopted, snapshotId snap-0fcopy, state completed) |`]);
    expect(lastCell(gcpCut.seq)).toEqual([`completed in entry ${gcpDone.seq} (snapshot.completed, status READY) |`]);
    expect(lastCell(gcpCutFailed.seq)).toEqual([`failed in entry ${gcpFailed.seq} (snapshot.failed, status FAILED) |`]);
    expect(lastCell(azCut.seq)).toEqual([`adopted in entry ${azAdopted.seq} (snapshot.adopted, provisioningState Succeeded) |`]);
    expect(lastCell(open.seq)).toEqual([`revoked in entry ${revoked.seq} (export.revoked) |`]);
    expect(markdown).toContain('- Left in the cloud: 1 item the case did not collect, as the ledger last records them; 6 taken up by later entries (see Left in the cloud)');
  });

  it("takes a copy step's note up by the copy's own id (copySnapshotId) when the entry records it", async () => {
    const kase = await openCase(caseOptions(scratch));
    const reCut = await kase.record('step.failed', { step: 'reencrypt', volumeId: 'vol-0123', snapshotId: 'snap-0src', copySnapshotId: 'snap-0re', error: { code: 'E_CLOUD', message: 'stopped' }, leftInAws: leftInCloud('snapshot snap-0re') }, INSTANCE);
    const fCut = await kase.record('step.failed', { step: 'forensics-copy', volumeId: 'vol-0123', snapshotId: 'snap-0re', copySnapshotId: 'snap-0fcopy', error: { code: 'E_CLOUD', message: 'stopped' }, leftInAws: leftInCloud('snapshot snap-0fcopy') }, INSTANCE);
    await kase.record('case.resumed', { analyst: 'alice@example.org' });
    // Another copy of the same source and role (not the one this entry left) takes nothing up.
    await kase.record('snapshot.adopted', { snapshotId: 'snap-0other', volumeId: 'vol-0123', role: 'reencrypted', state: 'completed', sourceSnapshotId: 'snap-0src' }, INSTANCE);
    const reAdopted = await kase.record('snapshot.adopted', { snapshotId: 'snap-0re', volumeId: 'vol-0123', role: 'reencrypted', state: 'completed', sourceSnapshotId: 'snap-0src' }, INSTANCE);
    // The forensics copy adopted by its own id, whatever source the adoption records.
    const fAdopted = await kase.record('snapshot.adopted', { snapshotId: 'snap-0fcopy', volumeId: 'vol-0123', role: 'forensics', state: 'pending' }, INSTANCE);
    await kase.close({});
    const markdown = await readFile((await renderReport(kase.caseDir)).markdown, 'utf8');
    const section = sectionOf(markdown, 'Left in the cloud');
    const lastCell = (seq: number) => rowsOf(section, `| ${seq} |`).map((row) => row.split(' | ').at(-1));

    expect(rowsOf(section, `| ${reCut.seq} |`)[0]).toContain("| reencrypt | snapshotId=snap-0src (the copy's source), copySnapshotId=snap-0re, volumeId=vol-0123 | snapshot snap-0re was asked for");
    expect(lastCell(reCut.seq)).toEqual([`adopted in entry ${reAdopted.seq} (snapshot.adopted, state completed) |`]);
    expect(lastCell(fCut.seq)).toEqual([`adopted in entry ${fAdopted.seq} (snapshot.adopted, state pending) |`]);
  });

  it('escapes what the ledger says in both formats', async () => {
    const kase = await openCase(caseOptions(scratch));
    const hostile = 'snap-<img src=x onerror=alert(1)>|[x](javascript:alert(2))\n# pwned';
    await kase.record('step.failed', { step: 'wait-snapshot', volumeId: 'vol-1', snapshotId: hostile, error: { code: 'E_CLOUD', message: 'stopped' }, leftInAws: leftInCloud(`snapshot ${hostile}`) }, INSTANCE);
    await kase.close({});
    const result = await renderReport(kase.caseDir);
    const html = await readFile(result.html, 'utf8');
    expect(html).toContain('<h2>Left in the cloud</h2>');
    expect(html).not.toContain('<img');
    const md = sectionOf(await readFile(result.markdown, 'utf8'), 'Left in the cloud');
    expect(md).toContain('snap-\\<img src=x onerror=alert(1)>\\|\\[x\\](javascript:alert(2))');
    expect(md).not.toMatch(/(^|[^\\])<img/m);
    expect(md).not.toMatch(/^#+ pwned/m);
  });

  it('has no such section when the ledger records nothing left in the cloud', async () => {
    const kase = await openCase(caseOptions(scratch));
    await kase.record('step.failed', { step: 'console-screenshot', error: { code: 'E_ACCESS_DENIED', message: 'denied' } }, INSTANCE);
    await kase.close({});
    const markdown = await readFile((await renderReport(kase.caseDir)).markdown, 'utf8');
    expect(markdown).not.toContain('Left in the cloud');
  });
});
