// Ctrl-C while a pod's node instance waits for its snapshot, then the same command with --resume:
// the node (a follow-up nobody named) must be taken up again and finished, and case.closed must
// list it — it may never drop out of the case because the pod itself was already collected.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/core/errors.js';
import { verifyCase } from '../../src/custody/index.js';
import { demoScenario, startLab, type LabInstance, type RunningLab } from '../../src/lab/index.js';
import { startKubernetesDemoLab, type KubernetesDemoLab } from '../../src/lab/kubernetes/index.js';
import { runCliChild, startCli } from './child-cli.js';

let aws: RunningLab;
let k8s: KubernetesDemoLab;
let dir: string;
let configPath: string;
let env: Record<string, string>;
const byName = (name: string): LabInstance => {
  const found = aws.state.regionNames().flatMap((r) => [...aws.state.region(r).instances.values()]).find((i) => i.tags.Name === name);
  if (!found) throw new Error(`no lab instance ${name}`);
  return found;
};
const arnOf = (i: LabInstance) => `arn:aws:ec2:${i.region}:${i.ownerId}:instance/${i.id}`;

beforeAll(async () => {
  // Snapshots take long enough for the interrupt to land while the node's snapshot is pending.
  aws = await startLab(demoScenario({ snapshotDurationMs: 4_000 }));
  const worker = byName('worker-07');
  k8s = await startKubernetesDemoLab({
    nodeInstances: [worker],
    eks: { clusterName: 'demo-eks', account: worker.ownerId, region: worker.region },
    secretFor: (id) => aws.state.credentials.get(id)?.secretAccessKey,
  });
  dir = mkdtempSync(join(tmpdir(), 'custody-resume-follow-up-'));
  configPath = join(dir, 'custody.config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      casesDir: 'cases',
      keysDir: 'keys',
      aws: {
        forensicsAccount: aws.forensicsAccount,
        region: aws.region,
        allowedAccounts: ['222222222222', '333333333333'],
        endpoints: { sts: aws.endpoint, ec2: aws.endpoint, kms: aws.endpoint },
        // The lab's snapshots finish in moments: the shipped 1 s first poll would be most of the run.
        snapshotPollMs: 50,
      },
      kubernetes: { clusters: { [k8s.configName]: k8s.clusterConfig } },
    }),
  );
  env = { AWS_ACCESS_KEY_ID: aws.orchestratorCredentials.accessKeyId, AWS_SECRET_ACCESS_KEY: aws.orchestratorCredentials.secretAccessKey, AWS_REGION: aws.region };
});

afterAll(async () => {
  await k8s?.close();
  await aws?.stop();
  rmSync(dir, { recursive: true, force: true });
});

interface Entry {
  type: string;
  target?: string;
  data: Record<string, unknown>;
}
const entriesOf = (path: string): Entry[] => {
  try {
    return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Entry);
  } catch {
    return [];
  }
};

describe('Ctrl-C during the node follow-up, then --resume', () => {
  it('takes the cut-off node instance up again, finishes its chain, and case.closed lists every target', async () => {
    const caseId = 'IR-FOLLOW-UP';
    const nodeArn = arnOf(byName('worker-07'));
    const args = ['collect', '--case', caseId, '--analyst', 'alice', '--config', configPath, '--json', arnOf(byName('web-01')), arnOf(byName('db-01')), k8s.podTarget];
    const ledger = join(dir, 'cases', caseId, 'ledger.jsonl');

    const run = startCli(args, env);
    let finished = false;
    void run.done.then(() => (finished = true));
    // Interrupt once the node's snapshot was requested and is being waited for.
    while (!finished && !entriesOf(ledger).some((e) => e.type === 'snapshot.created' && e.target === nodeArn)) await new Promise((r) => setTimeout(r, 10));
    run.child.kill('SIGINT');
    const interrupted = await run.done;
    expect(interrupted.code, interrupted.stderr).toBe(EXIT.CANCELLED);
    const before = entriesOf(ledger);
    expect(before.map((e) => e.type)).not.toContain('case.closed');
    expect(before.some((e) => e.type === 'target.completed' && e.target === k8s.podTarget && e.data.status === 'collected')).toBe(true);
    expect(before.some((e) => e.type === 'target.completed' && e.target === nodeArn && e.data.status === 'collected')).toBe(false);

    // The resumed run needs no window to land in: its new snapshots and copies complete quickly.
    aws.state.snapshotDurationMs = 300;
    const resumed = await runCliChild([...args, "--resume"], env);
    expect(resumed.code, resumed.stdout.slice(0, 2000) + resumed.stderr).toBe(EXIT.OK);
    const doc = JSON.parse(resumed.stdout) as { outcomes: Array<{ target: string; status: string }> };
    expect(doc.outcomes.find((o) => o.target === nodeArn)).toMatchObject({ status: 'collected' });

    const after = entriesOf(ledger);
    const closed = after.find((e) => e.type === 'case.closed')!;
    expect(closed.data).toMatchObject({ targets: 4, notCollected: [] });
    // The node's snapshots went the whole way: a forensics copy of each of its volumes.
    const worker = byName('worker-07');
    const copies = [...aws.state.region(aws.region).snapshots.values()].filter((s) => s.ownerId === aws.forensicsAccount && s.tags.CaseId === caseId);
    const nodeVolumes = worker.blockDevices.map((d) => d.volumeId);
    const artifacts = after.filter((e) => e.type === 'artifact.recorded' && e.target === nodeArn);
    expect(artifacts.length).toBeGreaterThanOrEqual(nodeVolumes.length);
    for (const volumeId of nodeVolumes) {
      const artifact = artifacts.filter((e) => (e.data.details as { volumeId?: string } | undefined)?.volumeId === volumeId).at(-1);
      const forensicsId = (artifact?.data.cloudIds as { forensicsSnapshotId?: string } | undefined)?.forensicsSnapshotId;
      expect(forensicsId, volumeId).toBeDefined();
      expect(copies.map((c) => c.id)).toContain(forensicsId);
    }
    expect((await verifyCase(join(dir, 'cases', caseId))).ok).toBe(true);
  }, 120_000);
});
