/**
 * Every ARM and Blob call goes through here, so that each one is attributable:
 * - `x-ms-client-request-id`: a fresh UUID per attempt, set by custody (core-rest-pipeline keeps a
 *   value already set — docs/research/azure.md §3) and recorded;
 * - `x-ms-correlation-request-id`: one per run, so the Activity Log's `correlationId` groups the
 *   run's writes;
 * - the answer's `x-ms-request-id` (and the correlation id ARM echoed) recorded beside it.
 * A pipeline policy placed per retry sees every attempt, including 429s the SDK retries and the
 * polls of long-running operations, and files it under the operation that is running
 * (AsyncLocalStorage), so the ledger can list every request of a step.
 * Errors become `CustodyError`s that name the action and scope Azure refused.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { CustodyError } from '../../core/errors.js';
import { AZURE_OPERATIONS, type AzureOperationName, type AzureScopeKind } from './operations.js';

/** One HTTP exchange, as recorded: no URL query (it may hold a SAS), no headers beyond the ids. */
export interface AzureExchange {
  method: string;
  /** Host and path only. */
  url: string;
  status?: number;
  clientRequestId: string;
  requestId?: string;
  correlationRequestId?: string;
  retryAfter?: string;
}

interface CallContext {
  operation: AzureOperationName;
  exchanges: AzureExchange[];
  /** Headers the requests made under `withRequestHeaders` carry (ones an SDK method drops). */
  headers?: Readonly<Record<string, string>>;
}

const current = new AsyncLocalStorage<CallContext>();

/** Strips the query (SAS tokens live there) and fragment from a URL for the record. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return url.split('?')[0] ?? '';
  }
}

/** The policy that stamps and records request ids. One per run (it carries the correlation id). */
export function requestIdPolicy(correlationRequestId: string): PipelinePolicy {
  return {
    name: 'custodyRequestIds',
    async sendRequest(request, next) {
      const clientRequestId = randomUUID();
      request.headers.set('x-ms-client-request-id', clientRequestId);
      request.headers.set('x-ms-correlation-request-id', correlationRequestId);
      const exchange: AzureExchange = { method: request.method, url: redactUrl(request.url), clientRequestId };
      current.getStore()?.exchanges.push(exchange);
      const response = await next(request);
      exchange.status = response.status;
      const requestId = response.headers.get('x-ms-request-id');
      if (requestId) exchange.requestId = requestId;
      const correlation = response.headers.get('x-ms-correlation-request-id');
      if (correlation) exchange.correlationRequestId = correlation;
      const retryAfter = response.headers.get('retry-after');
      if (retryAfter && response.status >= 400) exchange.retryAfter = retryAfter;
      return response;
    },
  };
}

/** Files a Blob exchange (ids read from the answer) under the running operation. */
export function recordBlobExchange(method: string, url: string, status: number, header: (name: string) => string | undefined): void {
  const exchange: AzureExchange = { method, url: redactUrl(url), status, clientRequestId: header('x-ms-client-request-id') ?? '' };
  const requestId = header('x-ms-request-id');
  if (requestId) exchange.requestId = requestId;
  current.getStore()?.exchanges.push(exchange);
}

export interface CallResult<T> {
  value: T;
  /** The JSON body exactly as Azure sent it (the SDK's models rename and drop fields). */
  raw: unknown;
  exchanges: AzureExchange[];
}

export interface CallOptions {
  requestOptions?: { headers?: Record<string, string> };
  onResponse?: (response: { parsedBody?: unknown; status: number }) => void;
  /** The run's stop signal, on a read only (`callAzure`'s `signal`): the SDK call ends when it aborts. */
  abortSignal?: AbortSignal;
}

/** What a failed call left behind: its exchanges, for the ledger. */
export function exchangesOf(error: unknown): AzureExchange[] {
  return (error as { exchanges?: AzureExchange[] })?.exchanges ?? [];
}

/**
 * Runs one declared operation. `fn` gets the options to pass to the SDK call (they capture the
 * raw body, and carry `signal` as the SDK's `abortSignal`). Resolves with the value, the raw JSON
 * and every exchange; rejects with a `CustodyError` that carries the exchanges too.
 *
 * `signal` (the run's stop signal) is for reads only — a wait loop's listing or status read, which
 * a stopped run may cut off with nothing lost. An operation that changes something is refused it:
 * cut off mid-flight, Azure may still make the change while the case never hears the answer, so
 * the ledger could not say what was done. Passing one is a programming error (E_INTERNAL).
 */
export async function callAzure<T>(operation: AzureOperationName, resource: string, fn: (options: CallOptions) => Promise<T>, call: { signal?: AbortSignal } = {}): Promise<CallResult<T>> {
  if (call.signal && AZURE_OPERATIONS[operation].mutates) {
    throw new CustodyError('E_INTERNAL', `${operation} changes something in Azure and is never given the run's stop signal: an answer cut off mid-flight could not be recorded`, { resource });
  }
  const context: CallContext = { operation, exchanges: [] };
  let raw: unknown;
  const options: CallOptions = {
    onResponse: (response) => {
      raw = response.parsedBody;
    },
    ...(call.signal ? { abortSignal: call.signal } : {}),
  };
  try {
    const value = await current.run(context, () => fn(options));
    return { value, raw, exchanges: context.exchanges };
  } catch (error) {
    throw failureOf(error, operation, resource, context.exchanges);
  }
}

