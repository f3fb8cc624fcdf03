/**
 * Gathers preflight rows from every configured cloud: AWS (assume the collector role, DryRun every
 * mutation) and Kubernetes (SelfSubjectAccessReview per operation). Loaded only by preflight.
 */
import { runPreflight } from '../providers/aws/preflight.js';
import type { PreflightOptions, PreflightRow } from '../providers/aws/preflight.js';
import { runKubernetesPreflight } from '../providers/kubernetes/index.js';
import type { PreflightInput, PreflightRowView } from './deps.js';

export type AwsPreflightRunner = (options: PreflightOptions) => Promise<PreflightRow[]>;

/** Runs the checks of every cloud the config has a section for. `runAws` is injectable for tests. */
export async function runPreflightChecks(input: PreflightInput, runAws: AwsPreflightRunner = runPreflight): Promise<PreflightRowView[]> {
  const rows: PreflightRowView[] = [];
  const analyst = input.analyst ? { analyst: input.analyst } : {};
  if (input.config.aws) {
    const awsRows = await runAws({
      config: input.config,
      ...(input.accounts.length > 0 ? { accounts: input.accounts } : {}),
      ...(input.targets.length > 0 ? { targets: input.targets } : {}),
      ...analyst,
    });
    for (const r of awsRows) {
      rows.push({ provider: 'aws', scope: [r.account, r.region], check: r.check, result: r.result, action: r.action, detail: r.detail });
    }
  }
  // Only when asked for explicitly or when no AWS account was named: `--account` alone means AWS.
  if (input.config.kubernetes && (input.clusters.length > 0 || input.accounts.length === 0)) {
    const k8sRows = await runKubernetesPreflight({
      config: input.config,
      ...(input.clusters.length > 0 ? { clusters: input.clusters } : {}),
      ...(input.namespaces.length > 0 ? { namespaces: input.namespaces } : {}),
      ...analyst,
    });
    for (const r of k8sRows) {
      rows.push({ provider: 'kubernetes', scope: [r.cluster, r.namespace], check: r.check, result: r.result, action: r.action, need: r.need, detail: r.detail });
    }
  }
  return rows;
}
