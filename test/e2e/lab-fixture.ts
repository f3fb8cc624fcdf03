// A demo lab for end-to-end tests: the lab, a config file pointing at it, the credentials for
// the standard chain (env only), and the demo's target ARNs by instance name.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { demoScenario, startLab } from '../../src/lab/index.js';
import type { RunningLab, StartLabOptions } from '../../src/lab/index.js';
import { afterAll, beforeAll } from 'vitest';

export interface LabFixture {
  lab: RunningLab;
  dir: string;
  configPath: string;
  /** AWS_* variables for a child process (or to put into process.env). */
  env: Record<string, string>;
  instanceArn(name: string): string;
  volumeArn(instanceName: string, index?: number): string;
  volumeIdsOf(instanceName: string): string[];
}

export async function startLabFixture(options: StartLabOptions = {}, config: Record<string, unknown> = {}): Promise<LabFixture> {
  const lab = await startLab(demoScenario({ snapshotDurationMs: 300 }), options);
  const dir = mkdtempSync(join(tmpdir(), 'custody-e2e-'));
  const configPath = join(dir, 'custody.config.json');
  writeFileSync(
    configPath,
    JSON.stringify({
      casesDir: 'cases',
      keysDir: 'keys',
      ...config,
      aws: {
        forensicsAccount: lab.forensicsAccount,
        region: lab.region,
        allowedAccounts: ['222222222222', '333333333333'],
        endpoints: { sts: lab.endpoint, ec2: lab.endpoint, kms: lab.endpoint },
        // The lab's snapshots finish in 300 ms: the shipped 1 s first poll would be most of each run.
        snapshotPollMs: 50,
        ...((config.aws as Record<string, unknown> | undefined) ?? {}),
      },
    }),
  );
  const instances = () => lab.state.regionNames().flatMap((r) => [...lab.state.region(r).instances.values()]);
  const byName = (name: string) => {
    const found = instances().find((i) => i.tags.Name === name);
    if (!found) throw new Error(`no lab instance ${name}`);
    return found;
  };
  return {
    lab,
    dir,
    configPath,
    env: {
      AWS_ACCESS_KEY_ID: lab.orchestratorCredentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: lab.orchestratorCredentials.secretAccessKey,
      AWS_REGION: lab.region,
    },
    instanceArn: (name) => {
      const i = byName(name);
      return `arn:aws:ec2:${i.region}:${i.ownerId}:instance/${i.id}`;
    },
    volumeArn: (name, index = 0) => {
      const i = byName(name);
      const device = i.blockDevices[index];
      if (!device) throw new Error(`${name} has no volume ${index}`);
      return `arn:aws:ec2:${i.region}:${i.ownerId}:volume/${device.volumeId}`;
    },
    volumeIdsOf: (name) => byName(name).blockDevices.map((d) => d.volumeId),
  };
}

/**
 * One lab for the whole test file: started before the first test, stopped and its folder removed
 * after the last. The returned object is filled in by then, so tests read `fx.configPath` as usual.
 * With `credentials`, the lab's credentials are in process.env for the file and put back after.
 */
export function useLabFixture(
  options: { lab?: StartLabOptions; config?: Record<string, unknown>; credentials?: boolean } = {},
): LabFixture {
  const fx = {} as LabFixture;
  let restore: (() => void) | undefined;
  beforeAll(async () => {
    Object.assign(fx, await startLabFixture(options.lab, options.config));
    if (options.credentials) restore = useCredentials(fx.env);
  });
  afterAll(async () => {
    restore?.();
    await fx.lab.stop();
    rmSync(fx.dir, { recursive: true, force: true });
  });
  return fx;
}

/** Puts the lab credentials into this process's env for the SDK's standard chain; returns an undo. */
export function useCredentials(env: Record<string, string>): () => void {
  const saved = Object.fromEntries(Object.keys(env).concat('AWS_SESSION_TOKEN', 'AWS_PROFILE').map((k) => [k, process.env[k]]));
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  Object.assign(process.env, env);
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

/** Source snapshots (not copies) the lab holds for a case, counted per volume. */
export function snapshotsPerVolume(lab: RunningLab, caseId: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const region of lab.state.regionNames()) {
    for (const snapshot of lab.state.region(region).snapshots.values()) {
      if (snapshot.tags.CaseId !== caseId || snapshot.sourceSnapshotId || snapshot.tags.SourceSnapshotId) continue;
      counts.set(snapshot.volumeId, (counts.get(snapshot.volumeId) ?? 0) + 1);
    }
  }
  return counts;
}