/**
 * A failure of `operation` as a `CustodyError` that names Azure's code and the request id of its
 * last answer, carrying `exchanges` for the ledger (`exchangesOf`); for a call made outside
 * `callAzure`, such as an SDK poller polled later under `withOperation`.
 */
export function failureOf(error: unknown, operation: AzureOperationName, resource: string, exchanges: AzureExchange[]): CustodyError {
  const mapped = toCustodyError(error, operation, resource, exchanges);
  Object.assign(mapped, { exchanges });
  return mapped;
}

/**
 * Runs `fn`, inside a running operation, with `headers` on each of its requests (every attempt):
 * for a header the REST API takes and the SDK method drops. Only the Blob pipeline applies them
 * (`requestHeadersNow`); keep `fn` to the one call that takes them.
 */
export function withRequestHeaders<T>(headers: Readonly<Record<string, string>>, fn: () => Promise<T>): Promise<T> {
  const running = current.getStore();
  if (!running) throw new CustodyError('E_INTERNAL', 'withRequestHeaders runs only inside callAzure');
  return current.run({ ...running, headers }, fn);
}

/** The headers `withRequestHeaders` set for the request being sent, if any. */
export function requestHeadersNow(): Readonly<Record<string, string>> {
  return current.getStore()?.headers ?? {};
}

/** Runs `fn` with its exchanges filed under `operation` (for SDK pollers polled later). */
export function withOperation<T>(operation: AzureOperationName, exchanges: AzureExchange[], fn: () => Promise<T>): Promise<T> {
  return current.run({ operation, exchanges }, fn);
}

interface RestLikeError {
  statusCode?: number;
  code?: string;
  message?: string;
  details?: { error?: { code?: string; message?: string }; code?: string; message?: string };
}

/** Azure's `{error: {code, message}}`, wherever the SDK put it. */
function azureError(error: RestLikeError): { code?: string; message: string } {
  const details = error.details;
  const inner = details?.error ?? details;
  return { code: inner?.code ?? error.code, message: inner?.message ?? error.message ?? String(error) };
}

/**
 * Target-side scopes whose permissions the Collector Discovery role grants (assigned at the
 * subscription or a management group above it): subscription-wide reads, and network interfaces,
 * which carry no tag for Azure Policy to assign the collector role at. Every other target-side
 * scope (a tagged VM or disk, the staging group) is the Cloud Custody Collector role's.
 * policies/azure holds each role to this (refusal-hints.test.ts).
 */
const DISCOVERY_SCOPES: ReadonlySet<AzureScopeKind> = new Set(['subscription', 'nic']);

/**
 * The role assignment a refusal of `operation` is decided by, named as policies/azure names the
 * role: the collector's or its discovery role in a target subscription, or the SOC identity's
 * evidence roles at the evidence container.
 */
function whoseAssignment(operation: AzureOperationName): string {
  const { side, permissions } = AZURE_OPERATIONS[operation];
  if (side === 'target' && permissions.some((p) => DISCOVERY_SCOPES.has(p.scope))) {
    return 'the Cloud Custody Collector Discovery role assignment at that subscription (or the management group above it)';
  }
  if (side === 'target') return 'the Cloud Custody Collector role assignment at that scope';
  const role = operation === 'sealEvidence' ? 'Cloud Custody Evidence Sealer' : 'Cloud Custody Evidence Writer';
  return `the ${role} role assignment of the SOC identity at the evidence container`;
}

export function toCustodyError(error: unknown, operation: AzureOperationName, resource: string, exchanges: AzureExchange[]): CustodyError {
  if (error instanceof CustodyError) return error;
  const e = error as RestLikeError;
  const { code, message } = azureError(e);
  const requestId = [...exchanges].reverse().find((x) => x.requestId)?.requestId;
  const declared = AZURE_OPERATIONS[operation].permissions[0]?.action;
  const base = { cause: error, resource, ...(requestId ? { requestId } : {}) };
  const status = e.statusCode;
  if (status === 403) {
    // ARM names the refused action and scope in the message; keep Azure's own words for both.
    const linked = /does not have permission to perform action(?:\(s\))? '([^']+)' on the linked scope\(s\) '([^']+)'/.exec(message);
    const direct = /perform action '([^']+)' over scope '([^']+)'/.exec(message);
    const action = linked?.[1] ?? direct?.[1] ?? declared;
    const scope = linked?.[2] ?? direct?.[2] ?? resource;
    return new CustodyError('E_ACCESS_DENIED', `Azure refused ${action} on ${scope} (${code ?? 'Forbidden'}). Check ${whoseAssignment(operation)} (docs/deploy-azure.md).`, {
      ...base,
      action,
      resource: scope,
    });
  }
  if (status === 401) return new CustodyError('E_CREDENTIALS', `Azure did not accept the token for ${resource} (${code ?? 'Unauthorized'}): ${message}`, base);
  if (status === 404) return new CustodyError('E_NOT_FOUND', `${resource} was not found (${code ?? 'NotFound'})`, base);
  if (status === 429) return new CustodyError('E_THROTTLED', `Azure kept throttling ${operation} on ${resource} after retries (${code ?? 'TooManyRequests'})`, { ...base, retryable: true });
  if (status === 409) return new CustodyError('E_CLOUD', `Azure refused ${operation} on ${resource}: conflict (${code ?? 'Conflict'}): ${message}`, { ...base, retryable: true });
  return new CustodyError('E_CLOUD', `${operation} on ${resource} failed${status ? ` (HTTP ${status}${code ? ` ${code}` : ''})` : ''}: ${message.split('\n')[0]}`, base);
}
