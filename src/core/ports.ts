/**
 * The ports: what the cloud-free core needs from custody (the recorder) and from each provider.
 * Providers implement `Provider`; `src/custody` implements `CaseRecorder`. Nothing here imports
 * an SDK.
 */
import type { Readable } from 'node:stream';
import type { Selector, Target } from './targets.js';

/** One line of ledger.jsonl. `hash` covers every other field except `sig`. */
export interface LedgerEntry {
  seq: number;
  /** UTC, ISO 8601 with milliseconds. */
  time: string;
  /** A past-tense fact: `case.opened`, `credentials.assumed`, `snapshot.requested`, … */
  type: string;
  /** Who: the analyst, as given or resolved from the caller identity. */
  actor: string;
  /** The target the entry concerns (ARN, `k8s:…`), absent for case-level entries. */
  target?: string;
  data: Record<string, unknown>;
  /** Hash of the previous entry; 64 zeros for the first. */
  prev: string;
  hash: string;
  /** Ed25519 signature over `hash`, base64. */
  sig: string;
}

export type EvidenceContent =
  | string
  | Uint8Array
  | Readable
  | AsyncIterable<Uint8Array | string>;

export interface EvidenceInput {
  /** From `evidenceIdFor(caseId, sourceKey)`. */
  evidenceId: string;
  /** File name inside `evidence/<evidenceId>/`: no separators, no `..`. */
  name: string;
  /** What it is: `instance-description`, `volumes-description`, `console-output`, `pod-log`, … */
  kind: string;
  /** Where it came from: an ARN, an API path. */
  source: string;
  content: EvidenceContent;
  mediaType?: string;
  target?: string;
  /** The provider's ids for what this file describes. */
  cloudIds?: Record<string, string>;
  /** Request ids of the calls that produced the content. */
  requestIds?: string[];
  /** What was cut out of a JSON description before storing it (src/core/redact-json.ts). */
  redaction?: EvidenceRedaction;
}

/** Credentials cut out of a description: recorded in its `evidence.stored` entry, never the values. */
export interface EvidenceRedaction {
  /**
   * SHA-256 (hex) of the file as it would have been without redaction: the provider's answer
   * rendered the same way. A re-fetched answer that hashes to it proves what the original held.
   */
  originalSha256: string;
  /** Each value cut: its JSON path in the stored file and what kind of credential it was. */
  redacted: Array<{ path: string; kind: string }>;
}

export interface StoredEvidence {
  evidenceId: string;
  name: string;
  /** Relative to the case folder, with `/` separators: `evidence/<id>/<name>`. */
  path: string;
  sha256: string;
  size: number;
}

/** An artefact that lives in a cloud, not in the case folder (a snapshot and its copies). */
export interface ArtifactInput {
  evidenceId: string;
  kind: string; // `ebs-snapshot`, …
  source: string; // the volume ARN it preserves
  target?: string;
  cloudIds: Record<string, string>;
  details?: Record<string, unknown>;
}

/**
 * The case as the collectors see it. Every method that writes resolves only once the entry is
 * durable; if the ledger cannot be written it rejects with `E_LEDGER` and collection must stop.
 */
export interface CaseRecorder {
  readonly caseId: string;
  readonly analyst: string;
  /** Absolute path of the case folder. */
  readonly caseDir: string;
  record(type: string, data?: Record<string, unknown>, target?: string): Promise<LedgerEntry>;
  /** Every entry so far, including those of earlier (interrupted) runs of this case. */
  entries(): readonly LedgerEntry[];
  /** Streams content into the case folder, hashing while it writes; records `evidence.stored`. */
  storeEvidence(input: EvidenceInput): Promise<StoredEvidence>;
  /** Records `artifact.recorded` for a cloud-side artefact (it enters the manifest). */
  recordArtifact(input: ArtifactInput): Promise<LedgerEntry>;
  /**
   * The file `evidence/<evidenceId>/<name>` as it is in the case folder, recorded or not (an
   * interrupted run may have written it and been killed before recording it): its SHA-256, or
   * undefined when there is none. Optional: without it the kernel looks in `caseDir` itself.
   */
  evidenceFile?(evidenceId: string, name: string): { sha256: string } | undefined;
}

export type OutcomeStatus = 'collected' | 'partial' | 'failed' | 'skipped';

