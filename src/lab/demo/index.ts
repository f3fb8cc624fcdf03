/**
 * `custody demo`'s lab: every part listed in parts.ts, started side by side and merged into one
 * config, one environment and one list of targets for one case.
 *
 * @example
 * const lab = await startDemoLab();
 * // write lab.config (+ casesDir, keysDir), apply lab.env, collect lab.targets, lab.checkCase(caseDir)
 * await lab.close();
 */
import { CustodyError } from '../../core/errors.js';
import { DEMO_PARTS } from './parts.js';
import type { DemoLab, DemoPart, DemoPartStarter } from './part.js';

export type { DemoCaseCheck, DemoCluster, DemoLab, DemoPart, DemoPartStarter, DemoTargets } from './part.js';
export { DEMO_PARTS } from './parts.js';

export async function startDemoLab(starters: readonly DemoPartStarter[] = DEMO_PARTS): Promise<DemoLab> {
  const started = await Promise.allSettled(starters.map((start) => start()));
  const parts = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await closeAll(parts);
    throw failed.reason;
  }
  try {
    return composeDemoLab(parts);
  } catch (error) {
    await closeAll(parts);
    throw error;
  }
}

/** Merges running parts into one demo lab; two parts claiming one config section or cluster name is a bug. */
export function composeDemoLab(parts: readonly DemoPart[]): DemoLab {
  const first = parts[0];
  if (!first) throw new CustodyError('E_INTERNAL', 'the demo has no parts');
  const config: Record<string, unknown> = {};
  const clusters: Record<string, unknown> = {};
  const env: Record<string, string | undefined> = {};
  for (const part of parts) {
    for (const [section, value] of Object.entries(part.config)) {
      if (section === 'kubernetes') throw new CustodyError('E_INTERNAL', `demo part ${part.label} must list its clusters in clusters, not a kubernetes section`);
      if (section in config) throw new CustodyError('E_INTERNAL', `two demo parts claim the config section ${section}`);
      config[section] = value;
    }
    for (const cluster of part.clusters) {
      if (cluster.configName in clusters) throw new CustodyError('E_INTERNAL', `two demo parts name a cluster ${cluster.configName}`);
      clusters[cluster.configName] = cluster.clusterConfig;
    }
    for (const [name, value] of Object.entries(part.env)) {
      if (name in env && env[name] !== value) throw new CustodyError('E_INTERNAL', `two demo parts set ${name} differently`);
      env[name] = value;
    }
  }
  if (Object.keys(clusters).length > 0) config.kubernetes = { clusters };
  const evidenceBucket = parts.find((p) => p.evidenceBucket)?.evidenceBucket;
  const selector = parts.find((p) => p.selector)?.selector;
  return {
    parts,
    endpoint: first.endpoint,
    endpoints: Object.fromEntries(parts.map((p) => [p.label, p.endpoint])),
    ...(evidenceBucket ? { evidenceBucket } : {}),
    config,
    env,
    targets: {
      collectable: parts.flatMap((p) => p.targets.collectable),
      refusedByPolicy: parts.flatMap((p) => p.targets.refusedByPolicy),
      followed: parts.flatMap((p) => p.targets.followed),
      ...(selector ? { selector } : {}),
    },
    description: parts.flatMap((p) => p.description),
    checkCase(caseDir) {
      const checks = parts.flatMap((p) => (p.checkCase ? [p.checkCase(caseDir)] : []));
      return { ok: checks.every((c) => c.ok), lines: checks.flatMap((c) => c.lines) };
    },
    close: () => closeAll(parts),
  };
}

/** Closes every part, even when one fails to close; the first failure is rethrown. */
async function closeAll(parts: readonly DemoPart[]): Promise<void> {
  const closed = await Promise.allSettled(parts.map((p) => p.close()));
  const failed = closed.find((c): c is PromiseRejectedResult => c.status === 'rejected');
  if (failed) throw failed.reason;
}
