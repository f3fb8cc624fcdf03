/**
 * What earlier runs of a case admitted and finished, read back from its ledger: a resumed run
 * takes up every target any earlier run admitted (named, found by a selector, or followed up
 * from another target) and skips only those an earlier run collected.
 */
import type { LedgerEntry } from './ports.js';
import { LEDGER_EVENTS } from './ledger-events.js';
import { selectorKey, targetKey } from './targets.js';
import type { Selector, Target } from './targets.js';
import { recordedStrings } from './recorded-list.js';

/** Turns a recorded key back into its target or selector: the registry does (src/providers/registry.ts). */
export interface TargetParser {
  parseTarget(raw: string): Target;
  parseSelector(raw: string): Selector;
}

export interface EarlierAdmissions {
  /** Every target an earlier run admitted, in the order it was first admitted. */
  targets: Target[];
  /** Every selector an earlier run was given, in order. */
  selectors: Selector[];
}

export interface EarlierCollection {
  evidenceIds: string[];
  /** Targets that collection led to (a pod's node): they belong to the case as well. */
  followUps: Target[];
}

/**
 * Targets and selectors earlier runs admitted: `collection.started` (`targets`,
 * `fromEarlierRuns.targets`, `selectors`), the orchestrator's `selector.resolved` (`targets`),
 * `target.discovered` and a collected target's recorded `followUps`. A key that no longer parses
 * (written by another version) is left out rather than guessed at.
 */
export function earlierAdmissions(entries: readonly LedgerEntry[], parser: TargetParser): EarlierAdmissions {
  const targets = new Map<string, Target>();
  const selectors = new Map<string, Selector>();
  const addTarget = (key: unknown) => {
    if (typeof key !== 'string' || targets.has(key)) return;
    const target = parseOrUndefined(() => parser.parseTarget(key));
    if (target) targets.set(targetKey(target), target);
  };
  const addSelector = (key: unknown) => {
    if (typeof key !== 'string' || selectors.has(key)) return;
    const selector = parseOrUndefined(() => parser.parseSelector(key));
    if (selector) selectors.set(selectorKey(selector), selector);
  };
  for (const entry of entries) {
    const d = entry.data;
    switch (entry.type) {
      case LEDGER_EVENTS.collectionStarted:
        for (const key of recordedStrings(d.targets)) addTarget(key);
        for (const key of recordedStrings((d.fromEarlierRuns as { targets?: unknown } | undefined)?.targets)) addTarget(key);
        for (const key of recordedStrings(d.selectors)) addSelector(key);
        for (const key of recordedStrings((d.fromEarlierRuns as { selectors?: unknown } | undefined)?.selectors)) addSelector(key);
        break;
      case LEDGER_EVENTS.selectorResolved:
        // The orchestrator's entry lists targets; the per-scope `selector.resolved` Azure and
        // Kubernetes wrote in cases sealed before src/core/selector-search.ts do not.
        for (const key of recordedStrings(d.targets)) addTarget(key);
        break;
      case LEDGER_EVENTS.targetDiscovered:
        addTarget(entry.target);
        break;
      case LEDGER_EVENTS.targetCompleted:
        for (const key of recordedStrings(d.followUps)) addTarget(key);
        break;
    }
  }
  return { targets: [...targets.values()], selectors: [...selectors.values()] };
}

/**
 * Targets whose latest `target.completed` says `collected` (or that were covered by one whose
 * next `target.completed` said so), with their evidence ids and the
 * follow-ups that collection found: a resumed run does not take them again, but still takes up
 * what they led to.
 */
export function collectedInEarlierRuns(entries: readonly LedgerEntry[], parser: TargetParser): Map<string, EarlierCollection> {
  const done = new Map<string, EarlierCollection>();
  // Targets recorded as covered by another, until that one's next `target.completed`: collected
  // with it when it says `collected` (a container taken with another container of its pod).
  const coveredBy = new Map<string, string[]>();
  for (const entry of entries) {
    if (entry.type === 'target.covered' && entry.target && typeof entry.data.coveredBy === 'string') {
      coveredBy.set(entry.data.coveredBy, [...(coveredBy.get(entry.data.coveredBy) ?? []), entry.target]);
      continue;
    }
    if (entry.type !== LEDGER_EVENTS.targetCompleted || !entry.target) continue;
    const covered = coveredBy.get(entry.target) ?? [];
    coveredBy.delete(entry.target);
    if (entry.data.status !== 'collected') {
      done.delete(entry.target);
      continue;
    }
    const evidenceIds = recordedStrings(entry.data.evidenceIds);
    const followUps = recordedStrings(entry.data.followUps)
      .map((key) => parseOrUndefined(() => parser.parseTarget(key)))
      .filter((t): t is Target => t !== undefined);
    done.set(entry.target, { evidenceIds, followUps });
    for (const key of covered) done.set(key, { evidenceIds, followUps: [] });
  }
  return done;
}

function parseOrUndefined<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch {
    return undefined;
  }
}
