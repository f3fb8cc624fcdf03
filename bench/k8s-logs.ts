/**
 * Streams one large container log (1 GiB by default) from the lab API server into a case folder
 * through the Kubernetes provider, and reports the peak resident memory: a collector that
 * buffered the log would need at least its size. With `--checkpoint`, streams a checkpoint
 * archive of that size off the node instead (--retrieve-checkpoint, through exec).
 * Usage: USAGE below (`npm run bench:k8s-logs -- --help`).
 *
 * Prints one JSON line: bytes, seconds, MiB/s, baseline and peak RSS, growth, sha256.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/providers/config.js';
import type { CaseRecorder, EvidenceInput } from '../src/core/ports.js';
import { parseTarget } from '../src/providers/targets.js';
import { openCase } from '../src/custody/open-case.js';
import { k8sDemoScenario, startKubernetesLab } from '../src/lab/kubernetes/index.js';
import { createKubernetesProvider } from '../src/providers/kubernetes/index.js';
import { benchArgs } from './args.js';

const USAGE = `
npm run bench:k8s-logs -- [--mib 1024] [--checkpoint] [--keep]
  --mib N        size of the log (or checkpoint archive), MiB (default 1024)
  --checkpoint   stream a checkpoint archive off the node instead of a log
  --keep         keep the case folder
`;

const MiB = 1024 * 1024;
const values = benchArgs(USAGE, { mib: { type: 'string', default: '1024' }, checkpoint: { type: 'boolean', default: false }, keep: { type: 'boolean', default: false } });
const bytes = Number(values.mib) * MiB;

const dir = await mkdtemp(join(tmpdir(), 'bench-k8s-logs-'));
const scenario = k8sDemoScenario({ instances: [{ id: 'i-0a1b2c3d4e5f60718', availabilityZone: 'us-east-1a' }] });
if (values.checkpoint) {
  for (const node of scenario.cluster.nodes) {
    node.checkpoint = 200;
    node.checkpointBytes = bytes;
  }
} else {
  scenario.cluster.pods.find((p) => p.name === scenario.compromisedPod)!.containers.find((c) => c.name === 'app')!.log = { generatedBytes: bytes };
}
const lab = await startKubernetesLab({ cluster: scenario.cluster });
const kubeconfig = join(dir, 'kubeconfig');
await writeFile(
  kubeconfig,
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'lab', cluster: { server: lab.url, 'insecure-skip-tls-verify': true } }],
    users: [{ name: 'u', user: { token: scenario.collectorToken } }],
    contexts: [{ name: 'lab', context: { cluster: 'lab', user: 'u' } }],
    'current-context': 'lab',
  }),
  { mode: 0o600 },
);
const config = parseConfig({ casesDir: join(dir, 'cases'), kubernetes: { clusters: { lab: { kubeconfig, nodeAccount: '222222222222' } } } });
const kase = await openCase({ casesDir: join(dir, 'cases'), keysDir: join(dir, 'keys'), caseId: 'BENCH-K8S-LOGS', analyst: 'bench', toolVersion: 'bench' });

// Sample RSS at every chunk the log stream yields, and on a timer as a second opinion.
let peak = process.memoryUsage.rss();
const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
async function* watch(content: AsyncIterable<Uint8Array | string>) {
  for await (const chunk of content) {
    peak = Math.max(peak, process.memoryUsage.rss());
    yield chunk;
  }
}
const recorder = Object.create(kase) as CaseRecorder;
recorder.storeEvidence = (input: EvidenceInput) =>
  kase.storeEvidence(typeof input.content === 'string' || input.content instanceof Uint8Array ? input : { ...input, content: watch(input.content) });

const provider = createKubernetesProvider(config)!;
const baseline = process.memoryUsage.rss();
const started = process.hrtime.bigint();
const outcome = await provider.collect(parseTarget(`k8s:lab/${scenario.namespace}/${scenario.compromisedPod}/app`), {
  recorder,
  progress: () => undefined,
  options: { preserve: false, isolate: false, screenshot: false, includeEnv: false, retrieveCheckpoint: values.checkpoint === true },
  signal: new AbortController().signal,
});
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
clearInterval(timer);
const log = kase.entries().find((e) => e.type === 'evidence.stored' && (values.checkpoint ? e.data.kind === 'container-checkpoint-archive' : e.data.name === 'log-app.log'));
console.log(
  JSON.stringify({
    bench: values.checkpoint ? 'k8s-checkpoint-archive' : 'k8s-logs',
    status: outcome.status,
    bytes: log?.data.size,
    seconds: Number(seconds.toFixed(2)),
    mibPerSecond: Number(((Number(log?.data.size ?? 0) / MiB) / seconds).toFixed(1)),
    baselineRssMiB: Number((baseline / MiB).toFixed(1)),
    peakRssMiB: Number((peak / MiB).toFixed(1)),
    growthMiB: Number(((peak - baseline) / MiB).toFixed(1)),
    sha256: log?.data.sha256,
  }),
);
await kase.release();
await lab.close();
if (!values.keep) await rm(dir, { recursive: true, force: true });
else console.error(`case kept in ${dir}`);
