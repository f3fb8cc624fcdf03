/**
 * The SDK clients a case uses: one Compute client per target subscription, authenticated in that
 * subscription's tenant; one container client for the SOC evidence container under the SOC
 * identity. All share the request-id policy (one correlation id per run) and the CA option.
 */
import { ComputeManagementClient } from '@azure/arm-compute';
import { createComputeManagement, type ComputeManagementContext } from '@azure/arm-compute/api';
import { Agent } from 'node:https';
import type { TokenCredential } from '@azure/identity';
import { ContainerClient, newPipeline, type RequestPolicy, type RequestPolicyFactory } from '@azure/storage-blob';
import { CustodyError } from '../../core/errors.js';
import { recordBlobExchange, requestHeadersNow, requestIdPolicy } from './arm-call.js';
import type { AzureConfig } from './config.js';
import { ARM_SCOPE, clientTlsOptions, type AzureIdentity } from './identity.js';
import { clockPolicy, FirstDatedAnswer, type ClockObserver } from './service-clock.js';

export interface AzureClients {
  readonly correlationRequestId: string;
  /** The tenant a subscription belongs to (config), or `E_ACCOUNT_NOT_ALLOWED`. */
  tenantOf(subscriptionId: string): string;
  compute(subscriptionId: string): ComputeManagementClient;
  /** The same pipeline for paths the Compute client has no method for (a NIC). */
  rawArm(subscriptionId: string): ComputeManagementContext;
  /** ARM in the SOC subscription as the SOC identity (the one that writes evidence blobs). */
  socArm(): ComputeManagementContext;
  evidence(): ContainerClient;
}

// Few SDK retries: custody's own waits see and record each 429 (docs/research/azure.md §4.5).
const RETRY = { maxRetries: 2, retryDelayInMs: 1000, maxRetryDelayInMs: 30_000 };

/**
 * `observeClock` hears the first dated answer of ARM in each subscription and of the evidence
 * account's Blob Storage (service-clock.ts): once per subscription and run, not per client.
 */
export function createAzureClients(config: AzureConfig, identity: AzureIdentity, correlationRequestId: string, observeClock: ClockObserver = () => {}): AzureClients {
  const policy = { policy: requestIdPolicy(correlationRequestId), position: 'perRetry' as const };
  const armClocks = new Map<string, FirstDatedAnswer>();
  const optionsFor = (subscriptionId: string) => {
    const k = subscriptionId.toLowerCase();
    let clock = armClocks.get(k);
    if (!clock) {
      clock = new FirstDatedAnswer({ service: 'arm', subscriptionId }, observeClock);
      armClocks.set(k, clock);
    }
    return {
      endpoint: config.endpoints.resourceManager,
      credentials: { scopes: [ARM_SCOPE] },
      additionalPolicies: [policy, { policy: clockPolicy(clock), position: 'perRetry' as const }],
      retryOptions: RETRY,
      ...clientTlsOptions(config),
    };
  };
  const storageClock = new FirstDatedAnswer({ service: 'storage' }, observeClock);
  const tenants = new Map(config.subscriptions.map((s) => [s.subscriptionId.toLowerCase(), s.tenantId]));
  tenants.set(config.socSubscriptionId.toLowerCase(), config.socTenantId);
  const computes = new Map<string, ComputeManagementClient>();
  const raws = new Map<string, ComputeManagementContext>();
  let container: ContainerClient | undefined;
  let socRaw: ComputeManagementContext | undefined;
  const tenantOf = (subscriptionId: string) => {
    const tenant = tenants.get(subscriptionId.toLowerCase());
    if (!tenant) {
      throw new CustodyError('E_ACCOUNT_NOT_ALLOWED', `subscription ${subscriptionId} is not in azure.subscriptions: custody collects only from configured subscriptions`, {
        resource: `/subscriptions/${subscriptionId}`,
      });
    }
    return tenant;
  };
  return {
    correlationRequestId,
    tenantOf,
    compute(subscriptionId) {
      const k = subscriptionId.toLowerCase();
      let client = computes.get(k);
      if (!client) {
        client = new ComputeManagementClient(identity.forTenant(tenantOf(subscriptionId)), subscriptionId, optionsFor(subscriptionId));
        computes.set(k, client);
      }
      return client;
    },
    rawArm(subscriptionId) {
      const k = subscriptionId.toLowerCase();
      let client = raws.get(k);
      if (!client) {
        client = createComputeManagement(identity.forTenant(tenantOf(subscriptionId)), subscriptionId, optionsFor(subscriptionId));
        raws.set(k, client);
      }
      return client;
    },
    socArm() {
      socRaw ??= createComputeManagement(identity.soc, config.socSubscriptionId, optionsFor(config.socSubscriptionId));
      return socRaw;
    },
    evidence() {
      if (!container) {
        const pipeline = newPipeline(identity.soc as TokenCredential, { retryOptions: { maxTries: 3 } });
        pipeline.factories.push(blobExchangeFactory(config, storageClock));
        container = new ContainerClient(config.evidenceContainerUrl, pipeline);
      }
      return container;
    },
  };
}

/**
 * Storage's pipeline is the older kind (no `additionalPolicies`, no `tlsOptions`): a request
 * policy factory gives the same two things — the extra CA (through the request's agent) and the
 * request ids of each request's answer (Blob echoes `x-ms-client-request-id` and adds
 * `x-ms-request-id`; @azure/storage-blob 12.34 places such a factory outside its retry policy, so
 * an attempt it retried is not seen, only the last),
 * and Storage's clock from the first dated answer. It also adds the headers `withRequestHeaders`
 * asks for (a condition an SDK method drops).
 */
function blobExchangeFactory(config: AzureConfig, clock: FirstDatedAnswer): RequestPolicyFactory {
  const ca = clientTlsOptions(config).tlsOptions?.ca;
  const agent = ca ? new Agent({ ca, keepAlive: true }) : undefined;
  return {
    create(next: RequestPolicy): RequestPolicy {
      return {
        async sendRequest(request) {
          if (agent) request.agent = agent;
          for (const [name, value] of Object.entries(requestHeadersNow())) request.headers.set(name, value);
          const sentAt = Date.now();
          const answered = async (status: number, header: (name: string) => string | undefined) => {
            recordBlobExchange(request.method, request.url, status, header);
            await clock.sample({ method: request.method, url: request.url, header: (name) => request.headers.get(name) }, { status, header }, sentAt);
          };
          let response: Awaited<ReturnType<RequestPolicy['sendRequest']>>;
          try {
            response = await next.sendRequest(request);
          } catch (error) {
            // Storage's refusals come back as errors from the policies inside this one: their
            // answer (status, x-ms-request-id) is the record of what Storage refused.
            const refusal = (error as { response?: { status?: number; headers?: { get?: (name: string) => string | undefined } } }).response;
            if (typeof refusal?.status === 'number' && typeof refusal.headers?.get === 'function') await answered(refusal.status, (name) => refusal.headers!.get!(name));
            throw error;
          }
          await answered(response.status, (name) => response.headers.get(name));
          return response;
        },
      };
    },
  };
}