/** What happened to one target. Data, not an exception: one failure never aborts the case. */
export interface TargetOutcome {
  target: string;
  status: OutcomeStatus;
  /** A sentence for humans when the status is not `collected`. */
  reason?: string;
  /** `CustodyError.toRecord()` of the failure that decided the status. */
  error?: Record<string, unknown>;
  evidenceIds: string[];
  /** Targets discovered while collecting (a pod's node → its cloud instance). */
  followUps?: Target[];
}

export interface ProgressEvent {
  target?: string;
  step: string;
  /** `started` | `done` | `waiting` | `failed` | free text for details */
  state: string;
  detail?: string;
  /** For long work: how far along (0..1). */
  fraction?: number;
}

export type ProgressSink = (event: ProgressEvent) => void;

/**
 * Options chosen per run (flags), separate from the config file. Each provider module declares
 * its own (`ProviderFlag.option`) and reads them itself. A boolean flag not given is `false`; a
 * flag with a value (a folder) is its text, absent when not given; one no provider reads is
 * ignored. Recorded in `collection.started`.
 */
export type CollectOptions = Readonly<Record<string, boolean | string | undefined>>;

export interface ProviderContext {
  recorder: CaseRecorder;
  progress: ProgressSink;
  options: CollectOptions;
  /**
   * Aborts when the run stops. One object per run, shared by all its targets and selectors:
   * providers key state that must not outlive a run (disk claims, a session's recorder) by it.
   */
  signal: AbortSignal;
  /**
   * Says the target's request phase is over (described, volatile evidence taken, snapshots
   * requested): its admission slot goes to the next target while this one waits for the cloud.
   * Idempotent; optional to call (the slot is freed when the target ends anyway).
   */
  requested?: () => void;
  /**
   * Runs work that follows the request phase and does not decay (writing descriptions already
   * in memory to the case) when targets still requesting snapshots leave room (see
   * src/core/background.ts). Absent: run the work at once.
   */
  background?: <T>(work: () => Promise<T>) => Promise<T>;
  /**
   * Given while a selector is resolved: the provider calls it for each scope (an account and
   * region, a subscription, a project) its search could not look in while others answered, after
   * recording that failure itself. What the search found elsewhere is not all there is: the run's
   * result names the scope and the error code (`unsearchedScopes`), found anything or not.
   */
  searchIncomplete?: (scope: string, code: string) => void;
}

/** An IAM-style permission an operation needs; held against `policies/` by tests. */
export interface PermissionNeed {
  action: string;
  /** ARN pattern with `${Partition}`, `${Region}`, `${Account}` placeholders, or `*`. */
  resource: string;
  /** Condition context keys the request carries (e.g. `aws:RequestTag/CaseId`). */
  context?: Record<string, string | string[]>;
}

export interface PlannedCall {
  /** `ec2:CreateSnapshots`, `k8s:create pods/exec`, … */
  api: string;
  /** Which account/cluster it runs in, and why. */
  where: string;
  mutates: boolean;
  permissions: PermissionNeed[];
}

export interface PlannedStep {
  step: string;
  description: string;
  calls: PlannedCall[];
}

export interface Provider {
  readonly name: string;
  handles(target: Target): boolean;
  handlesSelector(selector: Selector): boolean;
  /** Expands a selector into concrete targets; records what it searched. */
  resolveSelector(selector: Selector, ctx: ProviderContext): Promise<Target[]>;
  /** Refuses a target before any cloud call (e.g. an account not in the allowed list). */
  validate(target: Target): void;
  /** Refuses a selector before any cloud call (e.g. an unknown cluster); optional. */
  validateSelector?(selector: Selector): void;
  /** Where collect would search for a selector's targets, in words (`the allowed projects …`), for `plan`. */
  selectorScope?(selector: Selector): string;
  /** Targets with the same scope share a concurrency limit (AWS: account and region). */
  scopeOf(target: Target): string;
  /**
   * The options this provider's config section turns on for every run (the config's default of a
   * flag), each with the config field that does: `{ hash: 'aws.hash' }`. The orchestrator runs
   * with them on and records them so in `collection.started`. Optional: none.
   */
  optionsFromConfig?(): Readonly<Record<string, string>>;
  /** What collecting this target would do, touching nothing. */
  plan(target: Target, options: CollectOptions): PlannedStep[];
  collect(target: Target, ctx: ProviderContext): Promise<TargetOutcome>;
  close?(): Promise<void>;
}


