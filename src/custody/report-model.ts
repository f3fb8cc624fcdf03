/**
 * What a report shows, computed once from the ledger and the verification result; the Markdown
 * and HTML renderers only lay it out.
 */
import type { LedgerEntry } from '../core/ports.js';
import { collectEvidenceItems, type ManifestArtifact, type ManifestFile } from './manifest.js';
import type { VerifyResult } from './verify.js';
import { sealIndex } from './copy-records.js';
import { errorText, stringOf } from './recorded-fields.js';
import { readSelectorSearchEntry, selectorSearchRows, type SelectorSearchRow } from './selector-searches.js';
import { leftInCloudRows, type LeftInCloudRow } from './left-in-cloud.js';

export interface TimelineRow {
  seq: number;
  time: string;
  type: string;
  actor: string;
  target: string;
  summary: string;
}

export interface FailureRow {
  seq?: number;
  time?: string;
  target: string;
  what: string;
  message: string;
}

export interface RoleRow {
  seq: number;
  time: string;
  target: string;
  summary: string;
}

/** One run of the case (`case.opened`, then each `case.resumed`): who says they ran it, and who the cloud authenticated. */
export interface RunRow {
  seq: number;
  time: string;
  kind: 'opened' | 'resumed';
  /** The analyst as asserted (`--analyst`, config, or the caller identity). */
  analyst: string;
  /** The authenticated principal (GetCallerIdentity), or "not recorded" for cases from before it was. */
  principal: string;
  host: string;
  tool: string;
}

/** Every target the ledger names, with how it ended and what was preserved of it in the cloud. */
export interface TargetRow {
  target: string;
  status: string;
  reason: string;
  /** One line per volume: source snapshot, re-encrypted copy, forensics copy, KMS keys, lock. */
  snapshots: string[];
  files: number;
}

/** A change made to a target (`--preserve`, `--isolate`, a helper pod), as requested and as applied. */
export interface ChangeRow {
  seq: number;
  time: string;
  target: string;
  change: string;
  before: string;
  after: string;
  result: string;
}

/**
 * A JSON description stored with customer credentials cut out (`evidence.stored` `redaction`):
 * the file as kept, what was cut where, and the hash of the description before the cut.
 */
export interface RedactionRow {
  /** `evidence/<evidenceId>/<name>` */
  path: string;
  target: string;
  /** SHA-256 of the stored (redacted) file, as verify re-hashes it. */
  sha256: string;
  /** SHA-256 the file would have had without redaction; `(not recorded)` if the entry lacks it. */
  originalSha256: string;
  /** Each value cut, in document order: its JSON path in the stored file and its kind. */
  cuts: Array<{ path: string; kind: string }>;
  /** The `evidence.stored` entry that recorded the file and its redaction. */
  entrySeq: number;
}

export interface ReportModel {
  caseId: string;
  generatedAt: string;
  runs: RunRow[];
  openedAt?: string;
  closedAt?: string;
  /** `SEQ:HASH` of the ledger's last entry. */
  head?: string;
  /** Ledger lines that are not an entry (not JSON, cut short): the report cannot show them. */
  unreadableLines: number[];
  /** manifest.json is in the case folder (whether or not it verifies). */
  manifestPresent: boolean;
  targets: TargetRow[];
  changes: ChangeRow[];
  /**
   * What the cloud may still hold that the case did not collect (`leftIn*` notes,
   * `export.left-open`), in ledger order, each with the later entry that took it up, if any.
   */
  leftInCloud: LeftInCloudRow[];
  analysts: string[];
  toolVersions: string[];
  hosts: string[];
  fingerprint: string;
  verification: VerifyResult;
  timeline: TimelineRow[];
  files: ManifestFile[];
  /** The files in `files` stored redacted, in the same order; empty when none was. */
  redactions: RedactionRow[];
  artifacts: ManifestArtifact[];
  failures: FailureRow[];
  notCollected: FailureRow[];
  /** Each selector's search, scope by scope, and its resolution, in ledger order (older forms read too). */
  selectorSearches: SelectorSearchRow[];
  roles: RoleRow[];
  /**
   * How far the collector's clock (the ledger's times) was from each cloud's, from the clock
   * offsets its credential entries recorded (cases recorded before those fields have none).
   */
  clocks: ClockRow[];
}

