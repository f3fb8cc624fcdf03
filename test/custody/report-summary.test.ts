/**
 * The report counsel reads: a one-page summary first (case, who, when, verification with ledger
 * head and key fingerprint, every target with its snapshots, changes made to targets), then the
 * evidence grouped by target, then the timeline; and how to verify the case yourself.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import type { LedgerEntry } from '../../src/core/ports.js';
import { openCase, renderReport, verifyCase } from '../../src/custody/index.js';
import { buildReportModel } from '../../src/custody/report-model.js';
import { renderMarkdown } from '../../src/custody/report-render.js';
import { buildClosedCase, caseOptions, INSTANCE, useScratch } from './helpers.js';

const POD = 'k8s:prod/shop/web-1';
const SECOND = 'arn:aws:ec2:us-east-1:333333333333:instance/i-0fedcba9876543210';

/** Where each heading is in the text, in order (fails if one is missing). */
function headingOrder(text: string, headings: string[]): number[] {
  return headings.map((h) => {
    const at = text.indexOf(h);
    expect(at, h).toBeGreaterThanOrEqual(0);
    return at;
  });
}

describe('report: the summary counsel reads first', () => {
  const scratch = useScratch();

  it('leads with the summary, targets and changes, then evidence by target, then the timeline', async () => {
    const kase = await buildClosedCase(scratch);
    const { markdown, verification } = await renderReport(kase.caseDir);
    const md = await readFile(markdown, 'utf8');
    const order = headingOrder(md, [
      '## Summary',
      '## Who ran the collection',
      '## Targets',
      '## Changes made to targets',
      '## How to verify this case yourself',
      `## Evidence files: ${INSTANCE}`,
      '## Timeline (every ledger entry)',
    ]);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const summary = md.slice(order[0], order[1]);
    expect(summary).toContain('PASSED');
    expect(summary).toContain(`Ledger head (last entry, SEQ:HASH): ${verification.head!.seq}:${verification.head!.hash}`);
    expect(summary).toContain(`Signing key fingerprint (SHA-256 of the public key): sha256:${kase.fingerprint}`);
    expect(summary).toMatch(/Opened \(UTC\): \d{4}-\d\d-\d\dT/);
    expect(summary).toMatch(/Closed \(UTC\): \d{4}-\d\d-\d\dT/);
    expect(summary).toContain('all times in this report are UTC');
    // Older cases have no authenticated principal: said so, not left blank.
    const who = md.slice(order[1], order[2]);
    expect(who).toMatch(/\| 1 \| .* \| opened \| alice@example\.org \| not recorded \|/);
    // The target row carries its status, its snapshot and copy, and why it is partial.
    const targets = md.slice(order[2], order[3]);
    expect(targets).toMatch(new RegExp(`\\| ${INSTANCE.replace(/[/.]/g, '\\$&')} \\| partial \\| arn:aws:ec2:us-east-1:222222222222:volume/vol-0123: snap-0001 → forensicsCopyId=snap-0999 \\| 2 \\| the console screenshot was denied \\|`));
    expect(md.slice(order[3], order[4])).toContain('No change was made to any target.');
    const how = md.slice(order[4], order[5]);
    expect(how).toContain('custody verify --expect-key sha256:<fingerprint> --expect-head <SEQ:HASH> <case folder>');
    expect(how).toContain('npm install -g cloud-custody');
  });

  it('shows the authenticated principal beside the asserted analyst, a resume by someone else, and each change with before and after', async () => {
    const kase = await openCase(caseOptions(scratch));
    // Written as the attribution work records them (issue 7 item 9): the principal beside the analyst.
    await kase.record('collection.started', {});
    await kase.record('change.requested', { attribute: 'disableApiTermination', instanceId: 'i-0abc1234def567890', before: null, after: true }, INSTANCE);
    await kase.record('change.applied', { attribute: 'disableApiTermination', instanceId: 'i-0abc1234def567890', before: null, after: true, requestId: 'req-9' }, INSTANCE);
    await kase.record('change.requested', { change: 'label-pod', resource: 'pods/shop/web-1', labels: { 'cloud-custody/isolated': 'IR-2026-0042' } }, POD);
    await kase.record('target.covered', { coveredBy: POD, reason: `collected as part of ${POD}, also a target of this run, which takes it whole` }, `${POD}/app`);
    await kase.record('target.completed', { status: 'collected', evidenceIds: [] }, POD);
    await kase.record('target.completed', { status: 'failed', reason: 'no snapshot was taken: denied', evidenceIds: [] }, SECOND);
    await kase.close({ outcomes: [] });
    const resumed = await openCase(caseOptions(scratch, { resume: true, analyst: 'bob@example.org' }));
    await resumed.close({ outcomes: [] });
    const md = await readFile((await renderReport(kase.caseDir)).markdown, 'utf8');
    expect(md).toMatch(/\| opened \| alice@example\.org \| not recorded \|/);
    expect(md).toMatch(/\| resumed \| bob@example\.org \| not recorded \|/);
    const changes = md.slice(md.indexOf('## Changes made to targets'), md.indexOf('## How to verify'));
    expect(changes).toContain('| disableApiTermination on i-0abc1234def567890 | not read | true | applied (entry 4) |');
    expect(changes).toContain('| label-pod on pods/shop/web-1 | not read | {"cloud-custody/isolated":"IR-2026-0042"} | not confirmed: no change.applied follows (see Failures) |');
    const targets = md.slice(md.indexOf('## Targets'), md.indexOf('## Changes made'));
    expect(targets).toContain(`| ${POD} | collected |`);
    // A container named beside its pod says it was collected with the pod, not 'no outcome recorded'.
    expect(targets).toContain(`| ${POD}/app | covered | (none) | 0 | collected as part of ${POD}, also a target of this run, which takes it whole |`);
    expect(targets).toContain(`| ${SECOND} | failed | (none) | 0 | no snapshot was taken: denied |`);
  });

  it('renders the principal recorded in case.opened / case.resumed (ARN, account, user id)', async () => {
    const kase = await buildClosedCase(scratch);
    const verification = await verifyCase(kase.caseDir);
    const entries = (await readFile(`${kase.caseDir}/ledger.jsonl`, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as LedgerEntry);
    entries[0] = {
      ...entries[0]!,
      data: { ...entries[0]!.data, principal: { arn: 'arn:aws:sts::111111111111:assumed-role/IR/alice', account: '111111111111', userId: 'AROAEXAMPLE:alice' } },
    };
    const model = buildReportModel(entries, verification, new Date('2026-12-01T00:00:00Z'));
    expect(model.runs[0]).toMatchObject({ analyst: 'alice@example.org', principal: 'arn:aws:sts::111111111111:assumed-role/IR/alice (account 111111111111, user id AROAEXAMPLE:alice)' });
    expect(renderMarkdown(model)).toContain('| alice@example.org | arn:aws:sts::111111111111:assumed-role/IR/alice (account 111111111111, user id AROAEXAMPLE:alice) |');
  });
});
