import { REGISTRY } from '../../../src/providers/registry.js';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { evidenceIdFor } from '../../../src/core/case-id.js';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTarget } from '../../../src/providers/targets.js';
import { openCase, type CaseHandle } from '../../../src/custody/open-case.js';
import { CustodyError } from '../../../src/core/errors.js';
import type { CaseRecorder } from '../../../src/core/ports.js';
import { verifyCase } from '../../../src/custody/verify.js';
import { createKubernetesProvider } from '../../../src/providers/kubernetes/index.js';
import type { K8sFixture } from './helpers.js';
import { contextFor, openTestCase, startFixture } from './helpers.js';

let fixture: K8sFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe('a resumed case', () => {
  it('does not run exec again, take a second checkpoint or store evidence twice, and still verifies', async () => {
    fixture = await startFixture((cluster) => {
      for (const node of cluster.nodes) node.checkpoint = 200;
    });
    const target = parseTarget(`k8s:lab/shop/${fixture.scenario.compromisedPod}`);
    const first = await openTestCase(fixture, 'IR-RESUME');
    await createKubernetesProvider(fixture.config, {}, REGISTRY.createServices()).collect(target, contextFor(first));
    await first.release();
    const execs = fixture.lab.execs.length;
    const checkpoints = fixture.lab.audit.filter((a) => a.subresource === 'proxy').length;
    const stored = first.entries().filter((e) => e.type === 'evidence.stored').length;

    const resumed = await openCase({ casesDir: join(fixture.dir, 'cases'), keysDir: join(fixture.dir, 'keys'), caseId: 'IR-RESUME', analyst: 'alice', toolVersion: 'test', resume: true });
    const outcome = await createKubernetesProvider(fixture.config, {}, REGISTRY.createServices()).collect(target, contextFor(resumed));
    expect(outcome.status).toBe('collected');
    expect(outcome.evidenceIds).toHaveLength(1);
    expect(fixture.lab.execs.length).toBe(execs);
    expect(fixture.lab.audit.filter((a) => a.subresource === 'proxy').length).toBe(checkpoints);
    expect(resumed.entries().filter((e) => e.type === 'evidence.stored').length).toBe(stored);
    expect(resumed.entries().filter((e) => e.type === 'checkpoint.skipped').map((e) => e.data.container)).toEqual(['app', 'log-shipper']);
    await resumed.close({ outcomes: [outcome] });
    expect((await verifyCase(resumed.caseDir)).ok).toBe(true);
  });
});

describe('a case an earlier run was killed in', () => {
  it('keeps a log file that run wrote but never recorded, and stores this run\'s copy beside it', async () => {
    fixture = await startFixture();
    const kase = await openTestCase(fixture, 'IR-KILLED');
    const resource = `k8s:lab/shop/${fixture.scenario.compromisedPod}`;
    const evidenceId = evidenceIdFor('IR-KILLED', resource);
    await mkdir(join(kase.caseDir, 'evidence', evidenceId), { recursive: true });
    await writeFile(join(kase.caseDir, 'evidence', evidenceId, 'log-app.log'), 'half a log from the killed run\n');
    const outcome = await createKubernetesProvider(fixture.config, {}, REGISTRY.createServices()).collect(parseTarget(resource), contextFor(kase));
    expect(outcome.status).toBe('collected');
    const names = kase.entries().filter((e) => e.type === 'evidence.stored').map((e) => String(e.data.name));
    expect(names.filter((n) => n.startsWith('log-app.'))).toEqual([expect.stringMatching(/^log-app\.resumed-\d+\.log$/)]);
    expect(await readFile(join(kase.caseDir, 'evidence', evidenceId, 'log-app.log'), 'utf8')).toBe('half a log from the killed run\n');
    await kase.release();
  });
});

describe('a run cut off after the kubelet took a checkpoint, before its answer was on record', () => {
  it('the resumed run does not ask for a second archive of that container (it says why) and still takes the others', async () => {
    fixture = await startFixture((cluster) => {
      for (const node of cluster.nodes) node.checkpoint = 200;
    });
    const target = parseTarget(`k8s:lab/shop/${fixture.scenario.compromisedPod}`);
    const first = await openTestCase(fixture, 'IR-CUT-CHECKPOINT');
    // From the first checkpoint.created on, the ledger takes nothing (a kill -9 or a full disk).
    let cut = false;
    const refuse = () => {
      cut = true;
      return Promise.reject(new CustodyError('E_LEDGER', 'test cut'));
    };
    const cutRecorder: CaseRecorder = {
      caseId: first.caseId,
      analyst: first.analyst,
      caseDir: first.caseDir,
      entries: () => first.entries(),
      record: (type, data, t) => (cut || type === 'checkpoint.created' ? refuse() : first.record(type, data, t)),
      storeEvidence: (input) => (cut ? refuse() : first.storeEvidence(input)),
      recordArtifact: (input) => (cut ? refuse() : first.recordArtifact(input)),
    };
    await expect(createKubernetesProvider(fixture.config, {}, REGISTRY.createServices()).collect(target, contextFor(cutRecorder as CaseHandle))).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    const asked = (container: string) => fixture!.lab.audit.filter((a) => a.subresource === 'proxy' && a.path.endsWith(`/${container}`)).length;
    expect([asked('app'), asked('log-shipper')]).toEqual([1, 0]);

    const resumed = await openCase({ casesDir: join(fixture.dir, 'cases'), keysDir: join(fixture.dir, 'keys'), caseId: 'IR-CUT-CHECKPOINT', analyst: 'alice', toolVersion: 'test', resume: true });
    const outcome = await createKubernetesProvider(fixture.config, {}, REGISTRY.createServices()).collect(target, contextFor(resumed));
    expect(outcome.status, outcome.reason).toBe('collected');
    expect([asked('app'), asked('log-shipper')]).toEqual([1, 1]);
    const skipped = resumed.entries().filter((e) => e.type === 'checkpoint.skipped');
    expect(skipped.map((e) => e.data.container)).toEqual(['app']);
    expect(String(skipped[0]!.data.reason)).toContain('cut off before');
    await resumed.close({ outcomes: [outcome] });
    expect((await verifyCase(resumed.caseDir)).ok).toBe(true);
  });
});
