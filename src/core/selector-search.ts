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
import { CustodyError, isCustodyError, isStopSignal } from './errors.js';
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
  /**
   * Searches one scope and records how it went. `search` answers with what the scope held: it is
   * recorded (`selector.searched`) and returned. When `search` throws, the failure is recorded
   * (`step.failed`, step `resolve-selector`, with the error record, its request id among it, and
   * the provider's `failureDetail`), remembered for `finish`, and `undefined` is returned: the
   * other scopes still count. The stop signal (`E_LEDGER`), and any failure once the run's signal
   * is aborted, are the run ending, not a scope that failed: they are thrown as they came.
   */
  scope<A extends ScopeAnswer>(scope: SearchScope, search: () => Promise<A>): Promise<A | undefined>;
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
  /** The run's stop (Ctrl-C, SIGTERM): a call it cut short says nothing about the scope. */
  signal?: AbortSignal | undefined;
  /**
   * The words of a failure that is not already a `CustodyError` (recorded as `E_CLOUD`), when the
   * provider reads its own errors better than their `message` (AWS's error text).
   */
  describeError?: (error: unknown) => string;
  /** What the provider adds to a failed scope's entry (Azure's exchanges). */
  failureDetail?: (error: unknown) => Readonly<Record<string, unknown>>;
}

export function startSelectorSearch(input: SelectorSearchInput): SelectorSearch {
  const { recorder, selector, provider } = input;
  const failures = new Map<string, CustodyError>();
  const describe = input.describeError ?? ((error: unknown) => String((error as Error)?.message ?? error));
  // The provider's own fields come first and the shared ones last, so neither can stand in for the other.
  const head = (scope: SearchScope) => ({ selector, provider, where: scope.where, scope: { ...scope.fields } });
  return {
    async scope(scope, search) {
      try {
        const answer = await search();
        await recorder.record(LEDGER_EVENTS.selectorSearched, { ...answer.detail, ...head(scope), found: [...answer.found], requestIds: [...answer.requestIds] }, selector);
        return answer;
      } catch (raw) {
        if (isStopSignal(raw) || input.signal?.aborted) throw raw;
        const error = isCustodyError(raw) ? raw : new CustodyError('E_CLOUD', describe(raw), { cause: raw });
        failures.set(scope.where, error);
        await recorder.record(LEDGER_EVENTS.stepFailed, { ...input.failureDetail?.(raw), step: RESOLVE_SELECTOR_STEP, ...head(scope), error: error.toRecord() }, selector);
        return undefined;
      }
    },
    finish(scopes) {
      const failed = scopes.filter((s) => failures.has(s.where));
      const first = failed[0];
      if (first && failed.length === scopes.length) throw failures.get(first.where);
      for (const scope of failed) input.searchIncomplete?.(scope.where, failures.get(scope.where)!.code);
    },
  };
}