export function buildReportModel(
  entries: readonly LedgerEntry[],
  verification: VerifyResult,
  now: Date,
  /** What the report read besides the entries: lines that are not one, and whether manifest.json is there. */
  read: { unreadableLines?: readonly number[]; manifestPresent?: boolean } = {},
): ReportModel {
  const runs = entries.filter((e) => e.type === 'case.opened' || e.type === 'case.resumed');
  const unique = (values: unknown[]) => [...new Set(values.filter((v): v is string => typeof v === 'string' && v !== ''))];
  const { files, artifacts } = collectEvidenceItems(entries);
  const lastClosed = [...entries].reverse().find((e) => e.type === 'case.closed');
  const notCollected = Array.isArray(lastClosed?.data.notCollected) ? (lastClosed.data.notCollected as unknown[]) : [];
  const opened = entries.find((e) => e.type === 'case.opened');
  const sealed = entries[sealIndex(entries)];
  return {
    caseId: verification.caseId ?? stringOf(runs[0]?.data.caseId) ?? '(unknown)',
    generatedAt: now.toISOString(),
    runs: runs.map(runRow),
    ...(opened ? { openedAt: opened.time } : {}),
    // Closed: case.closed at the end, or followed only by the records of its copy.
    ...(sealed ? { closedAt: sealed.time } : {}),
    ...(verification.head ? { head: `${verification.head.seq}:${verification.head.hash}` } : {}),
    unreadableLines: [...(read.unreadableLines ?? [])],
    manifestPresent: read.manifestPresent ?? verification.closed,
    targets: targetRows(entries, artifacts, files, notCollected),
    changes: changeRows(entries),
    leftInCloud: leftInCloudRows(entries),
    analysts: unique([...runs.map((e) => e.data.analyst), ...entries.map((e) => e.actor)]),
    toolVersions: unique(runs.map((e) => {
      const tool = e.data.tool as { name?: unknown; version?: unknown } | undefined;
      return tool ? `${String(tool.name ?? '')} ${String(tool.version ?? '')}`.trim() : undefined;
    })),
    hosts: unique(runs.map((e) => e.data.host)),
    fingerprint: verification.fingerprint ?? '(no key pinned)',
    verification,
    timeline: entries.map((e) => ({
      seq: e.seq,
      time: e.time,
      type: e.type,
      actor: e.actor,
      target: e.target ?? '',
      summary: summarize(e),
    })),
    files,
    redactions: redactionRows(entries, files),
    artifacts,
    failures: failureRows(entries),
    notCollected: notCollected.map((item) => {
      const row = (item ?? {}) as Record<string, unknown>;
      return {
        target: stringOf(row.target) ?? '',
        what: stringOf(row.status) ?? '',
        message: stringOf(row.reason) ?? errorText(row),
      };
    }),
    selectorSearches: selectorSearchRows(entries),
    roles: entries
      .filter((e) => e.type === 'credentials.assumed')
      .map((e) => ({ seq: e.seq, time: e.time, target: e.target ?? '', summary: scalars(e.data, 8) })),
    clocks: clocksOf(entries),
  };
}

/**
 * Each failed step; a selector's scope that could not be searched says which scope (in a case
 * sealed before the shared form, GCP recorded a failed project as `selector.failed`: it is one too).
 */
function failureRows(entries: readonly LedgerEntry[]): FailureRow[] {
  const rows: FailureRow[] = [];
  for (const e of entries) {
    const search = readSelectorSearchEntry(e);
    if (search?.kind === 'scope-failed') {
      rows.push({ seq: e.seq, time: e.time, target: e.target ?? search.selector, what: `resolve-selector (${search.where})`, message: search.error });
    } else if (e.type === 'step.failed') {
      rows.push({ seq: e.seq, time: e.time, target: e.target ?? '', what: stringOf(e.data.step) ?? stringOf(e.data.action) ?? '', message: errorText(e.data) });
    }
  }
  return rows;
}

/**
 * Where the ledger records each cloud's clock: the cloud's time minus the collector's, measured
 * from the Date of an answer — the one that issued a credential, or (Azure, whose services each
 * keep a clock of their own and date different things) the first answer of ARM in a subscription
 * and of Blob Storage in a run (`clock.observed`). The field names are the ledger's; the words are
 * for the report.
 */
