/**
 * What a collection would do, touching nothing: for each target, its provider's steps, the API
 * calls and the permissions they need. Targets the providers would refuse are listed with why.
 */
import { checkSelector, checkTarget, effectiveOptions } from './orchestrator.js';
import type { CollectOptions, PermissionNeed, PlannedStep, Provider } from './ports.js';
import { selectorKey, targetIdentity, targetKey } from './targets.js';
import type { Selector, Target } from './targets.js';

export interface TargetPlan {
  target: string;
  provider?: string;
  scope?: string;
  /** Set when the target would be refused before any cloud call. */
  refused?: { code: string; reason: string };
  steps: PlannedStep[];
  /** Every API call, in order, with where it runs and whether it changes anything. */
  calls: Array<{ step: string; api: string; where: string; mutates: boolean }>;
  /** The distinct permissions the steps need. */
  permissions: PermissionNeed[];
  /**
   * Other named targets collect takes in this target's one run, in the order named: a container of
   * this pod, or another container of the same pod when the pod is not named. They have no plan
   * of their own, so each is listed here, with why.
   */
  alsoCollects?: Array<{ target: string; reason: string }>;
}

export interface SelectorPlan {
  selector: string;
  provider?: string;
  /** Set when collect would refuse the selector before anything is created (an unknown cluster). */
  refused?: { code: string; reason: string };
  /** Selectors are expanded only at collection time, by searching the cloud. */
  note: string;
}

export interface CollectionPlan {
  targets: TargetPlan[];
  selectors: SelectorPlan[];
  /** Union of every target's permissions. */
  permissions: PermissionNeed[];
}

export interface PlanCollectionInput {
  providers: readonly Provider[];
  targets: readonly Target[];
  selectors?: readonly Selector[];
  options: CollectOptions;
}

/** Plans a collection without any cloud call or write. */
export function planCollection(input: PlanCollectionInput): CollectionPlan {
  // The options collect would run with: what the config turns on (aws.hash) is planned too.
  const { options } = effectiveOptions(input.providers, input.options);
  const seen = new Set<string>();
  const named = new Set(input.targets.map(targetIdentity));
  // The first named part of each wider target that is not itself named: it takes the later parts.
  const firstParts = new Map<string, string>();
  // What each planned target takes with it, by its identity (as collect folds them: src/core/orchestrator.ts).
  const taken = new Map<string, Array<{ target: string; reason: string }>>();
  const take = (by: string, target: string, reason: string) => taken.set(by, [...(taken.get(by) ?? []), { target, reason }]);
  const targets: Array<TargetPlan & { identity: string }> = [];
  for (const target of input.targets) {
    const key = targetKey(target);
    const identity = targetIdentity(target);
    if (seen.has(identity)) continue;
    seen.add(identity);
    // A target another named target takes whole (a pod's container beside the pod), or that is
    // collected with an earlier part of the same wider target (another container of its pod), is planned with it.
    if (target.within !== undefined && named.has(target.within)) {
      take(target.within, key, `a part of ${target.within}, also named, which takes it whole`);
      continue;
    }
    const firstPart = target.within === undefined ? undefined : firstParts.get(target.within);
    if (firstPart !== undefined) {
      take(firstPart, key, `collected with it: both are parts of ${target.within}, which is collected once for both`);
      continue;
    }
    if (target.within !== undefined) firstParts.set(target.within, identity);
    const checked = checkTarget(input.providers, target);
    if (!checked.ok) {
      targets.push({
        identity,
        target: key,
        refused: { code: checked.error.code, reason: checked.error.message },
        steps: [],
        calls: [],
        permissions: [],
      });
      continue;
    }
    const steps = checked.provider.plan(target, options);
    targets.push({
      identity,
      target: key,
      provider: checked.provider.name,
      scope: checked.provider.scopeOf(target),
      steps,
      calls: steps.flatMap((step) =>
        step.calls.map((call) => ({ step: step.step, api: call.api, where: call.where, mutates: call.mutates })),
      ),
      permissions: uniquePermissions(steps.flatMap((step) => step.calls.flatMap((call) => call.permissions))),
    });
  }
  const selectors: SelectorPlan[] = (input.selectors ?? []).map((selector) => {
    const checked = checkSelector(input.providers, selector);
    if (!checked.ok) {
      const provider = input.providers.find((p) => p.handlesSelector(selector));
      return {
        selector: selectorKey(selector),
        ...(provider ? { provider: provider.name } : {}),
        refused: { code: checked.error.code, reason: checked.error.message },
        note: 'refused: collect would refuse this selector before anything is created',
      };
    }
    return {
      selector: selectorKey(selector),
      provider: checked.provider.name,
      note: `expanded at collection time by searching ${checked.provider.selectorScope?.(selector) ?? `${checked.provider.name}'s configured scope`}; each target found is then collected as planned above`,
    };
  });
  const plans = targets.map(({ identity, ...plan }): TargetPlan => {
    const also = taken.get(identity);
    return also ? { ...plan, alsoCollects: also } : plan;
  });
  return { targets: plans, selectors, permissions: uniquePermissions(plans.flatMap((t) => t.permissions)) };
}

/** Removes duplicate permissions (same action, resource and context). */
export function uniquePermissions(permissions: readonly PermissionNeed[]): PermissionNeed[] {
  const byKey = new Map<string, PermissionNeed>();
  for (const permission of permissions) {
    const key = JSON.stringify([permission.action, permission.resource, sortedContext(permission.context)]);
    if (!byKey.has(key)) byKey.set(key, permission);
  }
  return [...byKey.values()].sort((a, b) => a.action.localeCompare(b.action) || a.resource.localeCompare(b.resource));
}

function sortedContext(context: PermissionNeed['context']): Array<[string, unknown]> {
  return context ? Object.entries(context).sort(([a], [b]) => a.localeCompare(b)) : [];
}
