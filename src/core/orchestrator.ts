/**
 * Runs a collection: validates every target before any cloud call, resolves selectors, collects
 * targets concurrently (limited per scope and overall), follows the targets they discover, and
 * returns one outcome per target. A failing target is an outcome, never an exception; only a
 * ledger failure stops the run, because evidence taken without a record is worse than none.
 */
import { setMaxListeners } from 'node:events';
import { CustodyError, isStopSignal } from './errors.js';
import type { CoreConfig } from './config.js';
import { createScopedScheduler } from './concurrency.js';
import { createBackgroundLane } from './background.js';
import { collectTarget, contextFor, interruptedOutcome } from './collect.js';
import { collectedInEarlierRuns, earlierAdmissions, type TargetParser } from './earlier-runs.js';
import { summarizeOutcomes, toCustodyError } from './outcomes.js';
import type { OutcomeSummary } from './outcomes.js';
import type { CaseRecorder, CollectOptions, ProgressSink, Provider, TargetOutcome } from './ports.js';
import { LEDGER_EVENTS } from './ledger-events.js';
import { selectorKey, targetIdentity, targetKey } from './targets.js';
import type { Selector, Target } from './targets.js';

export interface RunCollectionInput {
  config: Pick<CoreConfig, 'concurrency'>;
  providers: readonly Provider[];
  /** Parses the keys earlier runs recorded back into targets and selectors: the registry. */
  parser: TargetParser;
  recorder: CaseRecorder;
  /**
   * Targets named explicitly (already parsed). Targets earlier runs of the case admitted are
   * always added (a resume finishes what they left); with no targets and no selectors at all, a
   * resumed case also re-resolves the selectors earlier runs were given.
   */
  targets: readonly Target[];
  selectors?: readonly Selector[];
  options: CollectOptions;
  progress?: ProgressSink;
  /** Aborting stops new targets from starting and is passed on to the ones running. */
  signal?: AbortSignal;
  /**
   * A target whose failure is retryable (throttling or a 5xx that outlived the SDK's own
   * retries) is collected again, up to `attempts` more times, after `delayMs` doubling each time.
   * Default: 2 more attempts, from 2 s.
   */
  retry?: TargetRetry;
}

/** More attempts allowed after a retryable failure, and the first pause before one (doubling). */
export interface TargetRetry {
  attempts: number;
  delayMs: number;
}

export interface CollectionResult {
  /** One per target (and per selector that could not be resolved), in the order they were queued. */
  outcomes: TargetOutcome[];
  summary: OutcomeSummary;
  /**
   * Present when the run ended with no target at all (every selector searched matched nothing or
   * its search failed, and the case holds no target from earlier runs): the selectors searched,
   * and `failedSearches`, those whose search failed or could not run, with the error code. The
   * case has nothing to close: the caller leaves it open for a resume (a corrected selector, or
   * the same one once its search can succeed).
   */
  nothingSelected?: NothingSelected;
  /**
   * The scopes a selector's search could not look in while it answered elsewhere, in the order
   * the provider met them; absent when there were none. Whatever the run found, a target there
   * is not in the case: the caller says so, not only the ledger (each is a failure entry of the
   * provider's). Also in `nothingSelected` when the run selected nothing.
   */
  unsearchedScopes?: UnsearchedScope[];
}

export interface NothingSelected {
  selectors: string[];
  /** The selectors whose search failed (or no provider could run), in order; absent when none did. */
  failedSearches?: FailedSearch[];
  /**
   * The scopes a selector's search could not look in while it answered elsewhere (found nothing
   * there), in the order the provider met them; absent when there were none. Not in the ledger's
   * `collection.nothing-selected`: each is already a failure entry of the provider's own.
   */
  unsearchedScopes?: UnsearchedScope[];
}

/** One scope (an account and region, a subscription, a project) a selector's search could not look in. */
export interface UnsearchedScope {
  selector: string;
  scope: string;
  code: string;
}

/** A selector whose search failed: its key and the error code that ended it. */
export interface FailedSearch {
  selector: string;
  code: string;
}