const CLOCK_FIELDS: ReadonlyArray<Omit<ClockRow, 'minMs' | 'maxMs' | 'credentials'>> = [
  { entryType: 'credentials.assumed', field: 'awsClockOffsetMs', cloud: 'AWS', answers: "STS's answers", credential: 'role session' },
  { entryType: 'credentials.obtained', field: 'azureClockOffsetMs', cloud: 'Microsoft', answers: "the identity endpoint's answers", credential: 'token' },
  { entryType: 'clock.observed', field: 'armClockOffsetMs', cloud: 'Azure Resource Manager', answers: "ARM's answers", credential: 'subscription session' },
  { entryType: 'clock.observed', field: 'storageClockOffsetMs', cloud: 'Azure Blob Storage', answers: "the evidence account's answers", credential: 'run' },
  { entryType: 'credentials.impersonated', field: 'gcpClockOffsetMs', cloud: 'Google', answers: "IAM Credentials' answers", credential: 'token' },
];

export interface ClockRow {
  entryType: string;
  field: string;
  /** Whose clock: AWS, Microsoft (Entra ID), Azure Resource Manager, Azure Blob Storage, Google. */
  cloud: string;
  /** Which answers' Date the offsets come from. */
  answers: string;
  /** What one entry stands for (a role session, a token, a subscription session, a run). */
  credential: string;
  minMs: number;
  maxMs: number;
  /** How many entries recorded an offset. */
  credentials: number;
}

/** The range of each cloud's recorded clock offsets, for the clouds that recorded any. */
function clocksOf(entries: readonly LedgerEntry[]): ClockRow[] {
  const rows: ClockRow[] = [];
  for (const source of CLOCK_FIELDS) {
    const offsets = entries
      .filter((e) => e.type === source.entryType && typeof e.data[source.field] === 'number' && Number.isFinite(e.data[source.field]))
      .map((e) => e.data[source.field] as number);
    if (offsets.length > 0) rows.push({ ...source, minMs: Math.min(...offsets), maxMs: Math.max(...offsets), credentials: offsets.length });
  }
  return rows;
}

function runRow(entry: LedgerEntry): RunRow {
  const tool = entry.data.tool as { name?: unknown; version?: unknown } | undefined;
  return {
    seq: entry.seq,
    time: entry.time,
    kind: entry.type === 'case.opened' ? 'opened' : 'resumed',
    analyst: stringOf(entry.data.analyst) ?? entry.actor,
    principal: principalText(entry.data.principal),
    host: stringOf(entry.data.host) ?? '(unknown)',
    tool: tool ? `${String(tool.name ?? '')} ${String(tool.version ?? '')}`.trim() : '(unknown)',
  };
}

/** `arn (account …, user id …)`; cases recorded before principals were have none. */
function principalText(principal: unknown): string {
  if (typeof principal === 'string' && principal !== '') return principal;
  if (principal === null || typeof principal !== 'object') return 'not recorded';
  const p = principal as Record<string, unknown>;
  const arn = stringOf(p.arn) ?? stringOf(p.Arn);
  const account = stringOf(p.account) ?? stringOf(p.Account);
  const userId = stringOf(p.userId) ?? stringOf(p.UserId);
  const extra = [account ? `account ${account}` : undefined, userId ? `user id ${userId}` : undefined].filter(Boolean).join(', ');
  if (!arn && !extra) return scalars(p, 4) || 'not recorded';
  return `${arn ?? '(no ARN)'}${extra ? ` (${extra})` : ''}`;
}

/**
 * Targets in the order the ledger first names them. The status is the last `target.completed`
 * for it, else the case's `notCollected`, else unknown (a run cut short before it finished).
 */
