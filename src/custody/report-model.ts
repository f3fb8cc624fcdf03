/**
 * What a report shows, computed once from the ledger and the verification result; the Markdown
 * and HTML renderers only lay it out.
 */
import type { LedgerEntry } from '../core/ports.js';
import { collectEvidenceItems, type ManifestArtifact, type ManifestFile } from './manifest.js';
import type { VerifyResult } from './verify.js';

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

export interface ReportModel {
  caseId: string;
  generatedAt: string;
  analysts: string[];
  toolVersions: string[];
  hosts: string[];
  fingerprint: string;
  verification: VerifyResult;
  timeline: TimelineRow[];
  files: ManifestFile[];
  artifacts: ManifestArtifact[];
  failures: FailureRow[];
  notCollected: FailureRow[];
  roles: RoleRow[];
}

export function buildReportModel(entries: readonly LedgerEntry[], verification: VerifyResult, now: Date): ReportModel {
  const runs = entries.filter((e) => e.type === 'case.opened' || e.type === 'case.resumed');
  const unique = (values: unknown[]) => [...new Set(values.filter((v): v is string => typeof v === 'string' && v !== ''))];
  const { files, artifacts } = collectEvidenceItems(entries);
  const lastClosed = [...entries].reverse().find((e) => e.type === 'case.closed');
  const notCollected = Array.isArray(lastClosed?.data.notCollected) ? (lastClosed.data.notCollected as unknown[]) : [];
  return {
    caseId: verification.caseId ?? stringOf(runs[0]?.data.caseId) ?? '(unknown)',
    generatedAt: now.toISOString(),
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
    artifacts,
    failures: entries
      .filter((e) => e.type === 'step.failed')
      .map((e) => ({
        seq: e.seq,
        time: e.time,
        target: e.target ?? '',
        what: stringOf(e.data.step) ?? stringOf(e.data.action) ?? '',
        message: errorText(e.data),
      })),
    notCollected: notCollected.map((item) => {
      const row = (item ?? {}) as Record<string, unknown>;
      return {
        target: stringOf(row.target) ?? '',
        what: stringOf(row.status) ?? '',
        message: stringOf(row.reason) ?? errorText(row),
      };
    }),
    roles: entries
      .filter((e) => e.type === 'credentials.assumed')
      .map((e) => ({ seq: e.seq, time: e.time, target: e.target ?? '', summary: scalars(e.data, 8) })),
  };
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
      return `${stringOf(d.step) ?? ''} ${errorText(d)}`.trim();
    default:
      return scalars(d, 5);
  }
}

function errorText(data: Record<string, unknown>): string {
  const error = data.error as Record<string, unknown> | undefined;
  if (error && typeof error === 'object') {
    return [stringOf(error.code), stringOf(error.message)].filter(Boolean).join(' ');
  }
  return stringOf(data.reason) ?? stringOf(data.message) ?? '';
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

function stringOf(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
