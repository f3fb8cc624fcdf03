/**
 * Container logs, current and previous, with the kubelet's timestamps, streamed from the API
 * server straight into the case folder: the response is piped with backpressure and hashed while
 * written, so memory stays flat whatever the log's size.
 */
import { CustodyError } from '../../core/errors.js';
import { callKubernetes, statusOf } from './call.js';
import type { ContainerInfo, PodRun } from './pod-run.js';
import { freshName, safeName, storedBefore } from './pod-run.js';
import { requestIdOf, requestKubernetes } from './http-stream.js';

/** Whether the container has a previous (terminated) instance whose log the kubelet keeps. */
function hasPrevious(container: ContainerInfo): boolean {
  return (container.status?.restartCount ?? 0) > 0 || container.status?.lastState?.terminated !== undefined;
}

/** Whether the current instance ever started (a waiting container has no log yet). */
function hasStarted(container: ContainerInfo): boolean {
  const state = container.status?.state;
  return Boolean(state?.running || state?.terminated);
}

/** Streams one container's current (`previous` false) or previous log into the case. */
export async function streamContainerLog(run: PodRun, container: ContainerInfo, previous: boolean): Promise<void> {
  const { namespace, pod } = run.target;
  const { recorder } = run.ctx;
  const name = `log-${safeName(container.name)}${previous ? '-previous' : ''}.log`;
  if (previous ? !hasPrevious(container) : !hasStarted(container)) {
    await recorder.record('log.skipped', { container: container.name, previous, reason: previous ? 'the container has not restarted: no previous instance' : 'the container has not started: no log yet' }, run.key);
    return;
  }
  const earlier = storedBefore(run, name);
  if (earlier) {
    run.stored.push(earlier);
    return;
  }
  const query = { container: container.name, timestamps: 'true', follow: 'false', previous: String(previous) };
  const path = `/api/v1/namespaces/${namespace}/pods/${pod}/log`;
  let response;
  try {
    response = await callKubernetes('readPodLog', run.resource, () => requestKubernetes(run.access.kc, 'GET', path, query, run.ctx.signal));
  } catch (error) {
    // A previous instance the kubelet no longer keeps (garbage-collected) is a 400, not a failure.
    const cause = error instanceof CustodyError ? error.cause : undefined;
    const { status, message } = statusOf(cause);
    if (previous && status === 400) {
      await recorder.record('log.skipped', { container: container.name, previous, reason: `the kubelet keeps no previous log: ${message ?? 'HTTP 400'}` }, run.key);
      return;
    }
    throw error;
  }
  const { requestId } = requestIdOf(response);
  const stored = await callKubernetes('readPodLog', run.resource, () =>
    recorder.storeEvidence({
      evidenceId: run.evidenceId,
      name: freshName(run, name),
      kind: previous ? 'pod-log-previous' : 'pod-log',
      source: `${path}?${new URLSearchParams(query).toString()}`,
      content: response,
      mediaType: 'text/plain',
      target: run.key,
      cloudIds: {
        container: container.name,
        containerID: (previous ? container.status?.lastState?.terminated?.containerID : container.status?.containerID) ?? '',
        init: String(container.init),
      },
      ...(requestId ? { requestIds: [requestId] } : {}),
    }),
  );
  run.stored.push(stored.name);
}
