/**
 * A case's selector searches read back from its ledger, scope by scope, whatever version of the
 * tool wrote them. Since src/core/selector-search.ts every provider records a scope it searched
 * as `selector.searched` (`where`, `scope`, `found`, `requestIds`) and a scope it could not search
 * as `step.failed` with step `resolve-selector`; the orchestrator alone records the selector's
 * `selector.resolved` / `selector.failed` / `selector.refused`. Cases sealed before that hold each
 * provider's own forms, which are still read here (docs/ledger-format.md, "Older selector entries"):
 *
 * - AWS: `selector.searched` and `step.failed` with `account` and `region` (no `where`);
 * - GCP: `selector.searched` with `project` (no request ids recorded), and a failed project as
 *   `selector.failed` with `project`;
 * - Azure: a subscription searched as `selector.resolved` with `subscriptionId`, `matched`,
 *   `requestIds`, and a failed one as `step.failed` with `subscriptionId`;
 * - Kubernetes: its namespace searched as `selector.resolved` with `cluster`, `namespace`,
 *   `pods`, `requestId`.
 */
import type { LedgerEntry } from '../core/ports.js';
import { RESOLVE_SELECTOR_STEP } from '../core/selector-search.js';
import { errorText, stringOf } from './recorded-fields.js';
import { recordedStrings } from '../core/recorded-list.js';

/** What one ledger entry says of a selector's search, or undefined when it says nothing of one. */
export type SelectorSearchEntry =
  | { kind: 'scope-searched'; selector: string; provider?: string; where: string; found: string[]; requestIds: string[]; legacy: boolean }
  | { kind: 'scope-failed'; selector: string; provider?: string; where: string; error: string; requestIds: string[]; legacy: boolean }
  | { kind: 'resolved'; selector: string; provider?: string; targets: string[] }
  | { kind: 'failed' | 'refused'; selector: string; error: string };

/** One row of the report's selector searches: an entry that says something of one. */
export interface SelectorSearchRow {
  seq: number;
  time: string;
  selector: string;
  /** The scope in words, or `(the whole selector)` for the orchestrator's entries. */
  where: string;
  /** `searched: 2 found`, `FAILED: E_ACCESS_DENIED …`, `resolved: 1 target`, `refused: …`. */
  result: string;
  /** What the scope's search found, or the targets the whole selector came to. */
  found: string[];
  /** A searched scope's request ids; a failed one's refused request, when its error names it. */
  requestIds: string[];
  /** A scope searched (its request ids are worth saying absent), not a failure or the whole selector. */
  searched: boolean;
  /** The entry's type, and `older form` for a provider's entry from before the shared one. */
  recordedAs: string;
}

export const WHOLE_SELECTOR = '(the whole selector)';

/** What `entry` says of a selector's search (see the module comment for the forms read). */
export function readSelectorSearchEntry(entry: LedgerEntry): SelectorSearchEntry | undefined {
  const d = entry.data;
  const selector = stringOf(d.selector) ?? entry.target ?? '(selector not recorded)';
  const provider = stringOf(d.provider);
  const withProvider = (p: string | undefined) => (p ? { provider: p } : {});
  switch (entry.type) {
    case 'selector.searched': {
      const where = stringOf(d.where) ?? legacyWhere(d);
      if (!where) return undefined;
      return { kind: 'scope-searched', selector, ...withProvider(provider ?? legacyProvider(d)), where, found: recordedStrings(d.found), requestIds: recordedStrings(d.requestIds), legacy: stringOf(d.where) === undefined };
    }
    case 'step.failed': {
      if (d.step !== RESOLVE_SELECTOR_STEP) return undefined;
      const where = stringOf(d.where) ?? legacyWhere(d) ?? '(scope not recorded)';
      return { kind: 'scope-failed', selector, ...withProvider(provider ?? legacyProvider(d)), where, error: errorText(d, NO_ERROR), requestIds: refusedRequest(d), legacy: stringOf(d.where) === undefined };
    }
    case 'selector.failed': {
      // GCP's older per-project failure names its project; the orchestrator's names none.
      const where = legacyWhere(d);
      if (where) return { kind: 'scope-failed', selector, provider: 'gcp', where, error: errorText(d, NO_ERROR), requestIds: refusedRequest(d), legacy: true };
      return { kind: 'failed', selector, error: errorText(d, NO_ERROR) };
    }
    case 'selector.refused':
      return { kind: 'refused', selector, error: errorText(d, NO_ERROR) };
    case 'selector.resolved': {
      // The orchestrator's lists `targets`; Azure's and Kubernetes' older per-scope entries do not.
      if (Array.isArray(d.targets)) return { kind: 'resolved', selector, ...withProvider(provider), targets: recordedStrings(d.targets) };
      const where = legacyWhere(d);
      if (!where) return undefined;
      const found = Array.isArray(d.matched) ? recordedStrings(d.matched) : recordedStrings(d.pods);
      const requestIds = Array.isArray(d.requestIds) ? recordedStrings(d.requestIds) : recordedStrings([d.requestId]);
      return { kind: 'scope-searched', selector, ...withProvider(legacyProvider(d)), where, found, requestIds, legacy: true };
    }
    default:
      return undefined;
  }
}

