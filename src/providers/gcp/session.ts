/**
 * One run's GCP session for a case: the credential broker (a token per target project, recorded
 * in the run's recorder), the Compute clients on those tokens, the batched operation waiter, the
 * call options every call uses, and the run's disk claims.
 */
import type { CaseRecorder } from '../../core/ports.js';
import { attributionHeaders, type Attribution } from './attribution.js';
import { callGcp, DEFAULT_GCP_RETRY, type RetryPolicy } from './call-gcp.js';
import { createComputeClients, type ComputeClients } from './clients.js';
import type { GcpConfig } from './config.js';
import { GcpCredentialBroker, type ImpersonationRecord } from './credentials.js';
import { OperationWaiter } from './operation-waiter.js';
import type { GcpOperationName } from './operations.js';
import type { DiskSnapshotResult } from './snapshot.js';
import type { AuthClient } from 'google-auth-library';
import type { Sleep } from '../shared/stoppable-sleep.js';

export interface GcpSessionOptions {
  config: GcpConfig;
  recorder: CaseRecorder;
  version: string;
  sourceAuth?: AuthClient;
  /** The orchestrator's email when `sourceAuth` does not carry one. */
  orchestratorEmail?: string;
  retry?: Partial<RetryPolicy>;
  sleep?: Sleep;
  /** The run's signal: once it aborts (the first Ctrl-C), the session's waits end at once. */
  signal?: AbortSignal;
  /** Pause between wait rounds in which nothing finished (default: config gcp.operationPollMs, else 2 s). */
  waitIdleDelayMs?: number;
  /** Pause between snapshots.get polls for a snapshot not yet READY after its operation (default 5 s). */
  readyPollMs?: number;
  now?: () => number;
}

/** The pause between operation-wait rounds in which nothing finished, unless the config sets one. */
export const DEFAULT_OPERATION_POLL_MS = 2000;

export class GcpSession {
  readonly broker: GcpCredentialBroker;
  readonly waiter: OperationWaiter;
  readonly retry: RetryPolicy;
  readonly attribution: Attribution;
  private readonly clients = new Map<string, Promise<ComputeClients>>();
  /** Which target snapshots each disk in this run (by disk key), and its result: one snapshot per disk per case. */
  readonly diskClaims = new Map<string, { by: string; result: Promise<DiskSnapshotResult> }>();

  constructor(readonly options: GcpSessionOptions) {
    this.attribution = { caseId: options.recorder.caseId, version: options.version };
    this.retry = { ...DEFAULT_GCP_RETRY, ...options.retry };
    this.broker = new GcpCredentialBroker({
      config: options.config,
      ...(options.sourceAuth ? { sourceAuth: options.sourceAuth } : {}),
      ...(options.orchestratorEmail ? { orchestratorEmail: options.orchestratorEmail } : {}),
      attribution: this.attribution,
      ...(options.now ? { now: options.now } : {}),
      onImpersonated: async (record: ImpersonationRecord) => {
        await options.recorder.record('credentials.impersonated', { ...record });
      },
    });
    this.waiter = new OperationWaiter({
      wait: (name, project) =>
        this.call('waitGlobalOperation', project, `projects/${options.config.forensicsProject}/global/operations/${name}`, undefined, async (c, o) => {
          // The run's signal ends the long poll itself (google-gax call option), not only the loop.
          const [op] = await c.globalOperations.wait({ project: options.config.forensicsProject, operation: name }, { ...o, ...(options.signal ? { signal: options.signal } : {}) });
          return { name: op.name ?? name, status: String(op.status ?? ''), error: op.error ?? null, targetId: op.targetId == null ? null : String(op.targetId), user: op.user ?? null, endTime: op.endTime ?? null };
        }),
      idleDelayMs: options.waitIdleDelayMs ?? options.config.operationPollMs ?? DEFAULT_OPERATION_POLL_MS,
      ...(options.sleep ? { sleep: options.sleep } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  get config(): GcpConfig {
    return this.options.config;
  }

  /** The clients on the collector token of `project` (minting it on first use). */
  async clientsFor(project: string): Promise<ComputeClients> {
    let clients = this.clients.get(project);
    if (!clients) {
      clients = this.broker.collector(project).then((auth) => createComputeClients(this.options.config, auth));
      clients.catch(() => this.clients.delete(project));
      this.clients.set(project, clients);
    }
    const ready = await clients;
    // Renews the token in place when it is close to expiry (the clients hold the same auth client).
    await this.broker.collector(project);
    return ready;
  }

  /** Per-call options: the attribution headers (User-Agent prefix and request reason). */
  callOptions(evidenceId: string | undefined): { otherArgs: { headers: Record<string, string> } } {
    const headers = attributionHeaders(this.attribution, evidenceId);
    return { otherArgs: { headers: { 'User-Agent': headers['user-agent']!, 'x-goog-request-reason': headers['x-goog-request-reason']! } } };
  }

  /**
   * Makes one declared call with the collector token of `project`.
   *
   * @example
   * const [instance] = await session.call('getInstance', 'web-prod', name, evidenceId, (c, o) => c.instances.get(req, o));
   */
  async call<T>(
    op: GcpOperationName,
    project: string,
    resource: string,
    evidenceId: string | undefined,
    fn: (clients: ComputeClients, options: { otherArgs: { headers: Record<string, string> } }) => Promise<T>,
  ): Promise<T> {
    return callGcp(
      op,
      resource,
      {
        retry: this.retry,
        renewToken: async () => {
          await this.broker.collector(project, 'expired-token');
        },
        ...(this.options.sleep ? { sleep: this.options.sleep } : {}),
      },
      async () => fn(await this.clientsFor(project), this.callOptions(evidenceId)),
    );
  }

  async close(): Promise<void> {
    for (const clients of this.clients.values()) await (await clients.catch(() => undefined))?.close();
    this.clients.clear();
  }
}
