/**
 * Selectors across the configured projects: `gcp-label:` asks Compute for instances with the
 * label (one aggregated list per project, filtered server-side); `gcp-tag:` lists each project's
 * instances and keeps those whose effective Resource Manager tags (own or inherited) hold the
 * value. Labels only select — IAM cannot condition on them; the tag is what IAM enforces.
 * Every search is recorded, with what it found.
 */
import type { CaseRecorder } from '../../core/ports.js';
import { CustodyError, isStopSignal } from '../../core/errors.js';
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
 * Expands a selector into instance targets in every allowed project, recording each search. A
 * project whose search fails is recorded (`selector.failed`) and told to the run through
 * `searchIncomplete`; when every project failed, the selector fails with the first failure.
 */
export async function resolveGcpSelector(
  session: GcpSession,
  recorder: CaseRecorder,
  selector: GcpSelector,
  searchIncomplete?: (scope: string, code: string) => void,
): Promise<GcpInstanceTarget[]> {
  const key = gcpSelectorKey(selector);
  const targets: GcpInstanceTarget[] = [];
  const failures: Array<{ project: string; error: CustodyError }> = [];
  for (const project of session.config.allowedProjects) {
    try {
      if (selector.kind === 'gcp-label') {
        const filter = `labels.${selector.label} = "${selector.value}"`;
        const found = await listInstances(session, project, filter);
        await recorder.record('selector.searched', { project, filter, found: found.map((f) => `projects/${project}/zones/${f.zone}/instances/${f.name}`) }, key);
        for (const f of found) targets.push(instanceTarget(project, f.zone, f.name));
      } else {
        const wanted = `${selector.parent}/${selector.tagKey}/${selector.value}`;
        const listed = await listInstances(session, project, undefined);
        const found: Listed[] = [];
        for (const instance of listed) if ((await effectiveTags(session, project, instance)).includes(wanted)) found.push(instance);
        await recorder.record('selector.searched', { project, tagValue: wanted, examined: listed.length, found: found.map((f) => `projects/${project}/zones/${f.zone}/instances/${f.name}`) }, key);
        for (const f of found) targets.push(instanceTarget(project, f.zone, f.name));
      }
    } catch (error) {
      const e = error instanceof CustodyError ? error : new CustodyError('E_CLOUD', String(error));
      if (isStopSignal(e)) throw e;
      await recorder.record('selector.failed', { project, error: e.toRecord() }, key);
      failures.push({ project, error: e });
    }
  }
  // No project could be searched: the selector failed, it did not match nothing (as AWS's, Azure's).
  const first = failures[0];
  if (first && failures.length === session.config.allowedProjects.length) throw first.error;
  for (const { project, error } of failures) searchIncomplete?.(`project ${project}`, error.code);
  return targets;
}
