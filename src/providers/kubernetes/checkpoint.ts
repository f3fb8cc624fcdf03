/**
 * Container checkpoint (KEP-2008) through the API server's node proxy:
 * `POST /api/v1/nodes/{node}/proxy/checkpoint/{ns}/{pod}/{container}`. Managed clusters usually
 * answer 403 (RBAC, or the kubelet refusing the API server), 404 (feature gate off) or 500 (the
 * runtime cannot checkpoint): every answer is recorded and none fails the case.
 *
 * The archive stays on the node under /var/lib/kubelet/checkpoints (root-only: it holds every
 * memory page of the container). Copying it into the case is opt-in (`--retrieve-checkpoint`,
 * checkpoint-retrieve.ts); without it the ledger says it was not retrieved, and the node's disk
 * snapshot (the follow-up) preserves the archive with the rest of the root volume.
 */
import { isCustodyError, isStopSignal } from '../../core/errors.js';
import { withoutUrlCredentials } from '../../core/url-credentials.js';
import { auditIdOfError, callKubernetes, KubernetesHttpError, statusOf } from './call.js';
import type { ContainerInfo, PodRun } from './pod-run.js';
import { historyOf } from '../../core/case-history.js';
import { LEDGER_EVENTS } from '../../core/ledger-events.js';
import { recordMutation } from '../../core/kernel.js';
import { readBody, requestIdOf, requestKubernetes } from './http-stream.js';
import { retrieveCheckpoint } from './checkpoint-retrieve.js';

/** Seconds the kubelet may spend (the CRI default is 2 minutes; memory size drives it). */
const CHECKPOINT_TIMEOUT_S = 120;

/** What an HTTP status from the checkpoint endpoint means, for the record. */
export function explainCheckpointStatus(status: number, body: string): string {
  if (status === 403) {
    return /kube-apiserver-kubelet-client|subresource\(s\)=\[checkpoint\]/.test(body)
      ? "the kubelet refused the API server's kubelet-client identity nodes/checkpoint (a cluster-side grant, owned by the provider on managed clusters)"
      : 'RBAC refused nodes/proxy create to the collector (bind cloud-custody-node-checkpoint just in time for this node)';
  }
  if (status === 404) return 'the kubelet has no checkpoint API (ContainerCheckpoint feature gate off) or does not know the container';
  if (status === 500) return 'the container runtime could not checkpoint (no CRIU on the node, or the runtime does not implement CheckpointContainer)';
  if (status === 401) return 'the API server did not accept the credentials';
  return `unexpected HTTP ${status}`;
}

const UNANSWERED =
  "an earlier run of this case asked for it and was cut off before the kubelet's answer was on record: its archive may be on the node (under /var/lib/kubelet/checkpoints, preserved by the node's disk snapshot) under a name the case does not know, and a second request would write a second memory image of the container onto the node's disk";

/**
 * Whether the latest `checkpoint.requested` for `container` has neither a `checkpoint.created`
 * nor a `checkpoint.unavailable` after it: the request went out (it is recorded before it is
 * sent) and the run ended before its answer was recorded.
 */
function unanswered(run: PodRun, container: string): boolean {
  const history = historyOf(run.ctx.recorder);
  const last = (type: string) => history.lastSeqWhere(type, run.key, 'container', container);
  const asked = last('checkpoint.requested');
  return asked >= 0 && asked > Math.max(last(LEDGER_EVENTS.checkpointCreated), last('checkpoint.unavailable'));
}

/** Probes (and, where allowed, takes) a checkpoint of every running container of `containers`. */
export async function probeCheckpoint(run: PodRun, node: string, containers: readonly ContainerInfo[]): Promise<void> {
  const { namespace, pod } = run.target;
  const { recorder } = run.ctx;
  for (const container of containers) {
    if (container.init || !container.status?.state?.running) continue;
    // A resumed case must not write a second archive on the node for the same container.
    if (historyOf(recorder).about(LEDGER_EVENTS.checkpointCreated, run.key).some((e) => e.data.container === container.name)) {
      await recorder.record('checkpoint.skipped', { node, container: container.name, reason: 'an earlier run of this case took it' }, run.key);
      continue;
    }
    if (unanswered(run, container.name)) {
      await recorder.record('checkpoint.skipped', { node, container: container.name, reason: UNANSWERED }, run.key);
      continue;
    }
    const path = `/api/v1/nodes/${node}/proxy/checkpoint/${namespace}/${pod}/${container.name}`;
    try {
      const archives = await recordMutation(
        recorder,
        run.key,
        { type: 'checkpoint.requested', data: { node, container: container.name, path, timeoutSeconds: CHECKPOINT_TIMEOUT_S, note: 'a successful checkpoint writes an archive on the node' } },
        async () => {
          const response = await callKubernetes('checkpointContainer', `k8s:${run.target.cluster}/node/${node}`, () =>
            requestKubernetes(run.access.kc, 'POST', path, { timeout: String(CHECKPOINT_TIMEOUT_S) }, run.ctx.signal),
          );
          const answered = requestIdOf(response);
          const body = await readBody(response, 64 * 1024);
          try {
            return { archives: ((JSON.parse(body) as { items?: unknown }).items as string[] | undefined)?.filter((i) => typeof i === 'string') ?? [], ...answered };
          } catch {
            return { archives: [], ...answered };
          }
        },
        ({ archives, requestId }) => ({ type: LEDGER_EVENTS.checkpointCreated, data: { node, container: container.name, archives, requestId: requestId ?? null } }),
      ).then((answer) => answer.archives);
      for (const archive of archives) {
        await recorder.recordArtifact({
          evidenceId: run.evidenceId,
          kind: 'container-checkpoint',
          source: `k8s:${run.target.cluster}/node/${node}`,
          target: run.key,
          cloudIds: { node, path: archive },
          details: { container: container.name, containerID: container.status?.containerID ?? '', retrieved: false },
        });
      }
      if (!run.ctx.options.retrieveCheckpoint) {
        await recorder.record(
          'checkpoint.not-retrieved',
          { node, container: container.name, archives, reason: 'retrieval is opt-in (--retrieve-checkpoint)', preservedBy: "the node's disk snapshot, when /var/lib/kubelet is on a snapshotted volume" },
          run.key,
        );
        continue;
      }
      for (const archive of archives) {
        try {
          await retrieveCheckpoint(run, node, container, archive);
        } catch (error) {
          if (isStopSignal(error)) throw error;
          await recorder.record(
            'checkpoint.not-retrieved',
            { node, container: container.name, archive, reason: isCustodyError(error) ? error.message : String(error), ...(isCustodyError(error) ? { error: error.toRecord() } : {}) },
            run.key,
          );
        }
      }
    } catch (error) {
      if (isStopSignal(error)) throw error;
      const cause = isCustodyError(error) ? error.cause : error;
      const { status, message } = statusOf(cause);
      const body = cause instanceof KubernetesHttpError ? cause.body : '';
      const requestId = auditIdOfError(cause);
      await recorder.record(
        'checkpoint.unavailable',
        {
          node,
          container: container.name,
          ...(status !== undefined ? { httpStatus: status, meaning: explainCheckpointStatus(status, body) } : {}),
          response: (message ?? (isCustodyError(error) ? error.message : withoutUrlCredentials(String(error)))).slice(0, 500),
          ...(requestId ? { requestId } : {}),
        },
        run.key,
      );
    }
  }
}