/** Every entry of the ledger that says something of a selector's search, in ledger order. */
export function selectorSearchRows(entries: readonly LedgerEntry[]): SelectorSearchRow[] {
  const rows: SelectorSearchRow[] = [];
  for (const entry of entries) {
    const read = readSelectorSearchEntry(entry);
    if (!read) continue;
    const base = { seq: entry.seq, time: entry.time, selector: read.selector, recordedAs: entry.type };
    switch (read.kind) {
      case 'scope-searched':
        rows.push({ ...base, where: read.where, result: `searched: ${read.found.length} found`, found: read.found, requestIds: read.requestIds, searched: true, recordedAs: olderForm(entry.type, read.legacy) });
        break;
      case 'scope-failed':
        rows.push({ ...base, where: read.where, result: `FAILED: ${read.error}`, found: [], requestIds: read.requestIds, searched: false, recordedAs: olderForm(entry.type, read.legacy) });
        break;
      case 'resolved':
        rows.push({ ...base, where: WHOLE_SELECTOR, result: `resolved: ${read.targets.length} target${read.targets.length === 1 ? '' : 's'}`, found: read.targets, requestIds: [], searched: false });
        break;
      case 'failed':
      case 'refused':
        rows.push({ ...base, where: WHOLE_SELECTOR, result: `${read.kind === 'failed' ? 'FAILED' : 'REFUSED'}: ${read.error}`, found: [], requestIds: [], searched: false });
        break;
    }
  }
  return rows;
}

/** The scope an older provider entry names by its own fields. */
function legacyWhere(d: Record<string, unknown>): string | undefined {
  const account = stringOf(d.account);
  const region = stringOf(d.region);
  if (account && region) return `account ${account} in ${region}`;
  const subscriptionId = stringOf(d.subscriptionId);
  if (subscriptionId) return `subscription ${subscriptionId}`;
  const project = stringOf(d.project);
  if (project) return `project ${project}`;
  const cluster = stringOf(d.cluster);
  const namespace = stringOf(d.namespace);
  if (cluster && namespace) return `namespace ${namespace} of cluster ${cluster}`;
  return undefined;
}

function legacyProvider(d: Record<string, unknown>): string | undefined {
  if (stringOf(d.account)) return 'aws';
  if (stringOf(d.subscriptionId)) return 'azure';
  if (stringOf(d.project)) return 'gcp';
  if (stringOf(d.cluster)) return 'kubernetes';
  return undefined;
}

/** What a failed search says when its entry records no error at all. */
const NO_ERROR = '(no error recorded)';

/** The request a failed search's error names (the refusal's request id), when it names one. */
function refusedRequest(d: Record<string, unknown>): string[] {
  return recordedStrings([(d.error as Record<string, unknown> | undefined)?.requestId]);
}

function olderForm(type: string, legacy: boolean): string {
  return legacy ? `${type} (older form)` : type;
}

