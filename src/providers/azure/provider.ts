/**
 * The collecting Azure provider (imports the Azure SDKs; module.ts loads this lazily). One per
 * case: one set of identities (a credential per tenant) and clients, one correlation id for the
 * run's ARM requests.
 */
import { randomUUID } from 'node:crypto';
import type { CaseRecorder, CollectOptions, PlannedStep, Provider, ProviderContext, TargetOutcome } from '../../core/ports.js';
import type { ProviderServices } from '../../core/provider-module.js';
import type { Selector, Target } from '../../core/targets.js';
import { CustodyError } from '../../core/errors.js';
import { createAzureClients, type AzureClients } from './clients.js';
import { collectAzureTarget, resolveAzureSelector, type AzureRunContext, type DiskClaims } from './collect.js';
import type { AzureConfig } from './config.js';
import { createAzureIdentity, type IdentityDeps, type TokenRecord } from './identity.js';
import { planAzureTarget } from './plan.js';
import { isAzureSelectorValue, isAzureTargetValue, type AzureTarget } from './targets.js';
import { configuredScope } from '../shared/scope-words.js';

export interface AzureProviderDeps extends IdentityDeps {
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export function checkSubscription(config: AzureConfig, subscriptionId: string, what: string): void {
  if (!config.subscriptions.some((s) => s.subscriptionId.toLowerCase() === subscriptionId.toLowerCase())) {
    throw new CustodyError('E_ACCOUNT_NOT_ALLOWED', `${what}: subscription ${subscriptionId} is not in azure.subscriptions (custody collects only from configured subscriptions and their tenants)`, {
      resource: `/subscriptions/${subscriptionId}`,
    });
  }
}

/**
 * A case's identities and clients, wired to its ledger: every new token (`credentials.obtained`)
 * and the clocks of ARM and Storage, which date what the ledger copies from their answers
 * (`clock.observed`), are recorded in the case `recorderOf` names when they happen.
 */
export function createRecordingClients(config: AzureConfig, recorderOf: () => CaseRecorder | undefined, correlationRequestId: string, deps: IdentityDeps = {}, onToken?: (record: TokenRecord) => void): AzureClients {
  const identity = createAzureIdentity(config, async (record) => {
    onToken?.(record);
    await recorderOf()?.record('credentials.obtained', { provider: 'azure', ...record });
  }, deps);
  return createAzureClients(config, identity, correlationRequestId, async (observation) => {
    await recorderOf()?.record('clock.observed', { provider: 'azure', ...observation });
  });
}

export function createAzureProvider(config: AzureConfig, deps: AzureProviderDeps = {}, _services?: ProviderServices): Provider {
  let recorder: CaseRecorder | undefined;
  let clients: AzureClients | undefined;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = deps.now ?? Date.now;
  // One export per disk per case: every target of a run sees which disks the others took. Keyed
  // by the run's signal (runCollection makes one per run and hands it to every target and
  // selector of that run): a provider object reused for a later run of the case must not hand
  // that run the claims, and the results, of the one before.
  const diskClaims = new WeakMap<AbortSignal, DiskClaims>();
  const contextFor = (ctx: ProviderContext): AzureRunContext => {
    // Token claims go into the case that is collecting (one provider per case).
    recorder = ctx.recorder;
    clients ??= createRecordingClients(config, () => recorder, randomUUID(), deps);
    let claims = diskClaims.get(ctx.signal);
    if (!claims) diskClaims.set(ctx.signal, (claims = new Map()));
    return { recorder: ctx.recorder, clients, config, signal: ctx.signal, sleep, now, diskClaims: claims };
  };
  return {
    name: 'azure',
    handles: (target: Target) => isAzureTargetValue(target),
    handlesSelector: (selector: Selector) => isAzureSelectorValue(selector),
    validate(target: Target) {
      if (!isAzureTargetValue(target)) throw new CustodyError('E_UNSUPPORTED', `the azure provider does not collect ${target.kind} targets`);
      checkSubscription(config, target.resource.subscriptionId, target.key);
    },
    scopeOf: (target: Target) => (isAzureTargetValue(target) ? `azure:${target.resource.subscriptionId.toLowerCase()}` : `azure:${target.key}`),
    selectorScope: () => configuredScope('configured subscriptions', 'azure.subscriptions', config.subscriptions.map((s) => s.subscriptionId)),
    plan(target: Target, _options: CollectOptions): PlannedStep[] {
      return isAzureTargetValue(target) ? planAzureTarget(config, target) : [];
    },
    async resolveSelector(selector: Selector, ctx: ProviderContext): Promise<Target[]> {
      if (!isAzureSelectorValue(selector)) return [];
      return resolveAzureSelector(contextFor(ctx), selector);
    },
    async collect(target: Target, ctx: ProviderContext): Promise<TargetOutcome> {
      if (!isAzureTargetValue(target)) throw new CustodyError('E_UNSUPPORTED', `the azure provider does not collect ${target.kind} targets`);
      return collectAzureTarget(contextFor(ctx), target as AzureTarget);
    },
  };
}