/** Every collection option off: the least intrusive run. */
export const DEFAULT_COLLECT_OPTIONS: CollectOptions = {
  preserve: false,
  isolate: false,
  screenshot: false,
  includeEnv: false,
  retrieveCheckpoint: false,
};

export const DEFAULT_TARGET_RETRY: Readonly<TargetRetry> = { attempts: 2, delayMs: 2_000 };

/**
 * The options a run actually collects with: those given (flags, the library's options) with
 * every option a provider's config section turns on (`aws.hash`) on too, and which config field
 * turned each of those on (only the options the caller did not give on themselves).
 */
export function effectiveOptions(providers: readonly Provider[], given: CollectOptions): { options: CollectOptions; fromConfig: Record<string, string> } {
  const options: Record<string, boolean | string | undefined> = { ...given };
  const fromConfig: Record<string, string> = {};
  for (const provider of providers) {
    for (const [option, field] of Object.entries(provider.optionsFromConfig?.() ?? {})) {
      if (options[option] === true) continue;
      options[option] = true;
      fromConfig[option] = field;
    }
  }
  return { options, fromConfig };
}

/** The first provider that handles `target`, or undefined. */
export function findProvider(providers: readonly Provider[], target: Target): Provider | undefined {
  return providers.find((provider) => provider.handles(target));
}

/**
 * Checks a target without touching a cloud: a provider must handle it and accept it.
 * Returns the provider, or the `CustodyError` that refuses the target.
 */
export function checkTarget(
  providers: readonly Provider[],
  target: Target,
): { ok: true; provider: Provider } | { ok: false; error: CustodyError } {
  const provider = findProvider(providers, target);
  if (!provider) {
    return {
      ok: false,
      error: new CustodyError(
        'E_UNSUPPORTED',
        `no configured provider collects ${targetKey(target)} (is the ${target.provider} section of the config present?)`,
        { resource: targetKey(target) },
      ),
    };
  }
  try {
    provider.validate(target);
    return { ok: true, provider };
  } catch (error) {
    return { ok: false, error: toCustodyError(error) };
  }
}

/**
 * Checks a selector without touching a cloud: a provider must resolve it and accept it (a
 * Kubernetes selector names a configured cluster). Returns the provider, or the refusal.
 */
export function checkSelector(
  providers: readonly Provider[],
  selector: Selector,
): { ok: true; provider: Provider } | { ok: false; error: CustodyError } {
  const key = selectorKey(selector);
  const provider = providers.find((p) => p.handlesSelector(selector));
  if (!provider) {
    return { ok: false, error: new CustodyError('E_UNSUPPORTED', `no configured provider resolves the selector ${key}`, { resource: key }) };
  }
  try {
    provider.validateSelector?.(selector);
    return { ok: true, provider };
  } catch (error) {
    return {
      ok: false,
      error: error instanceof CustodyError ? error : new CustodyError('E_INPUT', `selector ${key}: ${(error as Error).message}`, { resource: key }),
    };
  }
}

/**
 * Collects every target into the case behind `recorder`.
 *
 * Ledger entries it writes (providers add their own between them):
 * - `collection.started` — `targets`, `selectors`, `options` (as the run uses them: the config's
 *   defaults included), `optionsFromConfig?` (option → the config field that turned it on),
 *   `concurrency`, and on a resume
 *   `fromEarlierRuns: { targets, selectors }` (taken up from the ledger, not named this run)
 * - `target.refused` (target) — refused before any cloud call: `reason`, `error`, `from?`
 * - `selector.resolved` — `selector`, `provider`, `targets`: the whole selector's resolution (the
 *   provider records each scope it searched before it: src/core/selector-search.ts);
 *   `selector.refused` / `selector.failed` — `selector`, `reason`, `error`
 * - `target.discovered` (target) — found while collecting another: `from`
 * - `target.covered` (target) — another target of the run takes it whole (its pod): `coveredBy`, `reason`;
 *   or it is collected with another part of the same wider target (a container beside another
 *   container of its pod): also `within`
 * - `target.skipped` (target) — an earlier run of the case collected it: `reason`, `evidenceIds`
 * - `target.requeued` (target) — a retryable failure, tried again: `attempt`, `status`,
 *   `reason?`, `error?`, `delayMs`
 * - `target.completed` (target) — `status`, `reason?`, `error?`, `evidenceIds`, `followUps?`, `attempts?`
 * - `collection.finished` or `collection.interrupted` — the counts per status; or
 *   `collection.nothing-selected` — the counts, `selectors` and `failedSearches?` (`selector`,
 *   `code` of each search that failed): no target at all was selected, named or taken up from
 *   earlier runs, because the searches matched nothing or failed (the case is left open)
 *
 * @example
 * const { outcomes } = await runCollection({ config, providers, recorder, targets: [parseTarget(arn)],
 *   options: DEFAULT_COLLECT_OPTIONS });
 */
