/**
 * Cases sealed before every provider recorded its selector searches the same way
 * (src/core/selector-search.ts) hold each provider's own entries: AWS's `selector.searched` and
 * `step.failed` with `account`/`region`, GCP's `selector.searched` with `project` and its failed
 * project as `selector.failed`, Azure's per-subscription `selector.resolved` (`matched`) and
 * `step.failed` with `subscriptionId`, Kubernetes' own `selector.resolved` (`pods`, `requestId`).
 * Their report still shows, for each selector, every scope searched with what it found and its
 * request ids, and every scope that failed and why; a resume takes up only the targets the
 * orchestrator's `selector.resolved` lists. The entries below are written as those versions wrote
 * them, into a real case that is then sealed.
 */
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { openCase, renderReport, verifyCase } from '../../src/custody/index.js';
import { buildReportModel } from '../../src/custody/report-model.js';
import { earlierAdmissions } from '../../src/core/earlier-runs.js';
import { targetKey } from '../../src/core/targets.js';
import { REGISTRY } from '../../src/providers/registry.js';
import { startSelectorSearch } from '../../src/core/selector-search.js';
import { CustodyError } from '../../src/core/errors.js';
import { caseOptions, useScratch } from './helpers.js';

const scratch = useScratch();

const AWS_SELECTOR = 'tag:Incident=INC-42';
const AWS_TARGET = 'arn:aws:ec2:us-east-1:222222222222:instance/i-0123456789abcdef0';
const GCP_SELECTOR = 'gcp-label:incident=inc-42';
const GCP_FOUND = 'projects/gke-prod/zones/us-central1-b/instances/node-1';
const GCP_TARGET = '//compute.googleapis.com/projects/gke-prod/zones/us-central1-b/instances/node-1';
const AZURE_SELECTOR = 'azure:tag:ForensicsEnabled=true';
const AZURE_VM = '/subscriptions/aaaaaaaa-1111-4111-8111-000000000001/resourceGroups/rg-web/providers/Microsoft.Compute/virtualMachines/vm-web-1';
const K8S_SELECTOR = 'k8s:lab/shop?labels=app=web';
const FAILED_SELECTOR = 'gcp-label:app=none';
const denied = (message: string) => ({ code: 'E_ACCESS_DENIED', message });

/** A sealed case whose ledger holds the older per-provider selector entries, as those versions wrote them. */
async function legacyCase() {
  const kase = await openCase(caseOptions(scratch));
  // AWS: one account answered, one refused; then the orchestrator's resolution.
  await kase.record('selector.searched', { selector: AWS_SELECTOR, account: '222222222222', region: 'us-east-1', filters: { 'tag:Incident': 'INC-42' }, found: ['i-0123456789abcdef0'], requestIds: ['aws-req-1'] }, AWS_SELECTOR);
  await kase.record('step.failed', { step: 'resolve-selector', selector: AWS_SELECTOR, account: '333333333333', region: 'us-east-1', error: denied('ec2:DescribeInstances refused in 333333333333') }, AWS_SELECTOR);
  await kase.record('selector.resolved', { selector: AWS_SELECTOR, provider: 'aws', targets: [AWS_TARGET] });
  // GCP: one project answered (no request ids recorded), one failed as `selector.failed`.
  await kase.record('selector.failed', { project: 'web-prod', error: { code: 'E_QUOTA', message: 'quota exceeded in web-prod' } }, GCP_SELECTOR);
  await kase.record('selector.searched', { project: 'gke-prod', filter: 'labels.incident = "inc-42"', found: [GCP_FOUND] }, GCP_SELECTOR);
  await kase.record('selector.resolved', { selector: GCP_SELECTOR, provider: 'gcp', targets: [GCP_TARGET] });
  // Azure: a refused subscription, and the answered one as the provider's own `selector.resolved`.
  await kase.record('step.failed', { step: 'resolve-selector', selector: AZURE_SELECTOR, subscriptionId: 'bbbbbbbb-2222-4222-8222-000000000002', error: { ...denied('Microsoft.Compute/virtualMachines/read refused'), requestId: 'arm-req-denied' }, exchanges: [] }, AZURE_SELECTOR);
  await kase.record('selector.resolved', { selector: AZURE_SELECTOR, subscriptionId: 'aaaaaaaa-1111-4111-8111-000000000001', matched: [AZURE_VM], requestIds: ['arm-req-1'] });
  await kase.record('selector.resolved', { selector: AZURE_SELECTOR, provider: 'azure', targets: [AZURE_VM] });
  // Kubernetes: the provider's own `selector.resolved` for its namespace, then the orchestrator's.
  await kase.record('selector.resolved', { selector: K8S_SELECTOR, cluster: 'lab', namespace: 'shop', labelSelector: 'app=web', pods: ['web-1'], resourceVersion: '42', requestId: 'audit-1' });
  await kase.record('selector.resolved', { selector: K8S_SELECTOR, provider: 'kubernetes', targets: ['k8s:lab/shop/web-1'] });
  // A selector that failed as a whole: the orchestrator's `selector.failed` (no project).
  await kase.record('selector.failed', { selector: FAILED_SELECTOR, reason: 'no project could be searched', error: { code: 'E_QUOTA', message: 'quota exceeded' } });
  await kase.close({});
  return kase;
}

