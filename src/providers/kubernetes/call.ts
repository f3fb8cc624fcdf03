/**
 * The one way the provider talks to an API server: every call names its declared operation
 * (operations.ts), and every failure becomes a `CustodyError` that says which verb on which
 * resource failed — without ever carrying request headers (the bearer token) into a message.
 */
import { CustodyError } from '../../core/errors.js';
import { withoutUrlCredentials } from '../../core/url-credentials.js';
import { describeOperation, K8S_OPERATIONS, roleFileOf } from './operations.js';
import type { KubernetesOperationName, KubernetesRoleName } from './operations.js';

/** A non-2xx answer seen outside the generated client (streams, the node proxy, exec). */
export class KubernetesHttpError extends Error {
  constructor(
    readonly status: number,
    /** The response body, at most a few KiB (a Status object or the kubelet's text). */
    readonly body: string,
    /** The answer's `Audit-Id` header. */
    readonly auditId?: string,
  ) {
    super(`HTTP ${status}`);
    this.name = 'KubernetesHttpError';
  }
}

/**
 * The `Audit-Id` header of an API server's answer: the id its audit log files the request under
 * (`auditID`), what an examiner matches a ledger entry against. kube-apiserver sends it with
 * every answer; fetch and node:http hand headers over with lower-case names.
 */
export function auditIdOf(headers: Record<string, string | string[] | undefined> | undefined): string | undefined {
  const value = headers?.['audit-id'] ?? headers?.['Audit-Id'];
  const id = Array.isArray(value) ? value[0] : value;
  return id ? id : undefined;
}

/**
 * The Audit-Id of the refusal behind `error`: client-node's ApiException, a raw answer, or a
 * refused exec upgrade (ws hands `onerror` an ErrorEvent wrapping the error, see exec-upgrade.ts).
 */
export function auditIdOfError(error: unknown): string | undefined {
  if (error instanceof KubernetesHttpError) return error.auditId;
  const e = error as { headers?: unknown; error?: { headers?: unknown } } | undefined;
  const headers = e?.headers ?? e?.error?.headers;
  return headers && typeof headers === 'object' ? auditIdOf(headers as Record<string, string>) : undefined;
}

/** The HTTP status and the server's own message from whatever the client threw. */
export function statusOf(error: unknown): { status?: number; message?: string; reason?: string } {
  if (error instanceof KubernetesHttpError) return { status: error.status, ...parseStatusBody(error.body) };
  const e = error as { code?: unknown; body?: unknown; message?: unknown };
  // client-node's ApiException: numeric `code`, `body` a Status object or its JSON text.
  if (typeof e?.code === 'number' && e.code >= 100 && e.code < 600) {
    const body = typeof e.body === 'string' ? parseStatusBody(e.body) : statusFields(e.body);
    return { status: e.code, ...body };
  }
  // ws refuses an upgrade with "Unexpected server response: 403".
  const match = typeof e?.message === 'string' ? /Unexpected server response: (\d{3})/.exec(e.message) : null;
  if (match) return { status: Number(match[1]) };
  return {};
}

function statusFields(body: unknown): { message?: string; reason?: string } {
  if (!body || typeof body !== 'object') return {};
  const b = body as { message?: unknown; reason?: unknown };
  return {
    // The API server's or kubelet's own text, recorded and printed: it may quote a URL it was given.
    ...(typeof b.message === 'string' ? { message: withoutUrlCredentials(b.message) } : {}),
    ...(typeof b.reason === 'string' ? { reason: b.reason } : {}),
  };
}

function parseStatusBody(text: string): { message?: string; reason?: string } {
  try {
    return statusFields(JSON.parse(text));
  } catch {
    const trimmed = text.trim().slice(0, 500);
    return trimmed ? { message: trimmed } : {};
  }
}

