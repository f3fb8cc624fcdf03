/**
 * The collecting Azure provider (imports the Azure SDKs; module.ts loads this lazily). Per run of
 * a case: one set of identities (a credential per tenant) and clients, one correlation id for the
 * run's ARM requests.
 */
import { randomUUID } from 'node:crypto';
import type { CaseRecorder, CollectOptions, PlannedStep, Provider, ProviderContext, TargetOutcome } from '../../core/ports.js';
import type { ProviderServices } from '../../core/provider-module.js';
import type { Selector, Target } from '../../core/targets.js';
import { CustodyError } from '../../core/errors.js';
import { createAzureClients, type AzureClients } from './clients.js';
import { collectAzureTarget, type AzureRunContext, type DiskClaims } from './collect.js';
import { resolveAzureSelector } from './resolve-selector.js';
import type { AzureConfig } from './config.js';
import { createAzureIdentity, type IdentityDeps, type TokenRecord } from './identity.js';
import { planAzureTarget } from './plan.js';
import { isAzureSelectorValue, isAzureTargetValue, type AzureTarget } from './targets.js';
import { RunStates } from '../shared/run-state.js';
import { configuredScope } from '../shared/scope-words.js';
import { timerSleep, type Sleep } from '../shared/stoppable-sleep.js';

export interface AzureProviderDeps extends IdentityDeps {
  /** The pause of every wait loop (the run's signal ends it early); tests inject one. */
  sleep?: Sleep;
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
  const sleep = deps.sleep ?? timerSleep;
  const now = deps.now ?? Date.now;
  // One set of clients and disk claims per run of a case (shared/run-state.ts). Clients per run:
  // each run obtains its own tokens and observes ARM's and Storage's clocks, and records them
  // (credentials.obtained, clock.observed) in its own recorder, under its own correlation id; a
  // provider object reused for a later run hands that run neither the earlier one's tokens nor
  // its claims on disks, nor their results (a later run reads the earlier ones from the ledger).
  const runs = new RunStates((recorder) => ({
    clients: createRecordingClients(config, () => recorder, randomUUID(), deps),
    diskClaims: new Map() as DiskClaims,
  }));
  const contextFor = (ctx: ProviderContext): AzureRunContext => {
    const { clients, diskClaims } = runs.of(ctx.recorder, ctx.signal);
    return { recorder: ctx.recorder, clients, config, signal: ctx.signal, sleep, now, diskClaims };
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
      return resolveAzureSelector(contextFor(ctx), selector, ctx.searchIncomplete);
    },
    async collect(target: Target, ctx: ProviderContext): Promise<TargetOutcome> {
      if (!isAzureTargetValue(target)) throw new CustodyError('E_UNSUPPORTED', `the azure provider does not collect ${target.kind} targets`);
      return collectAzureTarget(contextFor(ctx), target as AzureTarget);
    },
    close: () => runs.close(),
  };
}
