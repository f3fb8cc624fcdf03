// The Azure provider through the CLI, in process, against the lab's Azure (https Entra, ARM and
// Blob Storage with a fresh CA) and the Kubernetes lab with an AKS-like node.
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/core/errors.js';
import { startKubernetesLab } from '../../src/lab/kubernetes/server.js';
import { k8sDemoScenario } from '../../src/lab/kubernetes/scenario.js';
import { startAzureFixture, type AzureFixture } from '../providers/azure/fixture.js';
import { writeKubeconfig } from '../providers/kubernetes/helpers.js';
import { custody } from './cli-run.js';
import { LAB_SOC_SUBSCRIPTION, LAB_SOC_TENANT } from '../../src/lab/azure/scenario.js';

let fx: AzureFixture;
let k8s: Awaited<ReturnType<typeof startKubernetesLab>>;
let scenario: ReturnType<typeof k8sDemoScenario>;
let configPath: string;

beforeAll(async () => {
  fx = await startAzureFixture();
  scenario = k8sDemoScenario({ instances: [{ id: 'i-0aks0000000000000', availabilityZone: 'eastus-1' }] });
  // The compromised pod's node is the lab's AKS node: its providerID names the scale-set VM.
  scenario.cluster.nodes[0]!.providerID = fx.lab.estate.ids.aksNodeProviderId;
  k8s = await startKubernetesLab({ cluster: scenario.cluster });
  const kubeconfig = await writeKubeconfig(fx.dir, k8s.url, scenario.collectorToken);
  configPath = join(fx.dir, 'custody.json');
  await writeFile(
    configPath,
    JSON.stringify({ casesDir: 'cases', keysDir: 'keys', analyst: 'alice@soc.example', azure: fx.config, kubernetes: { clusters: { aks: { kubeconfig, context: 'lab' } } } }, null, 2),
  );
});
afterAll(async () => {
  await k8s?.close();
  await fx?.close();
});

