/**
 * The real wiring behind the CLI: the application service's (src/app/services.ts), plus what
 * only the CLI does — preflight tables, reports, the copy checks, and the rehearsal lab for
 * `custody demo`.
 */
import { renderReport } from '../custody/index.js';
import { REGISTRY } from '../providers/registry.js';
import { CustodyError } from '../core/errors.js';
import { appServices, toVerifyOutcome } from '../app/services.js';
import type { CliDeps, DemoLab } from './deps.js';

export { toVerifyOutcome } from '../app/services.js';

export function defaultDeps(): CliDeps {
  return {
    ...appServices(),
    preflight: (input) => REGISTRY.preflight({ config: input.config, targets: input.targets, scopes: input.scopes, ...(input.analyst ? { analyst: input.analyst } : {}) }),
    async renderReport(caseDir) {
      const { markdown, html, verification } = await renderReport(caseDir);
      return { markdown, html, verify: toVerifyOutcome(caseDir, verification) };
    },
    startDemoLab,
    async verifyAgainst(caseDir, url, config) {
      const { verifyAgainstCopy } = await import('../custody/immutable-copy.js');
      const { evidenceBucketOptions, openEvidenceBucket } = await import('../providers/aws/evidence-bucket.js');
      const store = openEvidenceBucket(evidenceBucketOptions(config ?? {}, { url }));
      try {
        const result = await verifyAgainstCopy(caseDir, store);
        return { ok: result.ok, url: result.url, checked: result.checked, problems: [...result.problems, ...result.warnings] };
      } finally {
        store.destroy();
      }
    },
    async fetchCase(url, dir, config) {
      const { fetchCase } = await import('../custody/immutable-copy.js');
      const { evidenceBucketOptions, openEvidenceBucket } = await import('../providers/aws/evidence-bucket.js');
      const store = openEvidenceBucket(evidenceBucketOptions(config ?? {}, { url }));
      try {
        const fetched = await fetchCase(store, dir);
        return { dir: fetched.dir, objects: fetched.objects.length };
      } finally {
        store.destroy();
      }
    },
  };
}

// The labs are loaded only for the demo: collection never needs them.
async function startDemoLab(): Promise<DemoLab> {
  const { startLab, demoScenario, EVIDENCE_BUCKET } = await import('../lab/index.js');
  const { startKubernetesDemoLab } = await import('../lab/kubernetes/index.js');
  const lab = await startLab(demoScenario());
  const instances = lab.state.regionNames().flatMap((region) => [...lab.state.region(region).instances.values()]);
  const byName = (name: string) => {
    const instance = instances.find((i) => i.tags.Name === name);
    if (!instance) throw new CustodyError('E_INTERNAL', `the demo scenario has no instance named ${name}`);
    return instance;
  };
  const arnOf = (name: string) => {
    const instance = byName(name);
    return `arn:aws:ec2:${instance.region}:${instance.ownerId}:instance/${instance.id}`;
  };
  // api-01's root volume is under aws/ebs: collected as a volume target, it must be re-encrypted
  // with the shareable key before the forensics account can copy it.
  const api = byName('api-01');
  const apiRoot = api.blockDevices.find((d) => d.deviceName === api.rootDeviceName) ?? api.blockDevices[0];
  if (!apiRoot) throw new CustodyError('E_INTERNAL', 'the demo API host has no volume');
  const volumeArn = `arn:aws:ec2:${api.region}:${api.ownerId}:volume/${apiRoot.volumeId}`;
  // A compromised pod on an EKS node that is worker-07: collecting the pod follows its node to
  // that instance, which is then snapshotted like any named instance.
  const worker = byName('worker-07');
  let k8s;
  try {
    k8s = await startKubernetesDemoLab({
      nodeInstances: [worker],
      eks: { clusterName: 'demo-eks', account: worker.ownerId, region: worker.region },
      secretFor: (id) => lab.state.credentials.get(id)?.secretAccessKey,
    });
  } catch (error) {
    await lab.stop();
    throw error;
  }
  const accounts = [...new Set(instances.map((i) => i.ownerId))].sort();
  return {
    endpoint: lab.endpoint,
    evidenceBucket: EVIDENCE_BUCKET,
    region: lab.region,
    forensicsAccount: lab.forensicsAccount,
    allowedAccounts: accounts,
    credentials: lab.orchestratorCredentials,
    targets: {
      collectable: [arnOf('web-01'), arnOf('db-01'), volumeArn, k8s.podTarget],
      refusedByPolicy: [arnOf('batch-01')],
      followed: [arnOf('worker-07')],
      // worker-07 is the one host the scenario tags with the incident.
      selector: `tag:Incident=${worker.tags.Incident ?? 'INC-42'}`,
    },
    kubernetes: { configName: k8s.configName, clusterConfig: { ...k8s.clusterConfig } },
    close: async () => {
      await k8s.close();
      await lab.stop();
    },
  };
}
