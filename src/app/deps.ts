/**
 * What the application service (open → collect → close → verify → copy) needs from custody and
 * the providers, as one object: `appServices()` wires the real ones; tests pass their own.
 */
import type { CustodyConfig } from '../providers/config.js';
import type { CaseRecorder, CollectOptions, Provider, TargetOutcome } from '../core/ports.js';
import type { CallerPrincipal } from '../core/provider-module.js';
import type { HeadExpectation, KeyExpectation } from '../custody/expectations.js';

export type { CallerPrincipal } from '../core/provider-module.js';

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


export interface AppDeps {
  /** The providers of every configured section, sharing one set of services (one case). */
  createProviders(config: CustodyConfig): Promise<Provider[]>;
  /**
   * Checks (and makes) the folders the configuration and the run's folder options (`--image DIR`)
   * name, before any cloud call: a bad path is bad configuration, found before the caller
   * identity is asked for. Optional (test doubles).
   */
  prepareFolders?(config: CustodyConfig, options?: CollectOptions): Promise<void>;
  openCase(input: OpenCaseInput): Promise<OpenedCase>;
  /** Verifies a case folder; a case that is not closed fails unless `allowOpen`. */
  verifyCase(caseDir: string, request?: VerifyRequest): Promise<VerifyOutcome>;
  /**
   * Who the orchestrator's credentials authenticate as (the first configured provider with an
   * identity; AWS: GetCallerIdentity): recorded in the case, and the analyst when none is given.
   * Undefined when no configured provider has one. Missing credentials are `E_CONFIG` with a hint.
   */
  callerIdentity(config: CustodyConfig): Promise<CallerPrincipal | undefined>;
  /**
   * The immutable copy (absent: the command refuses). Copies a closed case to the configured
   * evidence bucket; a failure is recorded in the ledger and returned, not thrown. Aborting
   * `signal` stops it at the next request (`E_CANCELLED`); what was confirmed stays recorded.
   */
  copyCase?(input: { config: CustodyConfig; caseDir: string; caseId: string; actor: string; signal?: AbortSignal }): Promise<CopyOutcome>;
}