export async function runCollection(input: RunCollectionInput): Promise<CollectionResult> {
  const { config, providers, recorder } = input;
  // What collection.started records is what the providers run with: the config's defaults included.
  const { options, fromConfig } = effectiveOptions(providers, input.options);
  const earlier = earlierAdmissions(recorder.entries(), input.parser);
  const continuing = input.targets.length === 0 && (input.selectors ?? []).length === 0;
  const named = new Set(input.targets.map(targetKey));
  const earlierTargets = earlier.targets.filter((t) => !named.has(targetKey(t)));
  const givenSelectors = input.selectors ?? [];
  const earlierSelectors = continuing ? earlier.selectors : [];
  const selectors = [...givenSelectors, ...earlierSelectors];
  const progress: ProgressSink = input.progress ?? (() => {});
  const outer = input.signal;
  const controller = new AbortController();
  // Every running target listens to this one signal: hundreds of listeners are expected.
  setMaxListeners(0, controller.signal);
  const onOuterAbort = () => controller.abort(outer?.reason);
  if (outer?.aborted) controller.abort(outer.reason);
  else outer?.addEventListener('abort', onOuterAbort, { once: true });
  const signal = controller.signal;

  try {
    const fromEarlierRuns =
      earlierTargets.length > 0 || earlierSelectors.length > 0
        ? { fromEarlierRuns: { targets: earlierTargets.map(targetKey), selectors: earlierSelectors.map(selectorKey) } }
        : {};
    await recorder.record('collection.started', {
      targets: input.targets.map(targetKey),
      selectors: givenSelectors.map(selectorKey),
      ...fromEarlierRuns,
      options: { ...options },
      ...(Object.keys(fromConfig).length > 0 ? { optionsFromConfig: fromConfig } : {}),
      concurrency: { perScope: config.concurrency.perScope, total: config.concurrency.total },
    });

    const outcomes: TargetOutcome[] = [];
    const seen = new Set<string>();
    const previouslyCollected = collectedInEarlierRuns(recorder.entries(), input.parser);
    const accepted: Array<{ target: Target; provider: Provider }> = [];
    // Selectors whose search did not run to an answer: each is also a failed outcome.
    const failedSearches: FailedSearch[] = [];
    const unsearchedScopes: UnsearchedScope[] = [];

    // Refuse bad targets before anything reaches a cloud, and record why.
    const admit = async (
      target: Target,
      from?: string,
      discovered = false,
    ): Promise<{ target: Target; provider: Provider } | undefined> => {
      const key = targetKey(target);
      if (seen.has(targetIdentity(target))) return undefined;
      seen.add(targetIdentity(target));
      if (discovered) await recorder.record('target.discovered', { from }, key);
      const checked = checkTarget(providers, target);
      if (!checked.ok) {
        const error = checked.error;
        await recorder.record('target.refused', { reason: error.message, error: error.toRecord(), ...(from ? { from } : {}) }, key);
        progress({ target: key, step: 'validate', state: 'failed', detail: error.message });
        outcomes.push({ target: key, status: 'failed', reason: error.message, error: error.toRecord(), evidenceIds: [] });
        return undefined;
      }
      return { target, provider: checked.provider };
    };

    const admitInto = async (target: Target, from?: string): Promise<void> => {
      const admitted = await admit(target, from);
      if (admitted) accepted.push(admitted);
    };
    // What the case already holds comes first: a target an earlier run admitted never drops out.
    for (const target of earlierTargets) await admitInto(target);
    for (const target of input.targets) await admitInto(target);

    for (const selector of selectors) {
      const key = selectorKey(selector);
      const provider = providers.find((p) => p.handlesSelector(selector));
      if (!provider) {
        const error = new CustodyError('E_UNSUPPORTED', `no configured provider resolves the selector ${key}`, { resource: key });
        await recorder.record(LEDGER_EVENTS.selectorRefused, { selector: key, reason: error.message, error: error.toRecord() });
        outcomes.push({ target: key, status: 'failed', reason: error.message, error: error.toRecord(), evidenceIds: [] });
        failedSearches.push({ selector: key, code: error.code });
        continue;
      }
      progress({ step: 'resolve', state: 'started', detail: key });
      // Kept only if the search answers: a selector that failed outright is a failed search.
      const unsearched: UnsearchedScope[] = [];
      const searchIncomplete = (scope: string, code: string) => void unsearched.push({ selector: key, scope, code });
      try {
        const found = await provider.resolveSelector(selector, { ...contextFor(recorder, progress, options, signal, undefined), searchIncomplete });
        unsearchedScopes.push(...unsearched);
        await recorder.record(LEDGER_EVENTS.selectorResolved, { selector: key, provider: provider.name, targets: found.map(targetKey) });
        progress({ step: 'resolve', state: 'done', detail: `${key}: ${found.length} target(s)` });
        for (const target of found) await admitInto(target, key);
      } catch (error) {
        if (isStopSignal(error)) throw error;
        const failure = toCustodyError(error);
        await recorder.record(LEDGER_EVENTS.selectorFailed, { selector: key, reason: failure.message, error: failure.toRecord() });
        progress({ step: 'resolve', state: 'failed', detail: `${key}: ${failure.message}` });
        outcomes.push({ target: key, status: 'failed', reason: failure.message, error: failure.toRecord(), evidenceIds: [] });
        failedSearches.push({ selector: key, code: failure.code });
      }
    }

    // A target another admitted target takes whole (a pod's container beside the pod) folds into it.
    for (const { target } of coveredTargets(accepted)) {
      accepted.splice(accepted.findIndex((a) => a.target === target), 1);
      await recorder.record('target.covered', { coveredBy: target.within, reason: `collected as part of ${target.within}, also a target of this run, which takes it whole` }, targetKey(target));
    }
    // Targets that are parts of one wider target the run does not name (two containers of one pod)
    // are collected together, by the first of them: the wider one's own steps run once.
    for (const { first, others } of partsTogether(accepted, previouslyCollected)) {
      const at = accepted.findIndex((a) => a.target === first);
      accepted[at] = { ...accepted[at]!, target: { ...first, alongside: others } };
      for (const other of others) {
        accepted.splice(accepted.findIndex((a) => a.target === other), 1);
        await recorder.record('target.covered', { coveredBy: targetKey(first), within: first.within, reason: `collected with ${targetKey(first)}: both are parts of ${first.within}, which is collected once for both` }, targetKey(other));
      }
    }

    const scheduler = createScopedScheduler(config.concurrency);
    let fatal: unknown;
    const running = new Set<Promise<void>>();

    // Called synchronously where the failure happens, so no queued target starts after it.
    const stopEverything = (error: unknown): void => {
      if (fatal !== undefined) return;
      fatal = error;
      controller.abort(error);
      scheduler.cancelQueued(CANCELLED);
    };

    // Work that does not decay yields to targets still requesting snapshots (src/core/background.ts).
    const lane = createBackgroundLane({ busy: () => scheduler.active > 0 || scheduler.queued > 0, ...BACKGROUND_LIMITS });
    const background = <T>(work: () => Promise<T>): Promise<T> => lane.run(work);
    const run = { recorder, progress, options, signal, retry: input.retry ?? DEFAULT_TARGET_RETRY, previouslyCollected, background };
    // The admission slot bounds the request phase only: a provider hands it back through
    // `requested` once its snapshots are requested, and waits for the cloud outside it.
    const collectOne = async (target: Target, provider: Provider, release: () => void): Promise<TargetOutcome> => {
      const requested = () => {
        release();
        lane.poke();
      };
      try {
        return await collectTarget(target, provider, { ...run, requested });
      } catch (error) {
        stopEverything(error);
        throw error;
      }
    };

    const schedule = (target: Target, provider: Provider): void => {
      const key = targetKey(target);
      const slot = outcomes.length;
      outcomes.push(interruptedOutcome(key)); // replaced when the target finishes
      const task = scheduler
        .run(provider.scopeOf(target), (requested) => collectOne(target, provider, requested))
        .then(async (outcome) => {
          outcomes[slot] = outcome;
          for (const next of outcome.followUps ?? []) {
            if (fatal !== undefined || signal.aborted) break;
            const admitted = await admit(next, key, true);
            if (admitted) schedule(admitted.target, admitted.provider);
          }
        })
        .catch((error: unknown) => {
          if (!isExpectedCancel(error)) stopEverything(error);
        })
        .finally(() => lane.poke());
      running.add(task);
      void task.finally(() => running.delete(task));
    };

    for (const { target, provider } of accepted) schedule(target, provider);
    const onAbort = () => scheduler.cancelQueued(CANCELLED);
    signal.addEventListener('abort', onAbort, { once: true });
    while (running.size > 0) await Promise.allSettled([...running]);
    signal.removeEventListener('abort', onAbort);
    if (fatal !== undefined) throw fatal;

    const summary = summarizeOutcomes(outcomes);
    // Not in the ledger's closing entries: each unsearched scope is already the provider's `step.failed` (step `resolve-selector`).
    const unsearched = unsearchedScopes.length > 0 ? { unsearchedScopes } : undefined;
    if (!signal.aborted && outcomes.length === failedSearches.length) {
      // Nothing named, nothing found, nothing from earlier runs: the selectors' searches
      // (each scope's selector.searched or step.failed, then selector.resolved or selector.failed) are the whole record of this run. A search that
      // failed (access denied, the provider's error) found nothing either: closing would seal an
      // empty case that the search, once it can run, could then only reopen.
      const nothingSelected: NothingSelected = {
        selectors: selectors.map(selectorKey),
        ...(failedSearches.length > 0 ? { failedSearches } : {}),
      };
      await recorder.record('collection.nothing-selected', { ...summary, ...nothingSelected });
      return { outcomes, summary, nothingSelected: { ...nothingSelected, ...unsearched }, ...unsearched };
    }
    await recorder.record(signal.aborted ? 'collection.interrupted' : 'collection.finished', { ...summary });
    return { outcomes, summary, ...unsearched };
  } finally {
    outer?.removeEventListener('abort', onOuterAbort);
  }
}

