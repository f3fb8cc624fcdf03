/**
 * The real wiring behind the CLI: custody (case folders, verify, report), the provider registry,
 * the AWS caller identity, and the rehearsal lab for `custody demo`.
 */
import { openCase, renderReport, verifyCase } from '../custody/index.js';
import type { VerifyResult } from '../custody/index.js';
import { REGISTRY } from '../providers/registry.js';
import { defaultKeysDir } from '../core/config.js';
import { CustodyError, isCustodyError } from '../core/errors.js';
import { ensureConfiguredDir } from '../custody/configured-dir.js';
import { packageVersion } from './app.js';
import type { CliDeps, CopyOutcome, DemoLab, VerifyOutcome, VerifyRequest } from './deps.js';

export function defaultDeps(): CliDeps {
  return {
    createProviders: (config) => REGISTRY.createProviders(config),
    async prepareFolders(config) {
      if (!config.signingKeyFile) await ensureConfiguredDir(config.keysDir ?? defaultKeysDir(), 'keysDir', 0o700);
      await ensureConfiguredDir(config.casesDir, 'casesDir');
    },
    async openCase({ config, caseId, analyst, resume, principal }) {
      const handle = await openCase({
        casesDir: config.casesDir,
        caseId,
        analyst,
        ...(config.keysDir ? { keysDir: config.keysDir } : {}),
        ...(config.signingKeyFile ? { signingKeyFile: config.signingKeyFile } : {}),
        toolVersion: packageVersion(),
        config: REGISTRY.summarizeConfig(config),
        resume,
        ...(principal ? { principal } : {}),
      });
      return {
        recorder: handle,
        fingerprint: handle.fingerprint,
        close: async (outcomes) => void (await handle.close({ outcomes })),
        release: () => handle.release(),
      };
    },
    verifyCase: async (caseDir, request = {}) => verifyRequested(caseDir, request),
    preflight: (input) => REGISTRY.preflight({ config: input.config, targets: input.targets, scopes: input.scopes, ...(input.analyst ? { analyst: input.analyst } : {}) }),
    async renderReport(caseDir) {
      const { markdown, html, verification } = await renderReport(caseDir);
      return { markdown, html, verify: toVerifyOutcome(caseDir, verification) };
    },
    callerIdentity: (config) => REGISTRY.callerIdentity(config),
    startDemoLab,
    copyCase: copyToEvidenceBucket,
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

/**
 * Copies a closed case to `aws.evidenceBucket` with the forensics account's credentials (the
 * standard chain). A failure is recorded in the ledger by the copy itself and returned with how
 * to retry; only a ledger that cannot be written is thrown.
 */
async function copyToEvidenceBucket({ config, caseDir, caseId, actor }: Parameters<NonNullable<CliDeps['copyCase']>>[0]): Promise<CopyOutcome> {
  const bucket = config.aws?.evidenceBucket;
  if (!bucket) throw new CustodyError('E_CONFIG', 'aws.evidenceBucket is not configured: there is no bucket to copy the case to');
  const { copyCase } = await import('../custody/immutable-copy.js');
  const { evidenceBucketOptions, openEvidenceBucket } = await import('../providers/aws/evidence-bucket.js');
  const store = openEvidenceBucket(evidenceBucketOptions(config, { caseId }));
  const retention = { mode: bucket.retention.mode, days: bucket.retention.days };
  try {
    const result = await copyCase({
      caseDir,
      store,
      actor,
      keysDir: config.keysDir ?? defaultKeysDir(),
      ...(config.signingKeyFile ? { signingKeyFile: config.signingKeyFile } : {}),
      retention,
    });
    return { ok: true, url: result.url, copied: result.copied, alreadyCopied: result.alreadyCopied, total: result.total, retention, head: result.head };
  } catch (error) {
    if (isCustodyError(error) && error.code === 'E_LEDGER') throw error;
    const record = isCustodyError(error) ? error.toRecord() : { code: 'E_INTERNAL', message: String(error) };
    return { ok: false, url: store.url, retention, error: { code: String(record.code), message: String(record.message) } };
  } finally {
    store.destroy();
  }
}

/**
 * Verifies a case. With `expectKey` (the fingerprint printed when the case was opened, or the
 * public key) a case signed by any other key fails even if it is internally consistent, as a
 * wholly re-signed ledger would be; with `expectHead` a ledger cut back or extended fails.
 */
async function verifyRequested(caseDir: string, request: VerifyRequest): Promise<VerifyOutcome> {
  const key = request.expectKey;
  const result = await verifyCase(caseDir, {
    ...(key && 'fingerprint' in key ? { expectedFingerprint: key.fingerprint } : {}),
    ...(key && 'publicKey' in key ? { expectedPublicKey: key.publicKey } : {}),
    ...(request.expectHead ? { expectedHead: request.expectHead } : {}),
    requireClosed: request.allowOpen !== true,
  });
  return toVerifyOutcome(caseDir, result);
}

export function toVerifyOutcome(caseDir: string, result: VerifyResult): VerifyOutcome {
  return {
    ok: result.ok,
    caseDir,
    closed: result.closed,
    entries: result.entries,
    files: result.evidence.files,
    ...(result.head ? { head: result.head } : {}),
    ...(result.fingerprint ? { fingerprint: result.fingerprint } : {}),
    problems: [...result.problems, ...result.warnings],
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
