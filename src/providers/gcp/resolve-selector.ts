/**
 * Selectors across the configured projects: `gcp-label:` asks Compute for instances with the
 * label (one aggregated list per project, filtered server-side); `gcp-tag:` lists each project's
 * instances and keeps those whose effective Resource Manager tags (own or inherited) hold the
 * value. Labels only select — IAM cannot condition on them; the tag is what IAM enforces.
 * Every project's search is recorded, with what it found, or why it failed.
 */
import type { CaseRecorder } from '../../core/ports.js';
import { startSelectorSearch, type SearchScope } from '../../core/selector-search.js';
import { resourceManagerBase } from './resource-manager.js';
import type { GcpSession } from './session.js';
import { gcpSelectorKey, instanceTarget, type GcpInstanceTarget, type GcpSelector } from './targets.js';

interface Listed {
  name: string;
  zone: string;
  id: string;
}

async function listInstances(session: GcpSession, project: string, filter: string | undefined): Promise<Listed[]> {
  return session.call('listInstances', project, `projects/${project}`, undefined, async (c, o) => {
    const found: Listed[] = [];
    // autoPaginate off: the async iterator pages itself, and the client warns on stderr otherwise.
    const iterable = c.instances.aggregatedListAsync({ project, ...(filter ? { filter } : {}) }, { ...o, autoPaginate: false });
    for await (const [scope, list] of iterable) {
      for (const instance of list.instances ?? []) {
        found.push({ name: instance.name ?? '', zone: scope.replace(/^zones\//, ''), id: String(instance.id ?? '') });
      }
    }
    return found;
  });
}

async function effectiveTags(session: GcpSession, project: string, instance: Listed): Promise<string[]> {
  // An instance is zonal: its tags are known only at its zone's Resource Manager endpoint.
  const base = resourceManagerBase(session.config, instance.zone);
  const parent = `//compute.googleapis.com/projects/${project}/zones/${instance.zone}/instances/${instance.id}`;
  const resource = `projects/${project}/zones/${instance.zone}/instances/${instance.name}`;
  return session.call('listEffectiveTags', project, resource, undefined, async () => {
    const auth = await session.broker.collector(project);
    const values: string[] = [];
    let pageToken: string | undefined;
    do {
      const response = await auth.request<{ effectiveTags?: Array<{ namespacedTagValue?: string }>; nextPageToken?: string }>({
        url: `${base}/v3/effectiveTags`,
        params: { parent, ...(pageToken ? { pageToken } : {}) },
        headers: session.callOptions(undefined).otherArgs.headers,
        retry: false,
      });
      for (const tag of response.data.effectiveTags ?? []) if (tag.namespacedTagValue) values.push(tag.namespacedTagValue);
      pageToken = response.data.nextPageToken || undefined;
    } while (pageToken);
    return values;
  });
}

/**
 * Expands a selector into instance targets in every allowed project, recording each project's
 * search (`selector.searched`; `requestIds` empty: Compute's list answers carry no request id, as
 * docs/ledger-format.md says) and each project whose
 * search failed (`step.failed`, step `resolve-selector`), which is also told to the run through
 * `searchIncomplete`; when every project failed, the selector fails with the first failure
 * (src/core/selector-search.ts, as every provider records its searches).
 */
export async function resolveGcpSelector(
  session: GcpSession,
  recorder: CaseRecorder,
  selector: GcpSelector,
  searchIncomplete?: (scope: string, code: string) => void,
): Promise<GcpInstanceTarget[]> {
  const key = gcpSelectorKey(selector);
  const targets: GcpInstanceTarget[] = [];
  // A call cut off by the run's stop is the stop, not a project that could not be searched (as AWS's, Kubernetes').
  const search = startSelectorSearch({ recorder, selector: key, provider: 'gcp', signal: session.options.signal, describeError: String, ...(searchIncomplete ? { searchIncomplete } : {}) });
  const scopes: Array<SearchScope & { project: string }> = session.config.allowedProjects.map((project) => ({ project, where: `project ${project}`, fields: { project } }));
  for (const where of scopes) {
    const { project } = where;
    const answer = await search.scope(where, async () => {
      const { found, detail } = await searchProject(session, project, selector);
      return { found: found.map((f) => `projects/${project}/zones/${f.zone}/instances/${f.name}`), requestIds: [], detail, listed: found };
    });
    for (const f of answer?.listed ?? []) targets.push(instanceTarget(project, f.zone, f.name));
  }
  // No project could be searched: the selector failed, it did not match nothing (as AWS's, Azure's).
  search.finish(scopes);
  return targets;
}

/** One project's instances the selector matches, with what the search sent (the filter, or the tag value and how many it examined). */
async function searchProject(session: GcpSession, project: string, selector: GcpSelector): Promise<{ found: Listed[]; detail: Record<string, unknown> }> {
  if (selector.kind === 'gcp-label') {
    const filter = `labels.${selector.label} = "${selector.value}"`;
    return { found: await listInstances(session, project, filter), detail: { filter } };
  }
  const tagValue = `${selector.parent}/${selector.tagKey}/${selector.value}`;
  const listed = await listInstances(session, project, undefined);
  const found: Listed[] = [];
  for (const instance of listed) if ((await effectiveTags(session, project, instance)).includes(tagValue)) found.push(instance);
  return { found, detail: { tagValue, examined: listed.length } };
}