/** The admitted targets whose `within` names another admitted target: collecting that one takes them. */
function coveredTargets(accepted: ReadonlyArray<{ target: Target }>): Array<{ target: Target & { within: string } }> {
  const admitted = new Set(accepted.map((a) => targetIdentity(a.target)));
  return accepted.filter((a): a is { target: Target & { within: string } } => a.target.within !== undefined && admitted.has(a.target.within));
}

/**
 * Groups of admitted targets that share a `within` no admitted target is, in admission order;
 * one an earlier run of the case collected stays out (it is skipped, and takes nothing with it).
 */
function partsTogether(accepted: ReadonlyArray<{ target: Target }>, previouslyCollected: ReadonlyMap<string, unknown>): Array<{ first: Target; others: Target[] }> {
  const groups = new Map<string, Target[]>();
  for (const { target } of accepted) {
    if (target.within === undefined || previouslyCollected.has(targetKey(target))) continue;
    groups.set(target.within, [...(groups.get(target.within) ?? []), target]);
  }
  return [...groups.values()].filter((group) => group.length > 1).map(([first, ...others]) => ({ first: first!, others }));
}

const CANCELLED = Symbol('cancelled');

/**
 * The background lane's limits. While targets are requesting: one item at a time, so a long
 * request phase (throttling, the pending-snapshot limit) never parks the lane, and its CPU stays
 * a small share of the event loop. After: 16 at once, enough to keep the disk busy (each item is
 * mostly an fsync wait) without thousands of files open at once.
 */
const BACKGROUND_LIMITS = { whileBusy: 1, whenIdle: 16 };

function isExpectedCancel(error: unknown): boolean {
  return error === CANCELLED;
}