function targetRows(
  entries: readonly LedgerEntry[],
  artifacts: readonly ManifestArtifact[],
  files: readonly ManifestFile[],
  notCollected: readonly unknown[],
): TargetRow[] {
  const rows = new Map<string, TargetRow>();
  const rowOf = (target: string): TargetRow => {
    let row = rows.get(target);
    if (!row) {
      row = { target, status: 'no outcome recorded', reason: '', snapshots: [], files: 0 };
      rows.set(target, row);
    }
    return row;
  };
  for (const entry of entries) {
    if (!entry.target || entry.type === 'evidence.recovered') continue;
    const row = rowOf(entry.target);
    if (entry.type === 'target.completed') {
      row.status = stringOf(entry.data.status) ?? row.status;
      row.reason = stringOf(entry.data.reason) ?? errorText(entry.data);
    } else if (entry.type === 'target.covered') {
      row.status = 'covered';
      row.reason = stringOf(entry.data.reason) ?? `collected as part of ${stringOf(entry.data.coveredBy) ?? 'another target'}`;
    }
  }
  for (const item of notCollected) {
    const record = (item ?? {}) as Record<string, unknown>;
    const target = stringOf(record.target);
    if (!target) continue;
    const row = rowOf(target);
    if (row.status === 'no outcome recorded') row.status = stringOf(record.status) ?? row.status;
    if (!row.reason) row.reason = stringOf(record.reason) ?? errorText(record);
  }
  const keys = snapshotKeys(entries);
  const locks = snapshotLocks(entries);
  for (const artifact of artifacts) {
    if (!artifact.target) continue;
    rowOf(artifact.target).snapshots.push(snapshotLine(artifact, keys, locks));
  }
  for (const file of files) if (file.target) rowOf(file.target).files += 1;
  return [...rows.values()];
}

