/**
 * Raw requests for what the generated client cannot do well: pod logs as a stream (the generated
 * `readNamespacedPodLog` buffers the whole log into a string) and the node proxy (its generated
 * method percent-encodes the `/` of the kubelet path). TLS and authentication still come from
 * the KubeConfig (`applyToHTTPSOptions`), so a refreshed EKS token is used here too.
 */
import { request as httpRequest } from 'node:http';
import type { IncomingMessage, RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { CustodyError } from '../../core/errors.js';
import { auditIdOf, KubernetesHttpError } from './call.js';

const MAX_ERROR_BODY = 16 * 1024;
/** A response that sends nothing for this long is abandoned (a stalled log must not hang the case). */
export const IDLE_TIMEOUT_MS = 120_000;

async function readCapped(res: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    const buf = chunk as Buffer;
    if (size < limit) chunks.push(buf.subarray(0, limit - size));
    size += buf.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Sends `method path?query` to the current cluster and resolves with the response once its
 * status is 2xx; the body is left unread so the caller can stream it. Any other status rejects
 * with `KubernetesHttpError` carrying (a capped copy of) the body.
 */
export async function requestKubernetes(
  kc: KubeConfig,
  method: 'GET' | 'POST',
  path: string,
  query: Record<string, string> = {},
  signal?: AbortSignal,
  idleTimeoutMs = IDLE_TIMEOUT_MS,
): Promise<IncomingMessage> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new CustodyError('E_CONFIG', 'the kubeconfig has no current cluster');
  const url = new URL(cluster.server.replace(/\/$/, '') + path);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const options: RequestOptions & Record<string, unknown> = {};
  await kc.applyToHTTPSOptions(options);
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = send(url, { ...options, method, ...(signal ? { signal } : {}) }, resolve);
    req.setTimeout(idleTimeoutMs, () => req.destroy(new Error(`no data from the API server for ${Math.round(idleTimeoutMs / 1000)} s`)));
    req.on('error', reject);
    req.end();
  });
  const status = res.statusCode ?? 0;
  if (status >= 200 && status < 300) return res;
  throw new KubernetesHttpError(status, await readCapped(res, MAX_ERROR_BODY), auditIdOf(res.headers));
}

/** The Audit-Id of a raw answer (see `auditIdOf`), for the entry that records it. */
export function requestIdOf(res: IncomingMessage): { requestId?: string } {
  const requestId = auditIdOf(res.headers);
  return requestId ? { requestId } : {};
}

/** Reads a (small) response body whole, capped. */
export function readBody(res: IncomingMessage, limit = 1024 * 1024): Promise<string> {
  return readCapped(res, limit);
}