/** Where the grant a refusal lacks comes from: the shipped role's file, or the cluster itself. */
function whoGrants(role: KubernetesRoleName): string {
  const file = roleFileOf(role);
  return file
    ? `The ${role} role grants it (${file}; how to bind it: docs/kubernetes.md).`
    : `Every cluster grants it to authenticated users (${role}); check that the cluster's RBAC still does.`;
}

/**
 * Maps a failure of operation `name` on `resource` (`k8s:cluster/ns/pod`, `k8s:cluster/node/n`)
 * to a `CustodyError`: 403 → E_ACCESS_DENIED naming the verb and resource, 404/410 → E_NOT_FOUND,
 * 401 → E_CREDENTIALS, 429 → E_THROTTLED, 5xx and network failures → E_CLOUD (retryable).
 */
export function toKubernetesError(name: KubernetesOperationName, resource: string, error: unknown): CustodyError {
  if (error instanceof CustodyError) return error;
  const op = K8S_OPERATIONS[name];
  const action = `k8s:${describeOperation(op)}`;
  const { status, message, reason } = statusOf(error);
  const said = message ? `: ${message}` : '';
  const requestId = auditIdOfError(error);
  const base = { cause: error, action, resource, ...(requestId ? { requestId } : {}) };
  switch (true) {
    case status === 403:
      return new CustodyError(
        'E_ACCESS_DENIED',
        `Kubernetes refused ${describeOperation(op)} on ${resource}${said}. ${whoGrants(op.role)}`,
        base,
      );
    case status === 404 || status === 410:
      return new CustodyError('E_NOT_FOUND', `${resource} was not found (${describeOperation(op)}, HTTP ${status})${said}`, base);
    case status === 401:
      return new CustodyError('E_CREDENTIALS', `the API server did not accept the credentials for ${resource} (HTTP 401); check the cluster's kubeconfig or EKS access entry`, base);
    case status === 429:
      return new CustodyError('E_THROTTLED', `the API server throttled ${describeOperation(op)} on ${resource}${said}`, { ...base, retryable: true });
    case status !== undefined && status >= 500:
      return new CustodyError('E_CLOUD', `the API server failed ${describeOperation(op)} on ${resource} (HTTP ${status}${reason ? ` ${reason}` : ''})${said}`, { ...base, retryable: true });
    case status !== undefined:
      return new CustodyError('E_CLOUD', `${describeOperation(op)} on ${resource} was refused (HTTP ${status}${reason ? ` ${reason}` : ''})${said}`, base);
    default: {
      const text = error instanceof Error ? error.message.split('\n')[0] : String(error);
      return new CustodyError('E_CLOUD', `${describeOperation(op)} on ${resource} failed: ${text}`, { cause: error, action, resource, retryable: true });
    }
  }
}

/**
 * Runs one declared operation, mapping its failure.
 *
 * @example
 * const pod = await callKubernetes('readPod', 'k8s:prod/shop/web-1', () => core.readNamespacedPod({ name, namespace }));
 */
export async function callKubernetes<T>(name: KubernetesOperationName, resource: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw toKubernetesError(name, resource, error);
  }
}

/** An answer of the generated client with the request id it came with. */
export interface KubernetesAnswer<T> {
  value: T;
  /** The answer's Audit-Id; absent only from a server that sends none. */
  requestId?: string;
}

/**
 * `callKubernetes` for a generated client's `…WithHttpInfo` method: the answer and its Audit-Id,
 * for entries that record what the API server answered.
 *
 * @example
 * const { value: pod, requestId } = await callKubernetesAnswer('readPod', resource, () => core.readNamespacedPodWithHttpInfo({ name, namespace }));
 */
export async function callKubernetesAnswer<T>(name: KubernetesOperationName, resource: string, run: () => Promise<{ data: T; headers: Record<string, string> }>): Promise<KubernetesAnswer<T>> {
  const answer = await callKubernetes(name, resource, run);
  const requestId = auditIdOf(answer.headers);
  return requestId ? { value: answer.data, requestId } : { value: answer.data };
}