/** `vol-…: snap-a → re-encrypted snap-b → forensics copy snap-c (key …), locked …`. */
function snapshotLine(artifact: ManifestArtifact, keys: Map<string, string>, locks: Map<string, string>): string {
  const ids = artifact.cloudIds;
  const volume = stringOf(artifact.details?.volumeId) ?? artifact.source;
  const step = (label: string, id: unknown) => {
    const snapshot = stringOf(id);
    if (!snapshot) return undefined;
    const key = keys.get(snapshot);
    const lock = locks.get(snapshot);
    return `${label}${snapshot}${key ? ` (key ${shortKey(key)})` : ''}${lock ? `, ${lock}` : ''}`;
  };
  const parts = [
    step('', ids.snapshotId),
    step('re-encrypted ', ids.reencryptedSnapshotId),
    step('forensics copy ', ids.forensicsSnapshotId),
  ].filter((p): p is string => p !== undefined);
  const other = Object.entries(ids)
    .filter(([k]) => !['snapshotId', 'reencryptedSnapshotId', 'forensicsSnapshotId'].includes(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  // A provider that cannot hash its snapshots says so in details.contentHash; the report repeats it.
  const hash = stringOf(artifact.details?.contentHash);
  const consistency = stringOf(artifact.details?.consistency);
  const notes = [hash ? `content hash: ${hash}` : undefined, consistency].filter((n): n is string => n !== undefined);
  return `${volume}: ${[...parts, ...other].join(' → ') || '(no snapshot id recorded)'}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`;
}

/**
 * The files whose recording entry carries a `redaction`. A file's state is its latest entry (as in
 * the manifest): a recovered file, or one recorded again without a redaction, has none.
 */
function redactionRows(entries: readonly LedgerEntry[], files: readonly ManifestFile[]): RedactionRow[] {
  const bySeq = new Map(entries.map((e) => [e.seq, e]));
  const rows: RedactionRow[] = [];
  for (const file of files) {
    const entry = bySeq.get(file.entrySeq);
    if (file.recovered || entry?.type !== 'evidence.stored') continue;
    const redaction = entry.data.redaction;
    if (redaction === null || typeof redaction !== 'object') continue;
    const { originalSha256, redacted } = redaction as Record<string, unknown>;
    const cuts = (Array.isArray(redacted) ? redacted : []).map((cut: unknown) => {
      const c = (cut ?? {}) as Record<string, unknown>;
      return { path: stringOf(c.path) ?? '(no path recorded)', kind: stringOf(c.kind) ?? '(no kind recorded)' };
    });
    rows.push({
      path: file.path,
      target: file.target ?? '',
      sha256: file.sha256,
      originalSha256: stringOf(originalSha256) ?? '(not recorded)',
      cuts,
      entrySeq: entry.seq,
    });
  }
  return rows;
}

/** `ACCOUNT:key/ID` of a KMS key ARN (the region is the snapshot's; the full ARN is in the timeline). */
function shortKey(key: string): string {
  const arn = /^arn:[^:]+:kms:[^:]*:(\d*):(.+)$/.exec(key);
  return arn ? `${arn[1]}:${arn[2]}` : key;
}

function snapshotKeys(entries: readonly LedgerEntry[]): Map<string, string> {
  const keys = new Map<string, string>();
  for (const e of entries) {
    const id = stringOf(e.data.snapshotId);
    const key = stringOf(e.data.kmsKeyId);
    if (id && key && (e.type === 'snapshot.copied' || e.type === 'snapshot.completed' || e.type === 'snapshot.created')) keys.set(id, key);
  }
  return keys;
}

function snapshotLocks(entries: readonly LedgerEntry[]): Map<string, string> {
  const locks = new Map<string, string>();
  for (const e of entries) {
    const id = stringOf(e.data.snapshotId);
    if (e.type !== 'snapshot.locked' || !id) continue;
    const until = stringOf(e.data.lockExpiresOn);
    locks.set(id, `locked ${stringOf(e.data.lockState) ?? ''}${until ? ` until ${until}` : ''}`.replace(/\s+/g, ' ').trim());
  }
  return locks;
}

/**
 * `change.requested` entries, each with what its `change.applied` said, or its
 * `change.unconfirmed` (the provider accepted the change but reports otherwise), or neither; and
 * `change.found-in-effect` entries (already as asked: no change sent).
 */
function changeRows(entries: readonly LedgerEntry[]): ChangeRow[] {
  const rows: ChangeRow[] = [];
  const nameOf = (d: Record<string, unknown>) =>
    [stringOf(d.change) ?? stringOf(d.attribute) ?? '(change)', stringOf(d.resource) ?? stringOf(d.instanceId)].filter(Boolean).join(' on ');
  entries.forEach((entry, index) => {
    if (entry.type === 'change.found-in-effect') {
      // Already as asked when read: nothing was sent, so before and after are the value read.
      const value = valueText(entry.data.value ?? perVolume(entry.data.volumes, 'value'), 'not read');
      rows.push({
        seq: entry.seq,
        time: entry.time,
        target: entry.target ?? '',
        change: nameOf(entry.data),
        before: value,
        after: value,
        result: `not changed: already in effect when read (entry ${entry.seq})`,
      });
      return;
    }
    if (entry.type !== 'change.requested') return;
    const name = nameOf(entry.data);
    const outcome = entries
      .slice(index + 1)
      .find((e) => (e.type === 'change.applied' || e.type === 'change.unconfirmed') && e.target === entry.target && nameOf(e.data) === name);
    const answered = outcome?.data;
    rows.push({
      seq: entry.seq,
      time: entry.time,
      target: entry.target ?? '',
      change: name,
      before: valueText(entry.data.before ?? perVolume(entry.data.volumes, 'before'), 'not read'),
      after:
        outcome?.type === 'change.unconfirmed'
          ? valueText(answered?.after ?? perVolume(answered?.volumes, 'after'), 'not read back')
          : valueText(answered?.after ?? perVolume(answered?.volumes, 'after') ?? entry.data.after ?? entry.data.labels ?? entry.data.patch, 'see change'),
      result: !outcome
        ? 'not confirmed: no change.applied follows (see Failures)'
        : outcome.type === 'change.applied'
          ? `applied (entry ${outcome.seq})`
          : answered?.readBackError !== undefined
            ? `NOT CONFIRMED: sent and answered, but its read-back failed (entry ${outcome.seq}; see Failures)`
            : `NOT APPLIED: accepted, but the provider reports the value in "after" (entry ${outcome.seq}; see Failures)`,
    });
  });
  return rows;
}

/** Whom a share's read-back lists (`confirmed.createVolumePermission`: accounts, `group all`); undefined when it was not read back. */
function sharedWith(confirmed: unknown): string[] | undefined {
  const listed = (confirmed as { createVolumePermission?: unknown } | null | undefined)?.createVolumePermission;
  if (!Array.isArray(listed)) return undefined;
  return listed.map((p: { userId?: unknown; group?: unknown }) => (p?.userId !== undefined ? String(p.userId) : `group ${String(p?.group)}`));
}

/** A change recorded per volume (AWS DeleteOnTermination) as `volumeId: value` pairs, or undefined. */
function perVolume(volumes: unknown, field: 'before' | 'after' | 'value'): string | undefined {
  if (!Array.isArray(volumes) || volumes.length === 0) return undefined;
  const pairs = volumes.map((v: Record<string, unknown>) => `${String(v?.volumeId ?? '?')}: ${valueText(v?.[field], 'not read')}`);
  return pairs.join(', ');
}

function valueText(value: unknown, missing: string): string {
  if (value === undefined || value === null) return missing;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** One short line per entry for the timeline. */
export function summarize(entry: LedgerEntry): string {
  const d = entry.data;
  switch (entry.type) {
    case 'case.opened':
    case 'case.resumed': {
      const tool = d.tool as { version?: unknown } | undefined;
      return `analyst ${String(d.analyst ?? entry.actor)}, version ${String(tool?.version ?? '?')}, host ${String(d.host ?? '?')}`;
    }
    case 'case.closed':
      return `outcomes ${scalars((d.outcomes ?? {}) as Record<string, unknown>, 4)}`;
    case 'evidence.stored':
      return `${String(d.path)} (${String(d.size)} bytes, sha256 ${String(d.sha256).slice(0, 16)}…)`;
    case 'evidence.recovered':
      return `RECOVERED ${String(d.path)} (${String(d.size)} bytes, sha256 ${String(d.sha256).slice(0, 16)}…): found after an interrupted run, not attested before this resume`;
    case 'artifact.recorded':
      return `${String(d.kind)} ${String(d.evidenceId)}: ${scalars((d.cloudIds ?? {}) as Record<string, unknown>, 6)}`;
    case 'step.failed':
    case 'selector.searched':
    case 'selector.resolved':
    case 'selector.failed': {
      const search = readSelectorSearchEntry(entry);
      if (search?.kind === 'scope-searched') return `${search.where}: ${search.found.length} found${search.found.length > 0 ? ` (${search.found.slice(0, 5).join(', ')}${search.found.length > 5 ? ', …' : ''})` : ''}, request ids ${search.requestIds.slice(0, 3).join(', ') || '(none recorded)'}${search.requestIds.length > 3 ? ', …' : ''}`;
      if (search?.kind === 'scope-failed') return `resolve-selector ${search.where}: ${search.error}${search.requestIds.length > 0 ? ` (request ${search.requestIds[0]})` : ''}`;
      if (search?.kind === 'resolved') return `${search.selector}: ${search.targets.length} target(s)${search.provider ? ` (provider ${search.provider})` : ''}`;
      if (entry.type === 'step.failed') return `${stringOf(d.step) ?? ''} ${errorText(d)}`.trim();
      return scalars(d, 5);
    }
    case 'evidence.copied':
      return `${String(d.path)} → s3://${String(d.bucket)}/${String(d.key)} version ${String(d.versionId)}, locked ${scalars((d.retention ?? {}) as Record<string, unknown>, 2)}`;
    case 'copy.failed':
      return `COPY FAILED ${String(d.path)} → s3://${String(d.bucket)}/${String(d.key)}: ${errorText(d)}`;
    case 'snapshot.shared': {
      const names = sharedWith(d.confirmed);
      // A case recorded before shares were read back holds the request only: claim no read-back.
      if (names === undefined) return `${String(d.snapshotId)} shared with ${String(d.withAccount)} (request ${String(d.requestId ?? '?')}): not read back`;
      // Whom else EC2 lists (another account, the public group) is said, never left to the raw fields.
      const others = names.filter((n) => n !== String(d.withAccount));
      const also = others.length > 0 ? `; EC2 ALSO LISTS ${others.join(', ')}` : '';
      return `${String(d.snapshotId)} shared with ${String(d.withAccount)}: EC2 lists it (read back, request ${String(d.confirmRequestId ?? '?')})${also}`;
    }
    case 'snapshot.share-unconfirmed': {
      // The share was sent and answered, but EC2 did not show it: say so where a reader looks.
      const names = sharedWith(d.confirmed) ?? [];
      const why = d.confirmed === null ? `its read-back failed: ${errorText({ error: d.readBackError })}` : `EC2 lists ${names.length > 0 ? names.join(', ') : 'no account'}`;
      return `SHARE NOT CONFIRMED ${String(d.snapshotId)} with ${String(d.withAccount)}: ${why}${d.then ? `; ${String(d.then)}` : ''}`;
    }
    default:
      return scalars(d, 5);
  }
}

/** `key=value` for the first scalar fields, cut to a readable length. */
function scalars(data: Record<string, unknown>, max: number): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(data)) {
    if (parts.length >= max) break;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      parts.push(`${key}=${String(value)}`);
    }
  }
  const text = parts.join(', ');
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}
