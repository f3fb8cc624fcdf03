/**
 * What the CLI needs from the rest of the product, as one object. `defaultDeps()` (in
 * default-deps.ts) wires the real custody, providers and lab; tests can pass their own.
 */
import type { CustodyConfig } from '../providers/config.js';
import type { Target } from '../core/targets.js';
import type { AppDeps, VerifyOutcome, VerifyProblem } from '../app/deps.js';

export type { AppDeps, CopyOutcome, OpenCaseInput, OpenedCase, VerifyOutcome, VerifyProblem, VerifyRequest } from '../app/deps.js';

export type { CallerPrincipal } from '../core/provider-module.js';
import type { PreflightRow } from '../core/provider-module.js';

/** `verify --against`: the folder checked against its copy. */
export interface AgainstOutcome {
  ok: boolean;
  url: string;
  checked: number;
  /** Objects of the sealed case the copy must hold. */
  objects: number;
  /** Where the ledger records the case's copy, without any signature or password it holds; null when it records none. */
  recordedUrl: string | null;
  /** One line when none of the case's objects is at `url`; `problems` still names each. */
  summary?: string;
  problems: VerifyProblem[];
}

export interface ReportPaths {
  markdown: string;
  html: string;
  /** How many evidence files the report lists as stored redacted (absent: not counted). */
  redactedFiles?: number;
  /** How many items the report's "Left in the cloud" lists, and how many are still left (absent: not counted). */
  leftInCloud?: { total: number; stillLeft: number };
  /** The verification the report was rendered with (a failing case still gets a report). */
  verify?: VerifyOutcome;
}

/** A running rehearsal lab, as the demo uses it: its parts (one per cloud) merged (src/lab/demo). */
export type { DemoLab } from '../lab/demo/part.js';
import type { DemoLab } from '../lab/demo/part.js';

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

export interface CliDeps extends AppDeps {
  /** Checks, changing nothing, that collection would be allowed. */
  preflight(input: PreflightInput): Promise<PreflightRowView[]>;
  /** Writes the report into the case folder, or into `outDir` (the case folder is then only read). */
  renderReport(caseDir: string, options?: { outDir?: string }): Promise<ReportPaths>;
  startDemoLab(): Promise<DemoLab>;
  /** Checks a case folder against its copy at `url` (s3://BUCKET/CASE). */
  verifyAgainst?(caseDir: string, url: string, config: CustodyConfig | undefined): Promise<AgainstOutcome>;
  /** Restores a case folder from its copy at `url` into `dir` (which must not exist). */
  fetchCase?(url: string, dir: string, config: CustodyConfig | undefined): Promise<{ dir: string; objects: number }>;
}
