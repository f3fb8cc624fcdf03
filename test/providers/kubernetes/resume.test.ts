import { REGISTRY } from '../../../src/providers/registry.js';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { evidenceIdFor } from '../../../src/core/case-id.js';
import { afterEach, describe, expect, it } from 'vitest';
import { parseTarget } from '../../../src/providers/targets.js';
import { openCase, type CaseHandle } from '../../../src/custody/open-case.js';
import { CustodyError } from '../../../src/core/errors.js';
import type { EvidenceInput } from '../../../src/core/ports.js';
import { verifyCase } from '../../../src/custody/verify.js';
import { createKubernetesProvider } from '../../../src/providers/kubernetes/index.js';
import type { K8sFixture } from './helpers.js';
import { caseWith } from '../../support/case-with.js';
import { contextFor, openTestCase, startFixture } from './helpers.js';

let fixture: K8sFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

/**
 * `kase` as a run sees it until it is cut off (a kill -9, a full disk): from the first call for
 * which `at` says so, the ledger and the case folder take nothing more (E_LEDGER).
 */
function cutOff(kase: CaseHandle, at: { record?: (type: string) => boolean; storeEvidence?: (input: EvidenceInput) => Promise<boolean> }): CaseHandle {
  let cut = false;
  const refuse = () => {
    cut = true;
    return Promise.reject(new CustodyError('E_LEDGER', 'test cut'));
  };
  return caseWith(kase, {
    record: (type, data, t) => (cut || at.record?.(type) ? refuse() : kase.record(type, data, t)),
    storeEvidence: async (input) => (cut || (await at.storeEvidence?.(input)) ? refuse() : kase.storeEvidence(input)),
    recordArtifact: (input) => (cut ? refuse() : kase.recordArtifact(input)),
  });
}

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
    const cutRecorder = cutOff(first, { record: (type) => type === 'checkpoint.created' });
    await expect(createKubernetesProvider(fixture.config, {}, REGISTRY.createServices()).collect(target, contextFor(cutRecorder))).rejects.toMatchObject({ code: 'E_LEDGER' });
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

