/**
 * `--retrieve-checkpoint`: copies a checkpoint archive off the node into the case. A helper pod
 * in the forensics namespace (never the workload's) is pinned to the node and mounts
 * /var/lib/kubelet/checkpoints read-only. The archive is streamed out through exec (`cat`),
 * hashed while written, with backpressure so a multi-GiB archive does not fill memory. The helper
 * pod is then deleted. Creating and deleting the helper are recorded as changes. The archive
 * itself stays on the node: deleting it needs write access to the node, which the collector
 * never has.
 */
import { createHash } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import { CustodyError, isStopSignal } from '../../core/errors.js';
import { recordMutation } from '../../core/kernel.js';
import { callKubernetes, callKubernetesAnswer } from './call.js';
import type { ContainerInfo, PodRun } from './pod-run.js';
import { freshName, safeName } from './pod-run.js';
import { openExecStream } from './exec-stream.js';
import { interpretExecStatus } from './exec.js';

export const DEFAULT_FORENSICS_NAMESPACE = 'cloud-custody';
// Any image with `cat` and `sleep`; pin it by digest in `helperImage` for production.
export const DEFAULT_HELPER_IMAGE = 'busybox:1.36';
const CHECKPOINT_DIR = '/var/lib/kubelet/checkpoints';
const MOUNT = '/checkpoints';
const ARCHIVE_NAME = /^checkpoint-[A-Za-z0-9._-]+\.tar$/;
const RUNNING_TIMEOUT_MS = 120_000;
const IDLE_TIMEOUT_MS = 120_000;

/** The helper pod's name: stable for a case and archive, so a resumed case finds it. */
export function helperPodName(caseId: string, archive: string): string {
  return `cloud-custody-retrieve-${createHash('sha256').update(`${caseId}\n${archive}`).digest('hex').slice(0, 12)}`;
}

/** The helper pod: pinned to the node, read-only mount of the checkpoint folder, nothing else. */
export function helperPodSpec(name: string, namespace: string, node: string, image: string, caseId: string): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, labels: { 'app.kubernetes.io/managed-by': 'cloud-custody' }, annotations: { 'cloud-custody.io/case-id': caseId } },
    spec: {
      // nodeName bypasses the scheduler: it runs even on the node cordoned by --isolate.
      nodeName: node,
      restartPolicy: 'Never',
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      tolerations: [{ operator: 'Exists' }],
      containers: [
        {
          name: 'retrieve',
          image,
          command: ['sleep', '3600'],
          // The kubelet writes archives root:root 0600: reading them needs uid 0, nothing more.
          securityContext: { runAsUser: 0, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          volumeMounts: [{ name: 'checkpoints', mountPath: MOUNT, readOnly: true }],
        },
      ],
      volumes: [{ name: 'checkpoints', hostPath: { path: CHECKPOINT_DIR, type: 'Directory' } }],
    },
  };
}

async function waitRunning(run: PodRun, namespace: string, name: string, resource: string): Promise<void> {
  const started = Date.now();
  for (let delay = 250; ; delay = Math.min(delay * 2, 4000)) {
    const pod = await callKubernetes('readHelperPod', resource, () => run.access.core.readNamespacedPod({ name, namespace }));
    const phase = pod.status?.phase;
    if (phase === 'Running') return;
    if (phase === 'Failed' || phase === 'Succeeded') throw new CustodyError('E_CLOUD', `helper pod ${resource} ended (${phase}) before the archive was copied`, { resource });
    if (Date.now() - started > RUNNING_TIMEOUT_MS) throw new CustodyError('E_TIMEOUT', `helper pod ${resource} was not running after ${RUNNING_TIMEOUT_MS / 1000} s (image pull, admission?)`, { resource });
    await new Promise((resolve) => setTimeout(resolve, delay));
    if (run.ctx.signal.aborted) throw new CustodyError('E_INTERNAL', 'collection was aborted', { resource });
  }
}