const ledger = (caseId: string) =>
  readFileSync(join(fx.dir, 'cases', caseId, 'ledger.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; target?: string; data: Record<string, unknown> });

describe('custody with an azure section', () => {
  it('plan names the Azure calls, actions and scopes and calls nothing', async () => {
    const before = fx.lab.armLog.length;
    const run = await custody(['plan', '--config', configPath, fx.lab.estate.ids.vm], { cwd: fx.dir });
    expect(run.code, run.stderr).toBe(EXIT.OK);
    expect(run.stdout).toContain('Microsoft.Compute/snapshots/write');
    expect(run.stdout).toContain('Microsoft.Compute/restorePointCollections/restorePoints/write');
    expect(fx.lab.armLog.length).toBe(before);
  });

  it('collect VM --json: restore point, copies hashed and sealed, the case verifies', async () => {
    const run = await custody(['collect', '--case', 'INC-42', '--config', configPath, '--json', fx.lab.estate.ids.vm], { cwd: fx.dir });
    const doc = JSON.parse(run.stdout) as { outcomes: Array<{ target: string; status: string; reason?: string }> };
    expect(doc.outcomes).toEqual([expect.objectContaining({ target: fx.lab.estate.ids.vm, status: 'collected' })]);
    expect(run.code, run.stderr).toBe(EXIT.OK);
    const entries = ledger('INC-42');
    expect(entries.filter((e) => e.type === 'evidence.hashed')).toHaveLength(2);
    const seals = entries.filter((e) => e.type === 'evidence.sealed');
    expect(seals).toHaveLength(2);
    for (const seal of seals) expect(seal.data).toMatchObject({ mode: 'Unlocked', legalHold: true, immutableUntil: expect.any(String), requestIds: [expect.any(String), expect.any(String)] });
    const verify = await custody(['verify', join(fx.dir, 'cases', 'INC-42')], { cwd: fx.dir });
    expect(verify.code, verify.stdout + verify.stderr).toBe(EXIT.OK);
  });

  it('without the sealer role the copies are hashed but not sealed (the data action and scope named); --resume after the role is assigned seals them and makes nothing twice', async () => {
    const rbac = fx.lab.estate.world.rbac;
    const sealer = rbac.assignments.findIndex((a) => a.role === 'evidence-sealer-role');
    const [assignment] = rbac.assignments.splice(sealer, 1);
    const run = await custody(['collect', '--case', 'INC-46', '--config', configPath, '--json', fx.lab.estate.ids.vm], { cwd: fx.dir });
    rbac.assignments.push(assignment!);
    const doc = JSON.parse(run.stdout) as { outcomes: Array<{ target: string; status: string; reason?: string }> };
    expect(doc.outcomes).toEqual([expect.objectContaining({ target: fx.lab.estate.ids.vm, status: 'partial' })]);
    expect(doc.outcomes[0]!.reason).toContain('not sealed');
    const failed = ledger('INC-46').filter((e) => e.type === 'seal.failed');
    expect(failed).toHaveLength(2);
    for (const f of failed) {
      expect(f.data.error).toMatchObject({ code: 'E_ACCESS_DENIED', action: 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/immutableStorage/runAsSuperUser/action' });
      expect(String(f.data.reason)).toContain(`${fx.lab.estate.ids.evidenceContainer}/blobs/INC-46/`);
    }
    const points = [...fx.lab.estate.world.restorePointCollections.values()].reduce((n, c) => n + c.points.size, 0);
    const snapshots = fx.lab.estate.world.snapshots.size;
    const again = await custody(['collect', '--case', 'INC-46', '--resume', '--config', configPath, '--json'], { cwd: fx.dir });
    const resumed = JSON.parse(again.stdout) as { outcomes: Array<{ target: string; status: string }> };
    expect(resumed.outcomes).toEqual([expect.objectContaining({ target: fx.lab.estate.ids.vm, status: 'collected' })]);
    const afterResume = ledger('INC-46').slice(ledger('INC-46').findIndex((e) => e.type === 'case.resumed'));
    expect(afterResume.filter((e) => e.type === 'restorepoint.adopted')).toHaveLength(1);
    expect(afterResume.filter((e) => e.type === 'copy.adopted')).toHaveLength(2);
    expect(afterResume.filter((e) => e.type === 'evidence.sealed')).toHaveLength(2);
    expect([...fx.lab.estate.world.restorePointCollections.values()].reduce((n, c) => n + c.points.size, 0)).toBe(points);
    expect(fx.lab.estate.world.snapshots.size).toBe(snapshots);
  });

  it('a managed disk named alone is snapshotted (per-disk: a disk has no restore point), copied and hashed', async () => {
    const run = await custody(['collect', '--case', 'INC-45', '--config', configPath, '--json', fx.lab.estate.ids.vmDataDisk], { cwd: fx.dir });
    const doc = JSON.parse(run.stdout) as { outcomes: Array<{ target: string; status: string }> };
    expect(doc.outcomes).toEqual([expect.objectContaining({ target: fx.lab.estate.ids.vmDataDisk, status: 'collected' })]);
    const entries = ledger('INC-45');
    expect(entries.filter((e) => e.type === 'evidence.sealed')).toHaveLength(1);
    expect(entries.filter((e) => e.type === 'snapshot.completed')).toHaveLength(1);
    expect(entries.filter((e) => e.type === 'evidence.hashed')).toHaveLength(1);
  });

  it('a tag selector collects the tagged VM in the configured subscriptions', async () => {
    const run = await custody(['collect', '--case', 'INC-43', '--config', configPath, '--json', '--select', 'azure:tag:ForensicsEnabled=true'], { cwd: fx.dir });
    const doc = JSON.parse(run.stdout) as { outcomes: Array<{ target: string; status: string }> };
    expect(doc.outcomes.map((o) => o.target)).toEqual([fx.lab.estate.ids.vm]);
  });

  it('a tag search that cannot list one subscription collects what the others hold, and the summary and --json name the subscription with the code and the --resume that searches it again; the exit code stays that of the targets', async () => {
    // The SOC subscription first: the shipped deployment gives the collector no discovery role there.
    const partialConfig = join(fx.dir, 'custody-partial.json');
    const config = JSON.parse(readFileSync(configPath, 'utf8')) as { azure: { subscriptions: unknown[] } };
    config.azure.subscriptions = [{ subscriptionId: LAB_SOC_SUBSCRIPTION, tenantId: LAB_SOC_TENANT }, ...config.azure.subscriptions];
    await writeFile(partialConfig, JSON.stringify(config, null, 2));
    const select = 'azure:tag:ForensicsEnabled=true';

    const run = await custody(['collect', '--case', 'INC-47', '--config', partialConfig, '--select', select], { cwd: fx.dir });
    expect(run.code, run.stderr + run.stdout).toBe(EXIT.OK);
    expect(run.stdout).toContain(
      `Not searched: ${select} could not look in 1 scope: subscription ${LAB_SOC_SUBSCRIPTION} (E_ACCESS_DENIED). Targets there are not in this case: once that access is fixed, search again with custody collect --case INC-47 --resume (what is already collected is not collected again).`,
    );
    // Said after the summary and before the verification, where the reader decides what to do next.
    const lines = run.stdout.split('\n');
    const said = lines.findIndex((l) => l.startsWith('Not searched: '));
    expect(lines[said - 1]).toBe('1 target: 1 collected, 0 partial, 0 failed, 0 skipped');
    expect(lines[said + 1]).toMatch(/^verified: /);
    const entries = ledger('INC-47');
    expect(entries.filter((e) => e.type === 'step.failed').map((e) => [e.target, e.data.step, (e.data.scope as { subscriptionId: string }).subscriptionId, (e.data.error as { code: string }).code])).toEqual([
      [select, 'resolve-selector', LAB_SOC_SUBSCRIPTION, 'E_ACCESS_DENIED'],
    ]);
    expect(entries.filter((e) => e.type === 'target.completed').map((e) => [e.target, e.data.status])).toEqual([[fx.lab.estate.ids.vm, 'collected']]);

    // The resume it points to: the closed case is searched again (still refused there), the VM is not taken twice.
    const again = await custody(['collect', '--case', 'INC-47', '--resume', '--config', partialConfig, '--json'], { cwd: fx.dir });
    const doc = JSON.parse(again.stdout) as { outcomes: Array<{ target: string; status: string; reason?: string }>; unsearchedScopes?: unknown; nothingSelected?: unknown; exitCode: number };
    expect(doc.outcomes.map((o) => [o.target, o.status, o.reason])).toEqual([[fx.lab.estate.ids.vm, 'collected', 'collected by an earlier run of this case']]);
    const resumed = ledger('INC-47').slice(ledger('INC-47').findIndex((e) => e.type === 'case.resumed'));
    expect(resumed.filter((e) => e.type === 'target.skipped').map((e) => e.target)).toEqual([fx.lab.estate.ids.vm]);
    expect(resumed.filter((e) => e.type === 'step.failed').map((e) => (e.data.scope as { subscriptionId: string }).subscriptionId)).toEqual([LAB_SOC_SUBSCRIPTION]);
    expect(doc.unsearchedScopes).toEqual([{ selector: select, scope: `subscription ${LAB_SOC_SUBSCRIPTION}`, code: 'E_ACCESS_DENIED' }]);
    expect(doc.nothingSelected).toBeUndefined();
    expect(doc.exitCode).toBe(again.code);
  });

  it('an AKS pod is followed to its scale-set VM node and that node\'s data disk', async () => {
    const pod = `k8s:aks/${scenario.namespace}/${scenario.compromisedPod}`;
    const run = await custody(['collect', '--case', 'INC-44', '--config', configPath, '--json', pod], { cwd: fx.dir });
    const doc = JSON.parse(run.stdout) as { outcomes: Array<{ target: string; status: string; reason?: string }> };
    const node = doc.outcomes.find((o) => o.target.includes('virtualMachineScaleSets'));
    expect(node, run.stdout).toBeDefined();
    expect(node!.target.toLowerCase()).toBe(fx.lab.estate.ids.aksNode.toLowerCase());
    expect(node!.reason).toContain('ephemeral OS disk');
    expect(ledger('INC-44').filter((e) => e.type === 'evidence.hashed')).toHaveLength(1);
    expect(ledger('INC-44').filter((e) => e.type === 'evidence.sealed')).toHaveLength(1);
  });

  it('preflight --json asks ARM for effective permissions and shows what is granted where', async () => {
    const run = await custody(['preflight', '--config', configPath, '--json', fx.lab.estate.ids.untaggedVm], { cwd: fx.dir });
    const doc = JSON.parse(run.stdout) as { rows: Array<{ provider: string; scope: string[]; check: string; result: string; action: string }> };
    const azure = doc.rows.filter((r) => r.provider === 'azure');
    expect(azure).toContainEqual(expect.objectContaining({ check: 'token in the target tenant', result: 'ok' }));
    expect(azure).toContainEqual(expect.objectContaining({ check: 'staging scope', result: 'ok', action: 'Microsoft.Compute/snapshots/write' }));
    expect(azure).toContainEqual(expect.objectContaining({ check: 'vm scope', result: 'denied', action: 'Microsoft.Compute/virtualMachines/retrieveBootDiagnosticsData/action' }));
    // The untagged VM: the detail says which tag the shipped policy assigns the collector role by.
    const vmDenied = azure.filter((r) => r.check === 'vm scope' && r.result === 'denied') as Array<{ detail?: string }>;
    for (const r of vmDenied) expect(r.detail).toContain('tagged ForensicsEnabled=true');
    // The SOC identity at the evidence container: the writer's and sealer's data actions, from the same role files.
    const container = azure.filter((r) => r.check === 'container scope');
    expect(container.map((r) => [r.action, r.result]).sort()).toEqual(
      [
        'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/add/action',
        'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/immutableStorage/runAsSuperUser/action',
        'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read',
        'Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write',
      ].map((a) => [a, 'ok']),
    );
  });
});