describe('a case sealed with the older per-provider selector entries', () => {
  it("its report lists every scope searched with what it found and its request ids, and every scope that failed, for all four providers", async () => {
    const kase = await legacyCase();
    const entries = kase.entries();
    const model = buildReportModel(entries, await verifyCase(kase.caseDir), new Date('2026-12-06T00:00:00Z'));
    expect(model.selectorSearches.map((r) => [r.selector, r.where, r.result, r.found, r.requestIds, r.recordedAs])).toEqual([
      [AWS_SELECTOR, 'account 222222222222 in us-east-1', 'searched: 1 found', ['i-0123456789abcdef0'], ['aws-req-1'], 'selector.searched (older form)'],
      [AWS_SELECTOR, 'account 333333333333 in us-east-1', 'FAILED: E_ACCESS_DENIED ec2:DescribeInstances refused in 333333333333', [], [], 'step.failed (older form)'],
      [AWS_SELECTOR, '(the whole selector)', 'resolved: 1 target', [AWS_TARGET], [], 'selector.resolved'],
      [GCP_SELECTOR, 'project web-prod', 'FAILED: E_QUOTA quota exceeded in web-prod', [], [], 'selector.failed (older form)'],
      [GCP_SELECTOR, 'project gke-prod', 'searched: 1 found', [GCP_FOUND], [], 'selector.searched (older form)'],
      [GCP_SELECTOR, '(the whole selector)', 'resolved: 1 target', [GCP_TARGET], [], 'selector.resolved'],
      [AZURE_SELECTOR, 'subscription bbbbbbbb-2222-4222-8222-000000000002', 'FAILED: E_ACCESS_DENIED Microsoft.Compute/virtualMachines/read refused', [], ['arm-req-denied'], 'step.failed (older form)'],
      [AZURE_SELECTOR, 'subscription aaaaaaaa-1111-4111-8111-000000000001', 'searched: 1 found', [AZURE_VM], ['arm-req-1'], 'selector.resolved (older form)'],
      [AZURE_SELECTOR, '(the whole selector)', 'resolved: 1 target', [AZURE_VM], [], 'selector.resolved'],
      [K8S_SELECTOR, 'namespace shop of cluster lab', 'searched: 1 found', ['web-1'], ['audit-1'], 'selector.resolved (older form)'],
      [K8S_SELECTOR, '(the whole selector)', 'resolved: 1 target', ['k8s:lab/shop/web-1'], [], 'selector.resolved'],
      [FAILED_SELECTOR, '(the whole selector)', 'FAILED: E_QUOTA quota exceeded', [], [], 'selector.failed'],
    ]);
    // Each scope that failed is also a failure of the case, naming the scope: GCP's older `selector.failed` too.
    expect(model.failures.map((f) => [f.target, f.what, f.message])).toEqual([
      [AWS_SELECTOR, 'resolve-selector (account 333333333333 in us-east-1)', 'E_ACCESS_DENIED ec2:DescribeInstances refused in 333333333333'],
      [GCP_SELECTOR, 'resolve-selector (project web-prod)', 'E_QUOTA quota exceeded in web-prod'],
      [AZURE_SELECTOR, 'resolve-selector (subscription bbbbbbbb-2222-4222-8222-000000000002)', 'E_ACCESS_DENIED Microsoft.Compute/virtualMachines/read refused'],
    ]);

    const markdown = await readFile((await renderReport(kase.caseDir)).markdown, 'utf8');
    const section = markdown.slice(markdown.indexOf('## Selector searches'), markdown.indexOf('## Failures'));
    for (const said of ['account 222222222222 in us-east-1', 'aws-req-1', 'project web-prod', 'subscription aaaaaaaa-1111-4111-8111-000000000001', 'arm-req-1', 'namespace shop of cluster lab', 'audit-1', 'older form']) {
      expect(section).toContain(said);
    }
  });

  it('a resume takes up the targets the orchestrator resolved, and nothing from the providers\' older per-scope entries', async () => {
    const kase = await legacyCase();
    const earlier = earlierAdmissions(kase.entries(), REGISTRY);
    expect(earlier.targets.map(targetKey)).toEqual([AWS_TARGET, GCP_TARGET, AZURE_VM, 'k8s:lab/shop/web-1']);
  });

  it('the shared form, as src/core/selector-search.ts writes it, reads the same way and is not marked older', async () => {
    const kase = await openCase(caseOptions(scratch));
    const search = startSelectorSearch({ recorder: kase, selector: AWS_SELECTOR, provider: 'aws' });
    const answered = { where: 'account 222222222222 in us-east-1', fields: { account: '222222222222', region: 'us-east-1' } };
    const refused = { where: 'account 333333333333 in us-east-1', fields: { account: '333333333333', region: 'us-east-1' } };
    await search.scope(answered, async () => ({ found: ['i-0123456789abcdef0'], requestIds: ['aws-req-1'], detail: { filters: { 'tag:Incident': 'INC-42' } } }));
    await search.scope(refused, async () => {
      throw new CustodyError('E_ACCESS_DENIED', 'ec2:DescribeInstances refused in 333333333333');
    });
    search.finish([answered, refused]);
    await kase.record('selector.resolved', { selector: AWS_SELECTOR, provider: 'aws', targets: [AWS_TARGET] });
    await kase.close({});
    const model = buildReportModel(kase.entries(), await verifyCase(kase.caseDir), new Date('2026-12-06T00:00:00Z'));
    expect(model.selectorSearches.map((r) => [r.where, r.result, r.found, r.requestIds, r.recordedAs])).toEqual([
      ['account 222222222222 in us-east-1', 'searched: 1 found', ['i-0123456789abcdef0'], ['aws-req-1'], 'selector.searched'],
      ['account 333333333333 in us-east-1', 'FAILED: E_ACCESS_DENIED ec2:DescribeInstances refused in 333333333333', [], [], 'step.failed'],
      ['(the whole selector)', 'resolved: 1 target', [AWS_TARGET], [], 'selector.resolved'],
    ]);
    expect(model.failures.map((f) => f.what)).toEqual(['resolve-selector (account 333333333333 in us-east-1)']);
  });

  it("a failure that records only a message (no error, no reason) is read with it, as the report's other failures are", async () => {
    const kase = await openCase(caseOptions(scratch));
    await kase.record('selector.refused', { selector: FAILED_SELECTOR, message: 'the selector names no configured project' });
    await kase.record('selector.failed', { selector: AWS_SELECTOR });
    await kase.close({});
    const model = buildReportModel(kase.entries(), await verifyCase(kase.caseDir), new Date('2026-12-06T00:00:00Z'));
    expect(model.selectorSearches.map((r) => [r.selector, r.result])).toEqual([
      [FAILED_SELECTOR, 'REFUSED: the selector names no configured project'],
      [AWS_SELECTOR, 'FAILED: (no error recorded)'],
    ]);
  });
});
