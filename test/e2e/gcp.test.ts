/**
 * The GCP provider through the real CLI and registry, against the GCP lab under the shipped
 * policies/gcp/: collect (instance, regional disk, label selector), --json, plan, preflight,
 * resume without duplicates, and a case that verifies. ADC finds the orchestrator on the lab's
 * metadata server, as on a forensics VM.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { EXIT } from '../../src/core/errors.js';
import { gcpDemoScenario, startGcpLab, type GcpLab } from '../../src/lab/gcp/index.js';
import { pointAdcAt } from '../providers/gcp/fixture.js';
import { custody } from './cli-run.js';

// Each test runs whole collections against the loopback lab with the real Google clients: on a
// loaded machine that can take longer than the default; correctness never depends on the time.
vi.setConfig({ testTimeout: 240_000, hookTimeout: 240_000 });

let lab: GcpLab;
let dir: string;
let configPath: string;
const WEB_1 = '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1';
const LEGACY = 'projects/web-prod/zones/us-central1-a/instances/legacy-1';

let restoreAdc: (() => void) | undefined;
beforeAll(async () => {
  lab = await startGcpLab(gcpDemoScenario());
  restoreAdc = pointAdcAt(lab);
  dir = mkdtempSync(join(tmpdir(), 'custody-gcp-e2e-'));
  configPath = join(dir, 'custody.config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      casesDir: 'cases',
      keysDir: 'keys',
      // operationPollMs: the lab's operations finish at the first wait; 50 ms, not the shipped 2 s.
      gcp: { forensicsProject: 'custody-forensics', allowedProjects: ['web-prod', 'gke-prod'], collectionTag: { key: '123456789012/ForensicsEnabled', value: 'true' }, endpoints: lab.endpoints, operationPollMs: 50 },
    }),
  );
});
afterAll(async () => {
  await lab?.stop();
  restoreAdc?.();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function ledger(caseId: string): Array<{ type: string; target?: string; data: Record<string, unknown> }> {
  return readFileSync(join(dir, 'cases', caseId, 'ledger.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; target?: string; data: Record<string, unknown> });
}

describe('custody with a gcp section', () => {
  it('plan lists the GCP calls and permissions and calls nothing', async () => {
    const before = lab.state.audit.length;
    const run = await custody(['plan', '--config', configPath, WEB_1], { cwd: dir });
    expect(run.code).toBe(EXIT.OK);
    expect(run.stdout).toContain('compute.snapshots.insert');
    expect(run.stdout).toContain('compute.disks.createSnapshot');
    expect(run.stdout).toContain('iam.serviceAccounts.getAccessToken');
    expect(lab.state.audit.length).toBe(before);
  });

  it('collect --json: the tagged instance and a regional disk are collected, the untagged one refused naming permission and resource; the case verifies', async () => {
    const run = await custody(
      ['collect', '--case', 'INC-42', '--analyst', 'alice', '--config', configPath, '--json', WEB_1, 'projects/web-prod/regions/us-central1/disks/shared-data', LEGACY],
      { cwd: dir },
    );
    expect(run.code).toBe(EXIT.PARTIAL);
    const doc = JSON.parse(run.stdout) as { outcomes: Array<{ target: string; status: string; error?: { action?: string; resource?: string } }> };
    const byTarget = Object.fromEntries(doc.outcomes.map((o) => [o.target, o]));
    expect(byTarget[WEB_1]?.status).toBe('collected');
    expect(byTarget['//compute.googleapis.com/projects/web-prod/regions/us-central1/disks/shared-data']?.status).toBe('collected');
    expect(byTarget[`//compute.googleapis.com/${LEGACY}`]).toMatchObject({ status: 'failed', error: { action: 'compute.instances.get', resource: LEGACY } });
    const entries = ledger('INC-42');
    expect(entries[0]!.data.principal).toMatchObject({ arn: 'custody-orchestrator@custody-forensics.iam.gserviceaccount.com', account: 'custody-forensics' });
    expect(entries.filter((e) => e.type === 'snapshot.completed')).toHaveLength(3);
    const verify = await custody(['verify', join(dir, 'cases', 'INC-42')], { cwd: dir });
    expect(verify.code).toBe(EXIT.OK);
  }, 240_000);

  it('--resume never duplicates: no second insert, one snapshot per disk', async () => {
    const inserts = lab.server.calls.get('compute.snapshots.insert') ?? 0;
    const run = await custody(['collect', '--case', 'INC-42', '--analyst', 'alice', '--config', configPath, '--json', '--resume', WEB_1], { cwd: dir });
    expect(run.code).toBe(EXIT.PARTIAL); // the refused legacy-1 is re-derived and still refused
    expect(lab.server.calls.get('compute.snapshots.insert') ?? 0).toBe(inserts);
    const entries = ledger('INC-42');
    expect(entries.filter((e) => e.type === 'case.resumed')).toHaveLength(1);
    // Each disk has exactly one snapshot in the forensics project, whatever the resume re-ran.
    const names = [...lab.state.snapshots.values()].map((s) => s.sourceDisk);
    expect(new Set(names).size).toBe(names.length);
  }, 240_000);

  it('a label selector searches every allowed project and records the search', async () => {
    const run = await custody(['collect', '--case', 'INC-43', '--analyst', 'alice', '--config', configPath, '--json', '--select', 'gcp-label:incident=inc-42'], { cwd: dir });
    const doc = JSON.parse(run.stdout) as { outcomes: Array<{ target: string; status: string }> };
    expect(doc.outcomes.map((o) => [o.target, o.status]).sort()).toEqual([
      [`//compute.googleapis.com/${LEGACY}`, 'failed'],
      [WEB_1, 'collected'],
    ]);
    expect(ledger('INC-43').filter((e) => e.type === 'selector.searched').map((e) => e.data.scope)).toEqual([{ project: 'web-prod' }, { project: 'gke-prod' }]);
  }, 240_000);

  it('preflight --json: impersonation and grants per project, and a named untagged instance denied', async () => {
    const run = await custody(['preflight', '--config', configPath, '--json', WEB_1, LEGACY], { cwd: dir });
    expect(run.code).toBe(EXIT.FAILED);
    const doc = JSON.parse(run.stdout) as { rows: Array<{ provider: string; scope: string[]; check: string; result: string; action: string }> };
    expect(doc.rows).toContainEqual(expect.objectContaining({ provider: 'gcp', scope: ['web-prod', 'projects/web-prod'], result: 'ok', action: 'iam.serviceAccounts.getAccessToken' }));
    expect(doc.rows).toContainEqual(expect.objectContaining({ scope: ['web-prod', WEB_1.replace('//compute.googleapis.com/', '')], result: 'ok', action: 'compute.instances.get, compute.instances.getScreenshot, compute.instances.getSerialPortOutput, compute.instances.listEffectiveTags' }));
    expect(doc.rows).toContainEqual(expect.objectContaining({ scope: ['web-prod', 'projects/custody-forensics'], result: 'ok', action: expect.stringContaining('compute.snapshots.create') }));
    expect(doc.rows).toContainEqual(expect.objectContaining({ scope: ['web-prod', LEGACY], result: 'denied', action: expect.stringContaining('compute.instances.get') }));
  }, 240_000);

  it('a project outside gcp.allowedProjects is refused before anything is created', async () => {
    const run = await custody(['collect', '--case', 'INC-44', '--analyst', 'alice', '--config', configPath, 'projects/other-proj/zones/us-central1-a/instances/x'], { cwd: dir });
    expect(run.code).toBe(EXIT.BAD_INPUT);
    expect(run.stderr).toContain('gcp.allowedProjects');
  }, 240_000);
});
