/**
 * The seam of `custody demo`: the demo is composed of one part per cloud (AWS with its EKS
 * cluster, GCP with its GKE cluster, …). Each part starts its own loopback lab and says what the
 * one demo case needs from it; `startDemoLab` (index.ts) merges the parts listed in parts.ts into
 * one lab, one config and one case.
 */

/** A demo Kubernetes cluster: its entry under `kubernetes.clusters` of the demo config. */
export interface DemoCluster {
  configName: string;
  clusterConfig: Record<string, unknown>;
}

/**
 * The targets a part brings to the case: named ones expected to be collected, ones its lab's
 * policy refuses by design (an untagged instance: `E_ACCESS_DENIED` naming action and resource),
 * and ones expected to be found and collected through follow-ups (a pod's node).
 */
export interface DemoTargets {
  collectable: string[];
  refusedByPolicy: string[];
  followed: string[];
}

/** What a part checks on the closed, verified case beyond the outcomes (AWS: every volume hashed). */
export interface DemoCaseCheck {
  ok: boolean;
  /** Printed in the demo's summary. */
  lines: string[];
}

/** One cloud's share of the demo, running. */
export interface DemoPart {
  /** How the demo names it to people: `AWS`, `GCP`, `Azure`. */
  label: string;
  /** The loopback URL a responder points tools at (printed, and in `--json`'s `lab`). */
  endpoint: string;
  /** Top-level sections of the demo config this part owns (`{ aws: {…} }`); never `kubernetes`. */
  config: Record<string, unknown>;
  /** Its demo clusters (EKS, GKE, AKS), merged into `kubernetes.clusters`. */
  clusters: DemoCluster[];
  /**
   * Environment variables the product needs while the case runs (the standard credential chains
   * find the lab there): a value to set, or `undefined` to unset. Also written to lab.env for
   * `--keep`, so only lab-made values that die with the lab belong here.
   */
  env: Record<string, string | undefined>;
  targets: DemoTargets;
  /** A selector that matches a collectable target (suggested for `--keep`). */
  selector?: string;
  /** The Object Lock bucket the demo copies its case to (AWS), checked with `verify --against`. */
  evidenceBucket?: string;
  /** Lines that say what this part's lab serves, printed before the case runs. */
  description: string[];
  /** Checks of its own on the closed case. */
  checkCase?(caseDir: string): DemoCaseCheck;
  close(): Promise<void>;
}

/** Starts one part; the demo starts every part listed in parts.ts. */
export type DemoPartStarter = () => Promise<DemoPart>;

/** The parts, merged: what `custody demo` runs its one case against. */
export interface DemoLab {
  parts: readonly DemoPart[];
  /** The first part's endpoint (the AWS lab): where `--keep` points first. */
  endpoint: string;
  /** Every part's endpoint by label. */
  endpoints: Record<string, string>;
  evidenceBucket?: string;
  /** The demo config's cloud sections and `kubernetes.clusters`, merged from the parts. */
  config: Record<string, unknown>;
  env: Record<string, string | undefined>;
  targets: DemoTargets & { selector?: string };
  description: string[];
  checkCase(caseDir: string): DemoCaseCheck;
  close(): Promise<void>;
}
