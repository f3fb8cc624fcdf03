/**
 * How a provider records a selector's search, one scope at a time (an AWS account in a region, an
 * Azure subscription, a GCP project, a Kubernetes namespace), the same way for every cloud:
 *
 * - `selector.searched` (target = the selector) — one scope answered: `selector`, `provider`,
 *   `where` (the scope in words), `scope` (its fields, as the provider names them), `found` (the
 *   provider's ids of what matched), `requestIds` (the provider's, empty where it gives none), and
 *   what the provider adds (the filters it sent).
 * - `step.failed` with step `resolve-selector` (target = the selector) — one scope could not be
 *   searched: the same `selector`, `provider`, `where`, `scope`, the `error` record and what the
 *   provider adds (its exchanges). The other scopes still count.
 *
 * `selector.resolved` is the orchestrator's alone: the targets the whole selector came to. When
 * every scope failed, the search ends with the first failure and the orchestrator records
 * `selector.failed` for the selector. Cloud-free: a scope's fields are whatever the provider
 * passes.
 */
import type { CaseRecorder } from './ports.js';
import type { CustodyError } from './errors.js';
import { LEDGER_EVENTS } from './ledger-events.js';

/** The `step` of a scope's failed search. */
export const RESOLVE_SELECTOR_STEP = 'resolve-selector';

/** One place a selector is searched. */
export interface SearchScope {
  /** The scope in words, as the run's `unsearchedScopes` also says it: `account 111… in us-east-1`. */
  where: string;
  /** The scope's own fields: `{ account, region }`, `{ subscriptionId }`, `{ project }`, `{ cluster, namespace }`. */
  fields: Readonly<Record<string, string>>;
}

export interface ScopeAnswer {
  /** The provider's ids of what matched in this scope. */
  found: readonly string[];
  /** The provider's request ids for the search's calls; empty where it gives none. */
  requestIds: readonly string[];
  /** What else the provider records of the search (the filters sent, how many it examined). */
  detail?: Readonly<Record<string, unknown>>;
}

export interface SelectorSearch {
  /** Records one scope's answer (`selector.searched`). */
  searched(scope: SearchScope, answer: ScopeAnswer): Promise<void>;
  /** Records one scope that could not be searched (`step.failed`, step `resolve-selector`). */
  failed(scope: SearchScope, error: CustodyError, detail?: Readonly<Record<string, unknown>>): Promise<void>;
  /**
   * After every scope was tried: when each of `scopes` failed, throws the first one's error (in
   * the order given) — a search that did not run, not one that matched nothing; otherwise tells
   * the run, through `searchIncomplete`, each scope that failed.
   */
  finish(scopes: readonly SearchScope[]): void;
}

export interface SelectorSearchInput {
  recorder: CaseRecorder;
  /** The selector's key (`selectorKey`). */
  selector: string;
  /** The provider's name, as the orchestrator's `selector.resolved` records it. */
  provider: string;
  searchIncomplete?: (scope: string, code: string) => void;
}

export function startSelectorSearch(input: SelectorSearchInput): SelectorSearch {
  const { recorder, selector, provider } = input;
  const failures = new Map<string, CustodyError>();
  // The provider's own fields come first and the shared ones last, so neither can stand in for the other.
  const head = (scope: SearchScope) => ({ selector, provider, where: scope.where, scope: { ...scope.fields } });
  return {
    async searched(scope, answer) {
      await recorder.record(LEDGER_EVENTS.selectorSearched, { ...answer.detail, ...head(scope), found: [...answer.found], requestIds: [...answer.requestIds] }, selector);
    },
    async failed(scope, error, detail) {
      failures.set(scope.where, error);
      await recorder.record(LEDGER_EVENTS.stepFailed, { ...detail, step: RESOLVE_SELECTOR_STEP, ...head(scope), error: error.toRecord() }, selector);
    },
    finish(scopes) {
      const failed = scopes.filter((s) => failures.has(s.where));
      const first = failed[0];
      if (first && failed.length === scopes.length) throw failures.get(first.where);
      for (const scope of failed) input.searchIncomplete?.(scope.where, failures.get(scope.where)!.code);
    },
  };
}
