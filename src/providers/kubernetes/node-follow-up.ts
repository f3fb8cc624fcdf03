/**
 * The pod's node → its cloud machine, as a follow-up target for that cloud's provider, so the
 * node's disks are preserved in the same case. The registry's providers map the node's
 * providerID (AWS: EKS nodes become instance ARNs) and the registry parses the text back: this
 * provider knows no other provider's targets. A providerID no provider claims is recorded as
 * not yet supported.
 */
import type { V1Node } from '@kubernetes/client-node';
import type { NodeMapping } from '../../core/provider-module.js';
import type { Target } from '../../core/targets.js';
import type { PodRun } from './pod-run.js';
import { parseProviderId } from '../shared/provider-id.js';

/** What the pod run needs from the registry to follow a node. */
export interface NodeFollowUps {
  mapNode(machine: { cluster: string; node: string; providerID: string; hints: Record<string, string | undefined> }): NodeMapping | undefined;
  parseTarget(raw: string): Target;
}

/** Records how the node maps to a cloud machine; returns the target to collect, if any. */
export async function nodeFollowUp(run: PodRun, node: V1Node, registry: NodeFollowUps | undefined): Promise<Target | undefined> {
  const { recorder } = run.ctx;
  const nodeName = node.metadata?.name ?? '';
  const providerID = node.spec?.providerID;
  const base = { node: nodeName, providerID: providerID ?? null };
  const hints = { account: run.cluster.nodeAccount ?? run.cluster.eks?.account, region: run.cluster.nodeRegion ?? run.cluster.eks?.region };
  const mapping = providerID && registry ? registry.mapNode({ cluster: run.target.cluster, node: nodeName, providerID, hints }) : undefined;
  if (mapping && 'followUp' in mapping) {
    await recorder.record('node.mapped', { ...base, ...mapping.data, followUp: mapping.followUp }, run.key);
    return registry?.parseTarget(mapping.followUp);
  }
  if (mapping) {
    await recorder.record('node.not-mapped', { ...base, ...mapping.data, reason: mapping.notMapped }, run.key);
    return undefined;
  }
  const parsed = parseProviderId(providerID);
  if (parsed.cloud === 'unknown') {
    await recorder.record('node.not-mapped', { ...base, reason: parsed.reason }, run.key);
  } else {
    await recorder.record('node.not-mapped', { ...base, cloud: parsed.cloud, parsed, reason: 'provider not yet supported: preserve the node disk with the cloud console or its own tooling' }, run.key);
  }
  return undefined;
}
