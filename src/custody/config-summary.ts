/**
 * The configuration as recorded in `case.opened` / `case.resumed`: enough for a reader of the
 * case to know which accounts, roles, keys and endpoints were used, and nothing secret (the
 * external id is recorded only as present or not).
 */
import type { CustodyConfig } from '../core/config.js';

/** A non-secret summary of the config for the ledger. */
export function summarizeConfig(config: CustodyConfig): Record<string, unknown> {
  const summary: Record<string, unknown> = {
    concurrency: config.concurrency,
    signingKey: config.signingKeyFile ? 'signingKeyFile' : 'per-case key',
  };
  if (config.aws) {
    const { externalId, ...aws } = config.aws;
    summary.aws = { ...aws, externalIdUsed: externalId !== undefined };
  }
  if (config.kubernetes) {
    summary.kubernetes = {
      clusters: Object.fromEntries(
        Object.entries(config.kubernetes.clusters).map(([name, cluster]) => [
          name,
          {
            ...(cluster.context !== undefined ? { context: cluster.context } : {}),
            ...(cluster.eks !== undefined ? { eks: cluster.eks } : {}),
            ...(cluster.server !== undefined ? { server: cluster.server } : {}),
            ...(cluster.nodeAccount !== undefined ? { nodeAccount: cluster.nodeAccount } : {}),
            ...(cluster.nodeRegion !== undefined ? { nodeRegion: cluster.nodeRegion } : {}),
            ...(cluster.skipTLSVerify ? { skipTLSVerify: true } : {}),
          },
        ]),
      ),
    };
  }
  return summary;
}
