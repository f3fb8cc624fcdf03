/**
 * What the CLI needs from the rest of the product, as one object. `defaultDeps()` (in
 * default-deps.ts) wires the real custody, providers and lab; tests can pass their own.
 */
import type { CustodyConfig } from '../providers/config.js';
import type { CaseRecorder, Provider, TargetOutcome } from '../core/ports.js';
import type { Target } from '../core/targets.js';
import type { HeadExpectation, KeyExpectation } from '../custody/expectations.js';

export type { CallerPrincipal } from '../core/provider-module.js';
import type { CallerPrincipal, PreflightRow } from '../core/provider-module.js';

export interface OpenCaseInput {
  config: CustodyConfig;
  caseId: string;
  analyst: string;
  /** Recorded in `case.opened` / `case.resumed` beside the asserted analyst. */
  principal?: CallerPrincipal;
  /** Continue an existing case folder instead of refusing it. */
  resume: boolean;
}

export interface OpenedCase {
  recorder: CaseRecorder;
  /** SHA-256 of the signing key: print it so it can be kept apart and checked with --expect-key. */
  fingerprint?: string;
  /** Records `case.closed` with the outcomes and writes the signed manifest. */
  close(outcomes: readonly TargetOutcome[]): Promise<void>;
  /** Stops recording without closing (an interrupted run): the case can be resumed later. */
  release(): Promise<void>;
}

/** One thing verify found wrong, as the CLI shows it. */
export interface VerifyProblem {
  kind: string;
  severity: 'error' | 'warning';
  message: string;
  entrySeq?: number;
  line?: number;
  path?: string;
}

export interface VerifyOutcome {
  ok: boolean;
  caseDir: string;
  /** `case.closed` is the ledger's head and the signed manifest matches it. */
  closed?: boolean;
  entries?: number;
  files?: number;
  /** The ledger's last entry: print it as `SEQ:HASH`; `verify --expect-head` checks it. */
  head?: { seq: number; hash: string };
  /** SHA-256 (hex) of the pinned public key. */
  fingerprint?: string;
  problems: VerifyProblem[];
}

/** What a verifier knows from elsewhere, already parsed (bad input was refused before). */
export interface VerifyRequest {
  expectKey?: KeyExpectation;
  expectHead?: HeadExpectation;
  /** Verify a case that was not closed up to its last entry instead of failing it. */
  allowOpen?: boolean;
}

/** The immutable copy of a closed case (aws.evidenceBucket), as the CLI shows it. */
export interface CopyOutcome {
  ok: boolean;
  /** `s3://bucket/prefix/CASE` */
  url: string;
  copied?: number;
  alreadyCopied?: number;
  total?: number;
  retention?: { mode: string; days: number };
  /** The ledger head after the copy records (`case.copied`, or `copy.failed`). */
  head?: { seq: number; hash: string };
  /** Why it failed, and how to retry. */
  error?: { code: string; message: string };
}

/** `verify --against`: the folder checked against its copy. */
export interface AgainstOutcome {
  ok: boolean;
  url: string;
  checked: number;
  problems: VerifyProblem[];
}

export interface ReportPaths {
  markdown: string;
  html: string;
  /** The verification the report was rendered with (a failing case still gets a report). */
  verify?: VerifyOutcome;
}

/** A running rehearsal lab, as the demo uses it. */
export interface DemoLab {
  /** The one loopback URL serving STS, EC2, KMS and S3. */
  endpoint: string;
  /** The forensics account's Object Lock bucket in the lab: the demo copies its case there. */
  evidenceBucket?: string;
  region: string;
  forensicsAccount: string;
  allowedAccounts: string[];
  /** The lab's orchestrator credentials, put into the process env for the standard chain only. */
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /**
   * The demo's targets: named ones expected to be collected, ones the collector policy refuses
   * by design, and ones expected to be found and collected through follow-ups (a pod's node);
   * `selector` is a tag selector that matches a collectable instance (suggested for `--keep`).
   */
  targets: { collectable: string[]; refusedByPolicy: string[]; followed: string[]; selector: string };
  /** A demo Kubernetes cluster, for the config's `kubernetes.clusters`. */
  kubernetes?: { configName: string; clusterConfig: Record<string, unknown> };
  close(): Promise<void>;
}

/** One preflight check, as the CLI shows it: the shared row type of every provider. */
export type PreflightRowView = PreflightRow;

export interface PreflightInput {
  config: CustodyConfig;
  targets: Target[];
  /**
   * Each provider's scoping flags as given (`account`, `cluster`, `namespace`): a provider's own
   * flag limits preflight to it; none given checks every configured provider.
   */
  scopes: Record<string, string[]>;
  analyst?: string;
}

export interface CliDeps {
  /** Checks, changing nothing, that collection would be allowed. */
  preflight(input: PreflightInput): Promise<PreflightRowView[]>;
  /** The providers of every configured section, sharing one set of services (one case). */
  createProviders(config: CustodyConfig): Promise<Provider[]>;
  /**
   * Checks (and makes) the folders the configuration names, before any cloud call: a bad path is
   * bad configuration, found before the caller identity is asked for. Optional (test doubles).
   */
  prepareFolders?(config: CustodyConfig): Promise<void>;
  openCase(input: OpenCaseInput): Promise<OpenedCase>;
  /** Verifies a case folder; a case that is not closed fails unless `allowOpen`. */
  verifyCase(caseDir: string, request?: VerifyRequest): Promise<VerifyOutcome>;
  renderReport(caseDir: string): Promise<ReportPaths>;
  /**
   * Who the orchestrator's credentials authenticate as (the first configured provider with an
   * identity; AWS: GetCallerIdentity): recorded in the case, and the analyst when none is given.
   * Undefined when no configured provider has one. Missing credentials are `E_CONFIG` with a hint.
   */
  callerIdentity(config: CustodyConfig): Promise<CallerPrincipal | undefined>;
  startDemoLab(): Promise<DemoLab>;
  /**
   * The immutable copy (absent: the command refuses). Copies a closed case to the configured
   * evidence bucket; a failure is recorded in the ledger and returned, not thrown.
   */
  copyCase?(input: { config: CustodyConfig; caseDir: string; caseId: string; actor: string }): Promise<CopyOutcome>;
  /** Checks a case folder against its copy at `url` (s3://BUCKET/CASE). */
  verifyAgainst?(caseDir: string, url: string, config: CustodyConfig | undefined): Promise<AgainstOutcome>;
  /** Restores a case folder from its copy at `url` into `dir` (which must not exist). */
  fetchCase?(url: string, dir: string, config: CustodyConfig | undefined): Promise<{ dir: string; objects: number }>;
}