/** Copies one archive off `node` into the case; records `checkpoint.retrieved` or throws. */
export async function retrieveCheckpoint(run: PodRun, node: string, container: ContainerInfo, archive: string): Promise<void> {
  const { recorder } = run.ctx;
  const file = archive.startsWith(`${CHECKPOINT_DIR}/`) ? archive.slice(CHECKPOINT_DIR.length + 1) : '';
  // Only a checkpoint archive by its kubelet-given name: never an arbitrary path on the node.
  if (!ARCHIVE_NAME.test(file)) {
    throw new CustodyError('E_INPUT', `refusing to copy "${archive}": not a kubelet checkpoint archive under ${CHECKPOINT_DIR}`, { resource: archive });
  }
  const namespace = run.cluster.forensicsNamespace ?? DEFAULT_FORENSICS_NAMESPACE;
  const image = run.cluster.helperImage ?? DEFAULT_HELPER_IMAGE;
  const name = helperPodName(recorder.caseId, archive);
  const resource = `k8s:${run.target.cluster}/${namespace}/${name}`;
  const spec = helperPodSpec(name, namespace, node, image, recorder.caseId);

  await recordMutation(
    recorder,
    run.key,
    { type: 'change.requested', data: { change: 'create-helper-pod', resource, node, image, hostPath: CHECKPOINT_DIR, readOnly: true, purpose: `copy ${archive} off the node` } },
    async (): Promise<{ uid: string | null; requestId: string | null } | { alreadyExisted: true }> => {
      try {
        const { value: created, requestId } = await callKubernetesAnswer('createHelperPod', resource, () => run.access.core.createNamespacedPodWithHttpInfo({ namespace, body: spec }));
        return { uid: created.metadata?.uid ?? null, requestId: requestId ?? null };
      } catch (error) {
        if (!(error instanceof CustodyError) || !/already exists|HTTP 409/.test(error.message)) throw error;
        return { alreadyExisted: true };
      }
    },
    (result) => ({ type: 'change.applied', data: { change: 'create-helper-pod', resource, ...result } }),
  );

  try {
    await waitRunning(run, namespace, name, resource);
    const argv = ['cat', `${MOUNT}/${file}`];
    await recorder.record('exec.requested', { pod: resource, container: 'retrieve', command: argv, purpose: `copy the checkpoint archive of container ${container.name} off node ${node}` }, run.key);
    const session = await openExecStream({ access: run.access, operation: 'execInHelperPod', resource, namespace, pod: name, container: 'retrieve', argv, signal: run.ctx.signal, idleTimeoutMs: IDLE_TIMEOUT_MS });
    const stored = await recorder.storeEvidence({
      evidenceId: run.evidenceId,
      name: freshName(run, `checkpoint-${safeName(container.name)}-${safeName(file)}`),
      kind: 'container-checkpoint-archive',
      source: `k8s:${run.target.cluster}/node/${node}${archive}`,
      content: session.stdout,
      mediaType: 'application/x-tar',
      target: run.key,
      cloudIds: { node, path: archive, container: container.name, containerID: container.status?.containerID ?? '' },
      ...(session.requestId ? { requestIds: [session.requestId] } : {}),
    });
    run.stored.push(stored.name);
    const { status, idleTimedOut } = await session.finished;
    const result = idleTimedOut && !status ? { result: 'failed' as const, message: 'the archive stream stalled' } : interpretExecStatus(status);
    const requestId = session.requestId ? { requestId: session.requestId } : {};
    if (result.result !== 'exited' || result.exitCode !== 0) {
      await recorder.record('exec.completed', { pod: resource, container: 'retrieve', command: argv, ...result, stdout: { path: stored.path, sha256: stored.sha256, size: stored.size }, ...requestId }, run.key);
      throw new CustodyError('E_CLOUD', `copying ${archive} off ${node} failed: ${'message' in result ? result.message : `exit code ${result.exitCode}`}; ${stored.path} holds only what arrived`, { resource });
    }
    await recorder.record('checkpoint.retrieved', { node, container: container.name, archive, path: stored.path, sha256: stored.sha256, size: stored.size, leftOnNode: true, ...requestId }, run.key);
  } finally {
    // A helper pod left behind is recorded, not a reason to lose the archive already copied.
    await recordMutation(
      recorder,
      run.key,
      { type: 'change.requested', data: { change: 'delete-helper-pod', resource } },
      () => callKubernetesAnswer('deleteHelperPod', resource, () => run.access.core.deleteNamespacedPodWithHttpInfo({ name, namespace, gracePeriodSeconds: 0 })),
      ({ requestId }) => ({ type: 'change.applied', data: { change: 'delete-helper-pod', resource, requestId: requestId ?? null } }),
    ).catch(async (error: unknown) => {
      if (isStopSignal(error)) throw error;
      await recorder.record('step.failed', { step: 'delete-helper-pod', error: error instanceof CustodyError ? error.toRecord() : { message: String(error) } }, run.key);
    });
  }
}
