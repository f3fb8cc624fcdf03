import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openCase, renderReport, verifyCase } from '../../src/custody/index.js';
import { clockText } from '../../src/custody/report-render.js';
import { jsonEvidence } from '../../src/core/redact-json.js';
import { buildClosedCase, caseOptions, useScratch } from './helpers.js';

describe('report', () => {
  const scratch = useScratch();

  it('tells counsel who did what, what was kept with which hash, what failed, and that it verifies', async () => {
    const kase = await buildClosedCase(scratch);
    const result = await renderReport(kase.caseDir);
    expect(result.markdown).toBe(join(kase.caseDir, 'report.md'));
    expect(result.html).toBe(join(kase.caseDir, 'report.html'));
    expect(result.verification.ok).toBe(true);
    const ledger = (await readFile(join(kase.caseDir, 'ledger.jsonl'), 'utf8')).trimEnd().split('\n');
    const manifest = JSON.parse(await readFile(join(kase.caseDir, 'manifest.json'), 'utf8')) as { files: Array<{ sha256: string }> };

    for (const path of [result.markdown, result.html]) {
      const text = await readFile(path, 'utf8');
      expect(text).toContain('IR-2026-0042');
      expect(text).toContain('alice@example.org');
      expect(text).toContain('cloud-custody 0.1.0-test');
      expect(text).toContain(kase.fingerprint);
      expect(text).toContain('PASSED');
      expect(text).toMatch(/not part of the verified evidence/);
      for (const file of manifest.files) expect(text).toContain(file.sha256);
      expect(text).toContain('snap-0001');
      expect(text).toContain('snap-0999');
      expect(text).toContain('ec2:GetConsoleScreenshot denied');
      expect(text).toContain('the console screenshot was denied');
      expect(text).toContain('arn:aws:iam::222222222222:role/CloudCustodyCollector');
      // Its role session was recorded before sessions recorded AWS's clock: the report says nothing of it.
      expect(text.replaceAll('&#39;', "'")).not.toContain("clock against AWS's");
      // Every ledger entry appears in the timeline.
      for (const line of ledger) expect(text).toContain((JSON.parse(line) as { time: string }).time);
    }
  });

  it('says how far the collector\'s clock, the ledger\'s times, was from AWS\'s, as the role sessions recorded it', async () => {
    const kase = await openCase(caseOptions(scratch));
    for (const [account, offset] of [['222222222222', 1_199_400], ['333333333333', 1_200_300]] as const) {
      await kase.record('credentials.assumed', { account, roleArn: `arn:aws:iam::${account}:role/CloudCustodyCollector`, reason: 'first', awsClockOffsetMs: offset, requestId: 'req-1' });
    }
    await kase.close({ outcomes: [] });
    const result = await renderReport(kase.caseDir);
    for (const path of [result.markdown, result.html]) {
      // The HTML writes an apostrophe as &#39;.
      expect((await readFile(path, 'utf8')).replaceAll('&#39;', "'")).toContain("up to 20 min 0 s behind AWS's (STS's answers to 2 role sessions; the ledger's times are the collector's)");
    }
    const aws = { cloud: 'AWS', answers: "STS's answers", credential: 'role session' };
    expect(clockText({ ...aws, minMs: -700, maxMs: -20, credentials: 1 })).toBe("within a second of AWS's (STS's answers to 1 role session; the ledger's times are the collector's)");
    expect(clockText({ ...aws, minMs: -90_400, maxMs: 300, credentials: 3 })).toMatch(/^up to 1 min 30 s ahead of AWS's/);
  });

  it("gives Microsoft's and Google's clocks too, from the Azure and GCP token entries, each beside its own cloud", async () => {
    const kase = await openCase(caseOptions(scratch));
    await kase.record('credentials.obtained', { provider: 'azure', tenantId: 'tenant-1', azureClockOffsetMs: -3_000 });
    await kase.record('credentials.obtained', { provider: 'azure', tenantId: 'tenant-1', azureClockOffsetMs: 400 });
    await kase.record('credentials.impersonated', { project: 'p-1', serviceAccount: 'sa@p-1.iam.gserviceaccount.com', gcpClockOffsetMs: 125_000 });
    // A token from the Azure CLI records no offset: it is not counted.
    await kase.record('credentials.obtained', { provider: 'azure', tenantId: 'tenant-1' });
    await kase.close({ outcomes: [] });
    const result = await renderReport(kase.caseDir);
    for (const path of [result.markdown, result.html]) {
      const text = (await readFile(path, 'utf8')).replaceAll('&#39;', "'");
      expect(text).toContain("up to 3 s ahead of Microsoft's (the identity endpoint's answers to 2 tokens; the ledger's times are the collector's)");
      expect(text).toContain("up to 2 min 5 s behind Google's (IAM Credentials' answers to 1 token; the ledger's times are the collector's)");
      expect(text).not.toContain("clock against AWS's");
    }
  });

  it('lists a per-volume change with each volume\'s before and after, and a change the provider did not apply as NOT APPLIED', async () => {
    const kase = await openCase(caseOptions(scratch));
    const target = 'arn:aws:ec2:eu-west-1:222222222222:instance/i-0abc';
    const change = { attribute: 'deleteOnTermination', instanceId: 'i-0abc' };
    await kase.record('change.requested', { ...change, volumes: [{ deviceName: '/dev/xvda', volumeId: 'vol-1', before: true, after: false }] }, target);
    await kase.record('change.applied', { ...change, volumes: [{ deviceName: '/dev/xvda', volumeId: 'vol-1', before: true, after: false }], requestId: 'req-2' }, target);
    const protection = { attribute: 'disableApiTermination', instanceId: 'i-0abc' };
    await kase.record('change.requested', { ...protection, before: false, after: true }, target);
    await kase.record('change.unconfirmed', { ...protection, before: false, after: false, requested: true, requestId: 'req-3' }, target);
    await kase.close({ outcomes: [] });
    const markdown = await readFile((await renderReport(kase.caseDir)).markdown, 'utf8');
    const rows = markdown.split('\n').filter((line) => line.includes('on i-0abc'));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/deleteOnTermination on i-0abc \| vol-1: true \| vol-1: false \| applied \(entry \d+\)/);
    expect(rows[1]).toMatch(/disableApiTermination on i-0abc \| false \| false \| NOT APPLIED/);
  });

  it('a change whose read-back failed is NOT CONFIRMED with its after "not read back", never the value that was asked for', async () => {
    const kase = await openCase(caseOptions(scratch));
    const target = 'arn:aws:ec2:eu-west-1:222222222222:instance/i-0def';
    const protection = { attribute: 'disableApiTermination', instanceId: 'i-0def' };
    await kase.record('change.requested', { ...protection, before: null, after: true }, target);
    await kase.record('change.unconfirmed', { ...protection, before: null, after: null, requested: true, confirmed: null, requestId: 'req-4', readBackError: { code: 'E_ACCESS_DENIED', message: 'denied' } }, target);
    await kase.close({ outcomes: [] });
    const markdown = await readFile((await renderReport(kase.caseDir)).markdown, 'utf8');
    const rows = markdown.split('\n').filter((line) => line.includes('on i-0def'));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(/disableApiTermination on i-0def \| not read \| not read back \| NOT CONFIRMED/);
  });

  it('a change found already in effect is listed as not changed, with the value read as before and after', async () => {
    const kase = await openCase(caseOptions(scratch));
    const target = 'arn:aws:ec2:eu-west-1:222222222222:instance/i-0fie';
    await kase.record('change.found-in-effect', { attribute: 'disableApiTermination', instanceId: 'i-0fie', value: true, requested: true, readBy: 'ec2:DescribeInstanceAttribute', readRequestId: 'req-5' }, target);
    await kase.record(
      'change.found-in-effect',
      { attribute: 'deleteOnTermination', instanceId: 'i-0fie', volumes: [{ deviceName: '/dev/xvda', volumeId: 'vol-9', value: false }], requested: false, readBy: 'ec2:DescribeInstances', readRequestId: 'req-6' },
      target,
    );
    await kase.close({ outcomes: [] });
    const markdown = await readFile((await renderReport(kase.caseDir)).markdown, 'utf8');
    const rows = markdown.split('\n').filter((line) => line.includes('on i-0fie'));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/disableApiTermination on i-0fie \| true \| true \| not changed: already in effect when read \(entry \d+\)/);
    expect(rows[1]).toMatch(/deleteOnTermination on i-0fie \| vol-9: false \| vol-9: false \| not changed: already in effect/);
  });

  it('the timeline says a share EC2 did not confirm in words, with what EC2 listed or the read-back error, and one it confirmed with the read request', async () => {
    const kase = await openCase(caseOptions(scratch));
    const target = 'arn:aws:ec2:eu-west-1:222222222222:instance/i-0sha';
    const sent = { volumeId: 'vol-1', withAccount: '111111111111', requestId: 'req-share' };
    await kase.record('snapshot.shared', { ...sent, snapshotId: 'snap-ok', confirmed: { createVolumePermission: [{ userId: '111111111111' }] }, confirmRequestId: 'req-read-1' }, target);
    await kase.record('snapshot.share-unconfirmed', { ...sent, snapshotId: 'snap-unlisted', confirmed: { createVolumePermission: [] }, confirmRequestId: 'req-read-2', then: 'forensics copy attempted' }, target);
    await kase.record('snapshot.share-unconfirmed', { ...sent, snapshotId: 'snap-unread', confirmed: null, readBackError: { code: 'E_ACCESS_DENIED', message: 'not authorized to perform ec2:DescribeSnapshotAttribute' } }, target);
    await kase.close({ outcomes: [] });
    const markdown = await readFile((await renderReport(kase.caseDir)).markdown, 'utf8');
    expect(markdown).toContain('snap-ok shared with 111111111111: EC2 lists it (read back, request req-read-1)');
    expect(markdown).toContain('SHARE NOT CONFIRMED snap-unlisted with 111111111111: EC2 lists no account; forensics copy attempted');
    expect(markdown).toContain('SHARE NOT CONFIRMED snap-unread with 111111111111: its read-back failed: E_ACCESS_DENIED not authorized to perform ec2:DescribeSnapshotAttribute');
  });

  it('a share EC2 lists beside other accounts or the public group says so, and one recorded before shares were read back claims no read-back', async () => {
    const kase = await openCase(caseOptions(scratch));
    const target = 'arn:aws:ec2:eu-west-1:222222222222:instance/i-0shb';
    const sent = { volumeId: 'vol-1', withAccount: '111111111111', requestId: 'req-share' };
    const listed = [{ userId: '111111111111' }, { userId: '999999999999' }, { group: 'all' }];
    await kase.record('snapshot.shared', { ...sent, snapshotId: 'snap-wide', confirmed: { createVolumePermission: listed }, confirmRequestId: 'req-read-3' }, target);
    await kase.record('snapshot.shared', { ...sent, snapshotId: 'snap-old' }, target);
    await kase.close({ outcomes: [] });
    const markdown = await readFile((await renderReport(kase.caseDir)).markdown, 'utf8');
    expect(markdown).toContain('snap-wide shared with 111111111111: EC2 lists it (read back, request req-read-3); EC2 ALSO LISTS 999999999999, group all');
    expect(markdown).toContain('snap-old shared with 111111111111 (request req-share): not read back');
    expect(markdown).not.toMatch(/snap-old shared with 111111111111: EC2 lists it/);
  });

  it('says which files were stored redacted, how many values of which kinds at which paths, and the hash before the cut, escaping a hostile annotation key', async () => {
    const kase = await openCase(caseOptions(scratch));
    const pod = 'k8s:prod/shop/pod/web-1';
    const hostileKey = '<img src=x onerror=alert(1)>|](javascript:alert(2))\n# pwned';
    const description = jsonEvidence({
      metadata: { name: 'web-1', annotations: { [hostileKey]: 'https://acct.blob.core.windows.net/c/x?sv=2024-01-01&sig=c2lnbmF0dXJl' } },
      spec: { containers: [{ name: 'app', env: [{ name: 'NODE_ENV', value: 'production' }, { name: 'DATABASE_URL', value: 'postgres://shop:hunter2@db:5432/shop' }] }] },
    });
    const pending = await kase.storeEvidence({ evidenceId: 'ev-dddddddddddd', name: 'pod.json', kind: 'pod-description', source: '/api/v1/namespaces/shop/pods/web-1', target: pod, mediaType: 'application/json', ...description });
    // A description with many cuts: the list stops at twenty and names the entry holding the rest.
    const many = jsonEvidence({ env: Array.from({ length: 25 }, (_, i) => ({ name: `SVC_${i}_TOKEN`, value: `t-${i}` })) });
    const crowded = await kase.storeEvidence({ evidenceId: 'ev-eeeeeeeeeeee', name: 'owner-deployment.json', kind: 'owner-description', source: '/apis/apps/v1/deployments/web', target: pod, mediaType: 'application/json', ...many });
    await kase.storeEvidence({ evidenceId: 'ev-dddddddddddd', name: 'events.json', kind: 'events', source: '/api/v1/events', target: pod, mediaType: 'application/json', ...jsonEvidence({ items: [] }) });
    await kase.close({ outcomes: [{ target: pod, status: 'collected', evidenceIds: ['ev-dddddddddddd', 'ev-eeeeeeeeeeee'] }] });
    const ledger = (await readFile(join(kase.caseDir, 'ledger.jsonl'), 'utf8')).trimEnd().split('\n').map((l) => JSON.parse(l) as { seq: number; type: string; data: { path?: string } });
    const seqOf = (path: string) => ledger.find((e) => e.type === 'evidence.stored' && e.data.path === path)!.seq;
    const result = await renderReport(kase.caseDir);
    expect(result.verification.ok).toBe(true);
    expect(description.redaction?.redacted).toHaveLength(2);

    const md = await readFile(result.markdown, 'utf8');
    const section = md.slice(md.indexOf('## Redacted descriptions'), md.indexOf('## Cloud artefacts'));
    expect(md.indexOf('## Redacted descriptions')).toBeGreaterThan(md.indexOf(`## Evidence files: ${pod}`));
    expect(section).toContain('test guesses offline');
    expect(section).toContain('| File | Target | Values cut | Where (JSON path in the file kept: kind) | SHA-256 before redaction | Entry |');
    const rows = section.split('\n').filter((line) => line.startsWith('| evidence/'));
    // One row per redacted file, in path order; events.json had nothing to cut and has no row.
    expect(rows.map((r) => r.split(' | ')[0])).toEqual([`| ${pending.path}`, `| ${crowded.path}`]);
    expect(rows[0]).toBe(
      `| ${pending.path} | ${pod} | 2 values: a signed URL (SAS, presigned or signed URL): 1; a URL with a password: 1 | ` +
        '$.metadata.annotations\\["\\<img src=x onerror=alert(1)>\\|\\](javascript:alert(2))\\n# pwned"\\]: a signed URL (SAS, presigned or signed URL); ' +
        `$.spec.containers\\[0\\].env\\[1\\].value: a URL with a password | ${description.redaction!.originalSha256} | ${seqOf(pending.path)} |`,
    );
    expect(rows[1]).toContain('25 values: a value named like a credential: 25 |');
    expect(rows[1]).toContain('$.env\\[19\\].value: a value named like a credential; … and 5 more (every one in entry');
    expect(rows[1]).not.toContain('$.env\\[20\\]');
    expect(rows[1]).toContain(`entry ${seqOf(crowded.path)}, redaction.redacted)`);
    // The evidence table says beside the hash that the file kept is not the provider's answer.
    expect(md).toContain(`| ${pending.path} | pod-description | /api/v1/namespaces/shop/pods/web-1 | ${pending.sha256} (REDACTED: 2 values cut before storing; see Redacted descriptions) |`);
    expect(md).toMatch(/\| evidence\/ev-dddddddddddd\/events\.json \| events \| \/api\/v1\/events \| [0-9a-f]{64} \|/);
    expect(md).toContain('- Descriptions stored redacted: 2 files with customer credentials cut out before storing (see Redacted descriptions)');
    expect(md).not.toMatch(/(^|[^\\])<img/m);
    expect(md).not.toMatch(/^#+ pwned/m);

    const html = await readFile(result.html, 'utf8');
    expect(html).toContain('<h2>Redacted descriptions</h2>');
    expect(html).not.toContain('<img');
    expect(html).toContain('$.metadata.annotations[&quot;&lt;img src=x onerror=alert(1)&gt;|](javascript:alert(2))\\n# pwned&quot;]: a signed URL (SAS, presigned or signed URL);\n$.spec.containers[0].env[1].value: a URL with a password</td>');
    expect(html).toContain(`<td>${description.redaction!.originalSha256}</td>`);
    expect(html).toContain(`${pending.sha256} (REDACTED: 2 values cut before storing; see Redacted descriptions)`);
  });

  it('a case with no redacted file has no redaction section and marks no hash', async () => {
    const kase = await buildClosedCase(scratch);
    const result = await renderReport(kase.caseDir);
    for (const path of [result.markdown, result.html]) {
      const text = await readFile(path, 'utf8');
      expect(text).toContain('instance.json');
      expect(text).not.toContain('Redacted descriptions');
      expect(text).not.toContain('REDACTED');
    }
  });

  it('is one self-contained HTML file: inline style, no script, no external asset', async () => {
    const kase = await buildClosedCase(scratch);
    const html = await readFile((await renderReport(kase.caseDir)).html, 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).toContain('<style>');
    expect(html).toContain(`Content-Security-Policy" content="default-src 'none'`);
    expect(html).not.toMatch(/<script|<link|<img|src=|https?:\/\//i);
  });

  it('escapes hostile names from the cluster in both formats', async () => {
    const kase = await openCase(caseOptions(scratch));
    const hostile = 'k8s:prod/default/pod/<img src=x onerror=alert(1)>';
    await kase.record('step.failed', { step: 'logs', error: { code: 'E_CLOUD', message: '| [click](javascript:alert(1)) <script>alert(2)</script>\n# pwned' } }, hostile);
    await kase.close({ outcomes: [{ target: hostile, status: 'failed', reason: 'pod </td></tr></table> vanished', evidenceIds: [] }] });
    const result = await renderReport(kase.caseDir);
    const html = await readFile(result.html, 'utf8');
    expect(html).not.toMatch(/<img|<script|<\/td><\/tr><\/table> vanished/);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    const md = await readFile(result.markdown, 'utf8');
    // Every `<` from a value is backslash-escaped, so no raw HTML tag can open.
    expect(md).not.toMatch(/(^|[^\\])<(img|script|\/td)/m);
    expect(md).toContain('\\<script>alert(2)\\</script>');
    expect(md).toContain('\\<img src=x onerror=alert(1)>');
    // Every bracket is escaped, so no link can form.
    expect(md).not.toMatch(/[^\\]\]\(javascript:/);
    // A `|` in a value cannot open a new table column.
    expect(md).toContain('\\| \\[click\\]');
    // A newline in a value cannot end the table row or start a heading.
    expect(md).not.toMatch(/^#+ pwned/m);
  });

  it('a kubectl exec URL with & stays readable in report.md, while a <script> in the same source stays text', async () => {
    const kase = await openCase(caseOptions(scratch));
    const source = '/api/v1/namespaces/shop/pods/web-1/exec?container=app&stdout=true&command=<script>alert(1)</script>';
    await kase.storeEvidence({
      evidenceId: 'ev-cccccccccccc',
      name: 'exec-app-identity.out',
      kind: 'exec-output',
      source,
      target: 'k8s:prod/shop/pod/web-1',
      content: 'uid=0(root)\n',
      cloudIds: { container: 'app' },
    });
    await kase.close({ outcomes: [] });
    const result = await renderReport(kase.caseDir);

    const md = await readFile(result.markdown, 'utf8');
    const row = md.split('\n').find((line) => line.includes('exec-app-identity.out'));
    expect(row).toContain('exec?container=app&stdout=true&command=\\<script>alert(1)\\</script> |');
    expect(md).not.toContain('&amp;');
    expect(md).not.toMatch(/(^|[^\\])<script/m);

    const html = await readFile(result.html, 'utf8');
    expect(html).toContain('exec?container=app&amp;stdout=true&amp;command=&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script');
  });

  it("the report's own words are Markdown, not escaped as if they were data", async () => {
    const kase = await buildClosedCase(scratch);
    const result = await renderReport(kase.caseDir);
    const md = await readFile(result.markdown, 'utf8');
    expect(md).toContain('not part of the verified evidence: `custody verify` ignores report.md and report.html.');
    expect(md).not.toContain('\\`');
    expect(md).toContain('| Path | Kind | Source | SHA-256 | Size (bytes) | Cloud ids |');
    const html = await readFile(result.html, 'utf8');
    expect(html).toContain('<code>custody verify</code> ignores report.md');
  });

  it('a report of a tampered case says verification failed and names the first problem', async () => {
    const kase = await buildClosedCase(scratch);
    await writeFile(join(kase.caseDir, 'evidence/ev-aaaaaaaaaaaa/console-output.log'), 'rewritten');
    const result = await renderReport(kase.caseDir);
    expect(result.verification.ok).toBe(false);
    const md = await readFile(result.markdown, 'utf8');
    expect(md).toMatch(/FAILED: 1 problem\(s\); the first: evidence\/ev-aaaaaaaaaaaa\/console-output\.log does not match entry 4/);
    expect(md).toMatch(/ERROR changed-file \(entry 4\)/);
  });

  it('a report of a ledger whose first line is unreadable says so (and points to verify), never that the case has no opening entry or key', async () => {
    const kase = await buildClosedCase(scratch);
    const ledger = join(kase.caseDir, 'ledger.jsonl');
    const lines = (await readFile(ledger, 'utf8')).split('\n');
    lines[0] = `x${lines[0]}`;
    lines[4] = lines[4]!.slice(0, 20);
    await writeFile(ledger, lines.join('\n'));
    const result = await renderReport(kase.caseDir);
    expect(result.verification.ok).toBe(false);
    const md = await readFile(result.markdown, 'utf8');
    const unknown = 'unknown: ledger.jsonl line 1 (case.opened, which pins the key) is unreadable; custody verify names the problem';
    expect(md).toContain(`- Opened (UTC): ${unknown}\n`);
    expect(md).toContain(`- Signing key fingerprint (SHA-256 of the public key): ${unknown}\n`);
    expect(md).toContain('- Unreadable ledger lines (not shown in this report): 1, 5; custody verify names the problem with each\n');
    expect(md).not.toContain('no case.opened entry');
    expect(md).not.toContain('no key pinned');
    expect(md).toContain('- Signed manifest: present, but it does not verify (see Verification details)\n');
  });

  it('a report of a ledger with a readable first line says when it was opened, and lists only the unreadable lines', async () => {
    const kase = await buildClosedCase(scratch);
    const ledger = join(kase.caseDir, 'ledger.jsonl');
    const lines = (await readFile(ledger, 'utf8')).split('\n');
    const opened = (JSON.parse(lines[0]!) as { time: string }).time;
    lines[2] = '{not json';
    await writeFile(ledger, lines.join('\n'));
    const md = await readFile((await renderReport(kase.caseDir)).markdown, 'utf8');
    expect(md).toContain(`- Opened (UTC): ${opened}\n`);
    expect(md).toContain(`- Signing key fingerprint (SHA-256 of the public key): sha256:${kase.fingerprint}\n`);
    expect(md).toContain('- Unreadable ledger lines (not shown in this report): 3; custody verify names the problem with each\n');
    // An intact case has no such line.
    const intact = await buildClosedCase(scratch, { caseId: 'IR-2026-0048' });
    expect(await readFile((await renderReport(intact.caseDir)).markdown, 'utf8')).not.toContain('Unreadable ledger lines');
  });

  it("the summary's 'Signed manifest' says present-but-failing or missing as such, and 'none' only for a case that is not closed", async () => {
    const state = async (caseDir: string) => /^- Signed manifest: (.*)$/m.exec(await readFile((await renderReport(caseDir)).markdown, 'utf8'))?.[1];
    const kase = await buildClosedCase(scratch);
    expect(await state(kase.caseDir)).toBe('present and matching the ledger head');
    const ledger = join(kase.caseDir, 'ledger.jsonl');
    const text = await readFile(ledger, 'utf8');
    await writeFile(ledger, `x${text}`); // its first line unreadable: no key to check the manifest with
    expect(await state(kase.caseDir)).toBe('present, but it does not verify (see Verification details)');
    await writeFile(ledger, `${text.trimEnd().split('\n').slice(0, 8).join('\n')}\n`); // cut back behind the manifest's head
    expect(await state(kase.caseDir)).toBe('present, but it does not verify (see Verification details)');
    await writeFile(ledger, text);
    await rm(join(kase.caseDir, 'manifest.json'));
    expect(await state(kase.caseDir)).toBe('missing: the ledger ends in case.closed but manifest.json is not there (see Verification details)');
    const open = await openCase(caseOptions(scratch, { caseId: 'IR-2026-0049' }));
    await open.release();
    expect(await state(open.caseDir)).toBe('none (the case is not closed)');
  });

  it('a report of a case that was never closed does not say PASSED: its verdict is the one custody verify gives', async () => {
    const open = await openCase(caseOptions(scratch, { caseId: 'IR-2026-0047' }));
    await open.storeEvidence({ evidenceId: 'ev-1', name: 'a.json', kind: 'k', source: 's', content: '{}' });
    await open.release();
    const result = await renderReport(open.caseDir);
    expect(result.verification.ok).toBe(false);
    expect(result.verification.firstProblem).toMatchObject({ kind: 'not-closed' });
    const md = await readFile(result.markdown, 'utf8');
    expect(md).not.toContain('PASSED');
    expect(md).toMatch(/FAILED: 1 problem\(s\); the first: the case is not closed/);
  });

  it.skipIf(process.platform === 'win32')('a FIFO planted as the ledger does not block the report, which says verification failed', async () => {
    const kase = await buildClosedCase(scratch);
    const ledger = join(kase.caseDir, 'ledger.jsonl');
    await rm(ledger);
    execFileSync('mkfifo', [ledger]);
    // Holds the FIFO open for writing a few seconds, so code that reads it ends (at EOF) and this
    // test fails instead of hanging the run.
    const writer = spawn('sh', ['-c', 'exec 3<>"$1"; echo ready; exec sleep 3', 'sh', ledger], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await once(writer.stdout, 'data');
      const started = Date.now();
      const result = await renderReport(kase.caseDir);
      expect(Date.now() - started).toBeLessThan(2_500);
      expect(result.verification.firstProblem).toMatchObject({ kind: 'ledger-missing' });
      expect(await readFile(result.markdown, 'utf8')).toMatch(/FAILED: 1 problem\(s\); the first: ledger\.jsonl is not a regular file \(it is a FIFO\)/);
    } finally {
      writer.kill();
    }
  });

  it('a byte order mark before the ledger: the report names it as the problem and still shows the case as opened', async () => {
    const kase = await buildClosedCase(scratch);
    const ledger = join(kase.caseDir, 'ledger.jsonl');
    const text = await readFile(ledger, 'utf8');
    await writeFile(ledger, `\uFEFF${text}`);
    const opened = (JSON.parse(text.split('\n')[0]!) as { time: string }).time;
    const md = await readFile((await renderReport(kase.caseDir)).markdown, 'utf8');
    expect(md).toContain('FAILED: 1 problem(s); the first: ledger.jsonl starts with a byte order mark');
    expect(md).toContain(`- Opened (UTC): ${opened}\n`);
  });

  it('writing the report does not change what verify sees', async () => {
    const kase = await buildClosedCase(scratch);
    const before = await verifyCase(kase.caseDir);
    await renderReport(kase.caseDir);
    expect(await verifyCase(kase.caseDir)).toEqual(before);
  });
});
