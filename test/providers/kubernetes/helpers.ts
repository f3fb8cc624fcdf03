// Shared set-up for the Kubernetes provider tests: the lab API server, a kubeconfig pointing at
// it, a real case folder (openCase) and a provider context.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/providers/config.js';
import type { CustodyConfig } from '../../../src/providers/config.js';
import type { CollectOptions, ProviderContext, ProgressEvent } from '../../../src/core/ports.js';
import { openCase } from '../../../src/custody/open-case.js';
import type { CaseHandle } from '../../../src/custody/open-case.js';
import { k8sDemoScenario, startKubernetesLab } from '../../../src/lab/kubernetes/index.js';
import type { K8sDemoScenario, KubernetesLab, LabClusterSpec } from '../../../src/lab/kubernetes/index.js';

export const NODE_INSTANCES = [
  { id: 'i-0a1b2c3d4e5f60718', availabilityZone: 'us-east-1a' },
  { id: 'i-0fedcba9876543210', availabilityZone: 'us-east-1b' },
];

export const NO_OPTIONS: CollectOptions = { preserve: false, isolate: false, screenshot: false, includeEnv: false, retrieveCheckpoint: false };

export interface K8sFixture {
  dir: string;
  lab: KubernetesLab;
  scenario: K8sDemoScenario;
  kubeconfig: string;
  config: CustodyConfig;
  /** Cases opened on this fixture (openTestCase): released by close(), so a failed test leaks no ledger handle. */
  cases: CaseHandle[];
  close(): Promise<void>;
}

/** Writes a kubeconfig for the lab with `token` as the user's bearer token. */
export async function writeKubeconfig(dir: string, server: string, token: string, name = 'kubeconfig'): Promise<string> {
  const path = join(dir, name);
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'lab', cluster: { server, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'collector', user: { token } }],
    contexts: [{ name: 'lab', context: { cluster: 'lab', user: 'collector' } }],
    'current-context': 'lab',
  };
  // JSON is YAML: client-node reads it as a kubeconfig.
  await writeFile(path, JSON.stringify(doc), { mode: 0o600 });
  return path;
}

/** Starts the lab with the demo scenario (edited by `edit`) and a config whose cluster `lab` uses `token`. */
export async function startFixture(edit?: (cluster: LabClusterSpec, scenario: K8sDemoScenario) => void, token?: string): Promise<K8sFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'k8s-provider-'));
  const scenario = k8sDemoScenario({ instances: NODE_INSTANCES });
  edit?.(scenario.cluster, scenario);
  const lab = await startKubernetesLab({ cluster: scenario.cluster });
  const kubeconfig = await writeKubeconfig(dir, lab.url, token ?? scenario.collectorToken);
  const config = parseConfig({
    casesDir: join(dir, 'cases'),
    keysDir: join(dir, 'keys'),
    kubernetes: { clusters: { lab: { kubeconfig, context: 'lab', nodeAccount: '222222222222', nodeRegion: 'us-east-1' } } },
  });
  const cases: CaseHandle[] = [];
  return {
    dir,
    lab,
    scenario,
    kubeconfig,
    config,
    cases,
    close: async () => {
      await Promise.all(cases.map((kase) => kase.release()));
      await lab.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function openTestCase(fixture: K8sFixture, caseId = 'IR-K8S-1'): Promise<CaseHandle> {
  const kase = await openCase({ casesDir: join(fixture.dir, 'cases'), keysDir: join(fixture.dir, 'keys'), caseId, analyst: 'alice', toolVersion: 'test' });
  fixture.cases.push(kase);
  return kase;
}

export function contextFor(recorder: CaseHandle, options: Partial<CollectOptions> = {}): ProviderContext & { events: ProgressEvent[] } {
  const events: ProgressEvent[] = [];
  return { recorder, progress: (e) => void events.push(e), options: { ...NO_OPTIONS, ...options }, signal: new AbortController().signal, events };
}

export function entriesOf(recorder: CaseHandle, type: string) {
  return recorder.entries().filter((e) => e.type === type);
}
