/**
 * One rehearsal lab per test file, for the AWS provider's end-to-end tests: the demo scenario on
 * a loopback port, a config pointing every AWS endpoint at it, real case folders in a scratch
 * directory, and providers that are closed after each test. Registers its own vitest hooks, so a
 * test file calls {@link useAwsLab} once at the top level.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { parseConfig, type CustodyConfig } from '../../../src/providers/config.js';
import { openCase, type CaseHandle } from '../../../src/custody/index.js';
import { demoScenario, startLab, type LabInstance, type LabSnapshot, type LabVolume, type RunningLab } from '../../../src/lab/index.js';
import { createAwsProvider, type AwsProvider } from '../../../src/providers/aws/index.js';
import { AwsClients, type AccountClients } from '../../../src/providers/aws/clients.js';
import { AssumeRoleCommand } from '@aws-sdk/client-sts';

export const REGION = 'us-east-1';

type AwsOverrides = Partial<NonNullable<CustodyConfig['aws']>>;

export interface AwsLabOptions {
  /** Name of the scratch folder under the system temp dir (cases/ and keys/ live in it). */
  scratchPrefix: string;
  /** Prefix of the case ids {@link AwsLab.newCase} makes up. Default `IR-`. */
  caseIdPrefix?: string;
  /** Target accounts the config allows. Default 222222222222 and 333333333333. */
  allowedAccounts?: string[];
  /** How long a lab snapshot stays pending. Default 150 ms. */
  snapshotDurationMs?: number;
  /** The provider's polling delays while it waits on snapshots. Default 50 to 200 ms. */
  wait?: { initialDelayMs: number; maxDelayMs: number };
}

export interface AwsLab {
  /** The running lab (available from the first test on). */
  readonly lab: RunningLab;
  /** A config whose STS, EC2 and KMS endpoints are the lab. */
  readonly config: CustodyConfig;
  /** The scratch folder; cases are under `cases/`. */
  readonly dir: string;
  /** A provider against the lab as the orchestrator, closed after the current test. */
  provider(overrides?: AwsOverrides): AwsProvider;
  /** Opens (or resumes) a real case folder in the scratch folder, as analyst `alice`. */
  openCase(caseId: string, resume?: boolean): Promise<CaseHandle>;
  /** A case with a fresh id made of the label and a counter, unless `caseId` names one. */
  newCase(label: string, resume?: boolean, caseId?: string): Promise<CaseHandle>;
  /** The lab instance tagged `Name=<name>` in the region. */
  instanceNamed(name: string): LabInstance;
  /** The lab volume tagged `Name=<name>` in the region. */
  volumeNamed(name: string): LabVolume;
  /** Every snapshot (source or copy) in the region tagged with the case. */
  snapshotsOf(caseId: string): LabSnapshot[];
}

/** The ARN a target names an instance by. */
export function instanceArn(instance: LabInstance): string {
  return `arn:aws:ec2:${REGION}:${instance.ownerId}:instance/${instance.id}`;
}

/** The ARN a target names a volume by. */
export function volumeArn(volume: LabVolume): string {
  return `arn:aws:ec2:${REGION}:${volume.ownerId}:volume/${volume.id}`;
}

/**
 * Starts the lab before the file's tests and stops it (and removes the scratch folder) after
 * them; closes the providers each test made.
 *
 * @example
 * const world = useAwsLab({ scratchPrefix: 'custody-aws-' });
 * it('…', async () => { const outcome = await world.provider().collect(target, contextFor(await world.newCase('happy'))); });
 */
export function useAwsLab(options: AwsLabOptions): AwsLab {
  let lab: RunningLab | undefined;
  let config: CustodyConfig | undefined;
  let dir: string | undefined;
  let caseCounter = 0;
  const providers: AwsProvider[] = [];
  const wait = options.wait ?? { initialDelayMs: 50, maxDelayMs: 200 };
  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`the lab fixture's ${what} is used before beforeAll ran`);
    return value;
  };

  beforeAll(async () => {
    lab = await startLab(demoScenario({ snapshotDurationMs: options.snapshotDurationMs ?? 150 }));
    dir = await mkdtemp(join(tmpdir(), options.scratchPrefix));
    config = parseConfig({
      aws: {
        forensicsAccount: lab.forensicsAccount,
        region: REGION,
        allowedAccounts: options.allowedAccounts ?? ['222222222222', '333333333333'],
        endpoints: { sts: lab.endpoint, ec2: lab.endpoint, kms: lab.endpoint, ebs: lab.endpoint },
      },
    });
  });

  afterEach(async () => {
    for (const p of providers.splice(0)) await p.close?.();
  });

  afterAll(async () => {
    await lab?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const world: AwsLab = {
    get lab() {
      return started(lab, 'lab');
    },
    get config() {
      return started(config, 'config');
    },
    get dir() {
      return started(dir, 'scratch folder');
    },
    provider(overrides = {}) {
      const base = world.config;
      const running = world.lab;
      const p = createAwsProvider(
        { ...base, aws: { ...base.aws!, ...overrides } },
        { credentials: async () => running.orchestratorCredentials, wait },
      );
      providers.push(p);
      return p;
    },
    openCase(caseId, resume = false) {
      return openCase({ casesDir: join(world.dir, 'cases'), keysDir: join(world.dir, 'keys'), caseId, analyst: 'alice', toolVersion: 'test', resume });
    },
    newCase(label, resume = false, caseId) {
      caseCounter += 1;
      return world.openCase(caseId ?? `${options.caseIdPrefix ?? 'IR-'}${label}-${caseCounter}`, resume);
    },
    instanceNamed(name) {
      const found = [...world.lab.state.region(REGION).instances.values()].find((i) => i.tags.Name === name);
      if (!found) throw new Error(`no ${name} in the lab`);
      return found;
    },
    volumeNamed(name) {
      const found = [...world.lab.state.region(REGION).volumes.values()].find((v) => v.tags.Name === name);
      if (!found) throw new Error(`no volume ${name} in the lab`);
      return found;
    },
    snapshotsOf(caseId) {
      return [...world.lab.state.region(REGION).snapshots.values()].filter((s) => s.tags.CaseId === caseId);
    },
  };
  return world;
}

/**
 * The provider's AWS clients against a lab the test started itself, and one account's clients
 * under the collector role (assumed through the lab's STS as `sessionName`), as the provider
 * makes them. The caller destroys `clients`.
 */
export async function collectorClients(
  lab: RunningLab,
  account: string,
  sessionName: string,
  retry?: ConstructorParameters<typeof AwsClients>[2],
): Promise<{ clients: AwsClients; account: AccountClients; identity: { accessKeyId: string; secretAccessKey: string; sessionToken: string } }> {
  const config = parseConfig({
    casesDir: '/nonexistent',
    aws: { forensicsAccount: lab.forensicsAccount, region: lab.region, allowedAccounts: [account], endpoints: { sts: lab.endpoint, ec2: lab.endpoint, kms: lab.endpoint } },
  });
  if (!config.aws) throw new Error('no aws section');
  const clients = new AwsClients(config.aws, async () => lab.orchestratorCredentials, retry);
  const assumed = await clients
    .sts()
    .send(new AssumeRoleCommand({ RoleArn: `arn:aws:iam::${account}:role/${config.aws.collectorRole}`, RoleSessionName: sessionName, SourceIdentity: 'alice' }));
  const c = assumed.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new Error('no session');
  const identity = { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
  return { clients, account: clients.forAccount(account, lab.region, async () => identity), identity };
}
