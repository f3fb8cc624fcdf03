/**
 * `azure:tag:KEY=VALUE`: every VM carrying the tag in the configured subscriptions, listed with
 * the discovery role (one subscription-wide list each). Each subscription searched is recorded
 * with what it matched, and each that could not be searched with why: a subscription that refuses
 * the list, or that ARM does not know, must not hide the VMs the others hold (as AWS's accounts
 * and regions, GCP's projects).
 */
import { CustodyError } from '../../core/errors.js';
import { startSelectorSearch, type SearchScope } from '../../core/selector-search.js';
import type { AzureRunContext } from './collect.js';
import { callAzure, exchangesOf } from './arm-call.js';
import { obj, str } from './raw.js';
import { parseAzureTarget, tagsMatch, type AzureTagSelector, type AzureTarget } from './targets.js';

/**
 * Resolves `azure:tag:K=V` across `azure.subscriptions`, in their configured order. Each
 * subscription searched is recorded with the VMs it matched and the listing's request ids
 * (`selector.searched`); one whose search fails is recorded (`step.failed`, step
 * `resolve-selector`, with its exchanges) and told to the run
 * through `searchIncomplete` (`subscription ID`, the error code); the others still count. When no
 * subscription could be searched at all, the selector fails with the first failure, as AWS's does:
 * that is a search that did not run, not one that matched nothing. The stop signal (E_LEDGER) and
 * a stopped run end the search at once. (src/core/selector-search.ts: as every provider records
 * its searches.)
 */
export async function resolveAzureSelector(
  ctx: AzureRunContext,
  selector: AzureTagSelector,
  searchIncomplete?: (scope: string, code: string) => void,
): Promise<AzureTarget[]> {
  const found: AzureTarget[] = [];
  // A request cut short by the stop is the run ending, not a subscription that failed.
  const search = startSelectorSearch({
    recorder: ctx.recorder,
    selector: selector.key,
    provider: 'azure',
    signal: ctx.signal,
    failureDetail: (error) => ({ exchanges: exchangesOf(error) }),
    ...(searchIncomplete ? { searchIncomplete } : {}),
  });
  const scopes: Array<SearchScope & { subscriptionId: string }> = ctx.config.subscriptions.map(({ subscriptionId }) => ({ subscriptionId, where: `subscription ${subscriptionId}`, fields: { subscriptionId } }));
  for (const where of scopes) {
    const { subscriptionId } = where;
    // Stopped (Ctrl-C, SIGTERM) between two subscriptions: the rest are not asked.
    if (ctx.signal?.aborted) {
      throw new CustodyError('E_CANCELLED', `the search for ${selector.key} was stopped before subscription ${subscriptionId}: the run was cancelled`, {
        cause: ctx.signal.reason,
        resource: `/subscriptions/${subscriptionId}`,
      });
    }
    // The ids are read as targets inside the search: one ARM id that does not parse is this subscription's failure, not the whole search's.
    const answer = await search.scope(where, async () => {
      const listed = await searchSubscription(ctx, selector, subscriptionId);
      return { ...listed, targets: listed.found.map((id) => parseAzureTarget(id)) };
    });
    found.push(...(answer?.targets ?? []));
  }
  search.finish(scopes);
  return found;
}

/** One subscription's VMs with the tag (their ARM ids), and the list's request ids. */
async function searchSubscription(ctx: AzureRunContext, selector: AzureTagSelector, subscriptionId: string): Promise<{ found: string[]; requestIds: string[] }> {
  const pages: unknown[] = [];
  const listed = await callAzure('listVirtualMachines', `/subscriptions/${subscriptionId}`, async (o) => {
    for await (const _ of ctx.clients.compute(subscriptionId).virtualMachines.listAll({ ...o, onResponse: (r: { parsedBody?: unknown }) => pages.push(r.parsedBody) })) void _;
  }, { signal: ctx.signal });
  const matched: string[] = [];
  for (const page of pages) {
    for (const vm of (obj(page).value as unknown[]) ?? []) {
      const raw = obj(vm);
      const id = str(raw.id);
      if (id && tagsMatch(obj(raw.tags) as Record<string, string>, selector.tagKey, selector.value)) matched.push(id);
    }
  }
  return { found: matched, requestIds: listed.exchanges.map((x) => x.requestId).filter((id): id is string => Boolean(id)) };
}