describe('a run killed while an exec command was running', () => {
  const PS = ['ps', '-o', 'pid,ppid,user,etime,args'];
  const runs = (container: string, argv: string[]) => fixture!.lab.execs.filter((x) => x.container === container && x.command.join(' ') === argv.join(' ')).length;

  /**
   * The first run of case `caseId`, killed once `ps` ran in container app: with `placeOutput` the
   * kill comes after its output file was linked into place and before it was recorded (the
   * resume then recovers the file), without it while the output was still streaming (lost).
   */
  async function killedDuringPs(caseId: string, placeOutput: boolean): Promise<void> {
    const target = parseTarget(`k8s:lab/shop/${fixture!.scenario.compromisedPod}`);
    const first = await openTestCase(fixture!, caseId);
    const cutRecorder = cutOff(first, {
      storeEvidence: async (input) => {
        if (input.name !== 'exec-app-processes.out') return false;
        const chunks: Buffer[] = [];
        for await (const chunk of input.content as Readable) chunks.push(Buffer.from(chunk as Buffer));
        if (placeOutput) {
          await mkdir(join(first.caseDir, 'evidence', input.evidenceId), { recursive: true });
          await writeFile(join(first.caseDir, 'evidence', input.evidenceId, input.name), Buffer.concat(chunks));
        }
        return true;
      },
    });
    await expect(createKubernetesProvider(fixture!.config, {}, REGISTRY.createServices()).collect(target, contextFor(cutRecorder))).rejects.toMatchObject({ code: 'E_LEDGER' });
    await first.release();
    expect(runs('app', PS)).toBe(1);
  }

  it('the resumed run does not run it again: its recovered output is the evidence, and exec.skipped says why', async () => {
    fixture = await startFixture();
    await killedDuringPs('IR-EXEC-RECOVERED', true);
    const resumed = await openCase({ casesDir: join(fixture.dir, 'cases'), keysDir: join(fixture.dir, 'keys'), caseId: 'IR-EXEC-RECOVERED', analyst: 'alice', toolVersion: 'test', resume: true });
    const recovered = resumed.entries().filter((e) => e.type === 'evidence.recovered').map((e) => e.data.path);
    expect(recovered).toEqual([expect.stringMatching(/\/exec-app-processes\.out$/)]);

    const outcome = await createKubernetesProvider(fixture.config, {}, REGISTRY.createServices()).collect(parseTarget(`k8s:lab/shop/${fixture.scenario.compromisedPod}`), contextFor(resumed));
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(runs('app', PS)).toBe(1);
    const skipped = resumed.entries().filter((e) => e.type === 'exec.skipped' && e.data.container === 'app');
    expect(skipped.map((e) => [e.data.command, e.data.recoveredOutput])).toEqual([[PS, recovered]]);
    expect(String(skipped[0]!.data.reason)).toContain('an earlier run of this case started it');
    // Nothing else of that command is recorded by this run, and the commands the killed run never reached run now.
    const after = resumed.entries().filter((e) => e.seq > skipped[0]!.seq - 1);
    expect(after.filter((e) => e.type.startsWith('exec.') && e.data.container === 'app' && (e.data.command as string[]).join(' ') === PS.join(' ')).map((e) => e.type)).toEqual(['exec.skipped']);
    expect(runs('app', ['cat', '/proc/net/tcp'])).toBe(1);
    await resumed.close({ outcomes: [outcome] });
    expect((await verifyCase(resumed.caseDir)).ok).toBe(true);
  });

  it('nor when its output was lost with the run: exec.skipped records that nothing was recovered', async () => {
    fixture = await startFixture();
    await killedDuringPs('IR-EXEC-LOST', false);
    const resumed = await openCase({ casesDir: join(fixture.dir, 'cases'), keysDir: join(fixture.dir, 'keys'), caseId: 'IR-EXEC-LOST', analyst: 'alice', toolVersion: 'test', resume: true });
    const outcome = await createKubernetesProvider(fixture.config, {}, REGISTRY.createServices()).collect(parseTarget(`k8s:lab/shop/${fixture.scenario.compromisedPod}`), contextFor(resumed));
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(runs('app', PS)).toBe(1);
    const skipped = resumed.entries().filter((e) => e.type === 'exec.skipped' && e.data.container === 'app');
    expect(skipped.map((e) => [e.data.command, e.data.recoveredOutput])).toEqual([[PS, []]]);
    await resumed.release();
  });

  it('a command whose upgrade the API server refused provably never ran: once allowed, the resumed run runs it', async () => {
    fixture = await startFixture();
    const subject = fixture.scenario.cluster.subjects[fixture.scenario.collectorToken]!;
    const rules = subject.rules;
    subject.rules = rules.filter((r) => !r.resources.includes('pods/exec'));
    const target = parseTarget(`k8s:lab/shop/${fixture.scenario.compromisedPod}`);
    const first = await openTestCase(fixture, 'IR-EXEC-REFUSED');
    expect((await createKubernetesProvider(fixture.config, {}, REGISTRY.createServices()).collect(target, contextFor(first))).status).toBe('partial');
    const refused = first.entries().filter((e) => e.type === 'exec.refused');
    expect(refused.map((e) => [e.data.container, e.data.command, e.data.httpStatus])).toEqual([['app', PS, 403]]);
    expect(refused[0]!.data.requestId).toBe(fixture.lab.audit.find((a) => a.subresource === 'exec')!.auditId);
    await first.release();

    subject.rules = rules;
    const resumed = await openCase({ casesDir: join(fixture.dir, 'cases'), keysDir: join(fixture.dir, 'keys'), caseId: 'IR-EXEC-REFUSED', analyst: 'alice', toolVersion: 'test', resume: true });
    const outcome = await createKubernetesProvider(fixture.config, {}, REGISTRY.createServices()).collect(target, contextFor(resumed));
    expect(outcome.status, outcome.reason).toBe('collected');
    expect(runs('app', PS)).toBe(1);
    expect(resumed.entries().filter((e) => e.type === 'exec.skipped' && e.data.container === 'app')).toEqual([]);
    await resumed.release();
  });
});
