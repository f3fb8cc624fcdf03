/**
 * The AWS part of `custody demo`: the three-account AWS lab (demoScenario) and the EKS cluster
 * whose node is one of its instances. Its targets: two tagged instances, an aws/ebs volume, the
 * compromised pod (followed to worker-07), and the untagged batch host the collector policy refuses.
 */
import { CustodyError } from '../../core/errors.js';
import { startLab } from '../index.js';
import { demoScenario, EVIDENCE_BUCKET } from '../scenarios.js';
import { startKubernetesDemoLab } from '../kubernetes/demo.js';
import { tallyDiskHashes } from './disk-hashes.js';
import type { DemoCaseCheck, DemoPart } from './part.js';

export async function startAwsDemoPart(): Promise<DemoPart> {
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
      awsTime: () => lab.control.awsTime() ?? Date.now(),
    });
  } catch (error) {
    await lab.stop();
    throw error;
  }
  const accounts = [...new Set(instances.map((i) => i.ownerId))].sort();
  const followed = [arnOf('worker-07')];
  const credentials = lab.orchestratorCredentials;
  return {
    label: 'AWS',
    endpoint: lab.endpoint,
    config: {
      aws: {
        forensicsAccount: lab.forensicsAccount,
        region: lab.region,
        allowedAccounts: accounts,
        transfer: 'copy',
        // A whole-disk SHA-256 of every preserved volume, read through the lab's EBS direct API.
        hash: true,
        // Every AWS endpoint points at the lab, so nothing can reach a real cloud by accident.
        endpoints: { sts: lab.endpoint, ec2: lab.endpoint, kms: lab.endpoint, ebs: lab.endpoint, s3: lab.endpoint },
        // Closing the case copies it to the lab's Object Lock bucket, as aws.evidenceBucket does in a deployment.
        evidenceBucket: { name: EVIDENCE_BUCKET, retention: { mode: 'COMPLIANCE', days: 30 } },
        // The lab's snapshots finish in 1.5 s: polled from 50 ms, each is noticed as it finishes
        // rather than up to a second later (as azure.pollIntervalMs does for the Azure lab).
        snapshotPollMs: 50,
      },
    },
    clusters: [{ configName: k8s.configName, clusterConfig: { ...k8s.clusterConfig } }],
    // The lab's orchestrator keys, where the standard chain finds them. A profile would make the
    // SDK skip these variables; a leftover session token would be sent with them.
    env: {
      AWS_PROFILE: undefined,
      AWS_SESSION_TOKEN: undefined,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_REGION: lab.region,
    },
    targets: {
      collectable: [arnOf('web-01'), arnOf('db-01'), volumeArn, k8s.podTarget],
      refusedByPolicy: [arnOf('batch-01')],
      followed,
    },
    // worker-07 is the one host the scenario tags with the incident.
    selector: `tag:Incident=${worker.tags.Incident ?? 'INC-42'}`,
    evidenceBucket: EVIDENCE_BUCKET,
    description: [
      `Rehearsal lab listening on ${lab.endpoint} (STS, EC2, KMS, S3; accounts ${[lab.forensicsAccount, ...accounts].join(', ')})`,
      `Demo EKS cluster "${k8s.configName}" at ${k8s.clusterConfig.server}; its node is the instance ${followed.join(', ')}`,
    ],
    checkCase: checkVolumesHashed,
    close: async () => {
      await k8s.close();
      await lab.stop();
    },
  };
}

/** Every preserved volume has its whole-disk hash recorded (config `aws.hash` in the demo). */
function checkVolumesHashed(caseDir: string): DemoCaseCheck {
  const tally = tallyDiskHashes(caseDir);
  const line = `Whole-disk SHA-256 recorded for ${tally.hashed} of ${tally.preserved} preserved AWS volumes (EBS direct APIs, every block checked)`;
  return {
    ok: tally.preserved > 0 && tally.missing.length === 0,
    lines: [tally.missing.length > 0 ? `${line}; missing: ${tally.missing.join(', ')}` : line],
  };
}
