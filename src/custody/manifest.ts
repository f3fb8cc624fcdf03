/**
 * manifest.json: the signed list of everything a closed case holds — files in `evidence/` and
 * artefacts that live in a cloud — tied to the ledger by its head `{seq, hash}`.
 */
import type { LedgerEntry } from '../core/ports.js';
import { canonicalize, sameJson } from './canonical-json.js';
import { signText, verifyText, type SigningKey } from './signing-key.js';
import { showUntrusted } from './untrusted-text.js';

export { MANIFEST_FILE } from './layout.js';

export interface ManifestFile {
  evidenceId: string;
  name: string;
  /** `evidence/<evidenceId>/<name>` */
  path: string;
  /** Absent for a recovered file: the run that wrote it was killed before saying what it was. */
  kind?: string;
  source?: string;
  sha256: string;
  size: number;
  mediaType?: string;
  target?: string;
  cloudIds?: Record<string, unknown>;
  requestIds?: unknown[];
  /**
   * Recorded by `evidence.recovered`: found after an interrupted run, written but not recorded
   * before the interruption, so its content before the resume that recorded it is not attested.
   */
  recovered?: true;
  /** The ledger entry that recorded it. */
  entrySeq: number;
}

export interface ManifestArtifact {
  evidenceId: string;
  kind: string;
  source: string;
  target?: string;
  /** Merged over every `artifact.recorded` of this item (a snapshot, then its copy, …). */
  cloudIds: Record<string, unknown>;
  details?: Record<string, unknown>;
  /** The latest entry that recorded it. */
  entrySeq: number;
}

export interface Manifest {
  manifestVersion: 1;
  caseId: string;
  keyAlgorithm: 'Ed25519';
  /** Base64 SPKI DER; must equal the key pinned in `case.opened`. */
  publicKey: string;
  ledgerHead: { seq: number; hash: string };
  /** Time of the head entry (`case.closed`). */
  closedAt: string;
  files: ManifestFile[];
  artifacts: ManifestArtifact[];
  /** Ed25519 over the canonical JSON of the manifest without this field, base64. */
  signature: string;
}

export type UnsignedManifest = Omit<Manifest, 'signature'>;

/** The entry types {@link collectEvidenceItems} reads: no other entry changes the manifest. */
export const ITEM_ENTRY_TYPES: ReadonlySet<string> = new Set(['evidence.stored', 'evidence.recovered', 'artifact.recorded']);

/** The evidence items recorded in `entries`, latest state per item. */
export function collectEvidenceItems(entries: readonly LedgerEntry[]): { files: ManifestFile[]; artifacts: ManifestArtifact[] } {
  const files = new Map<string, ManifestFile>();
  const artifacts = new Map<string, ManifestArtifact>();
  for (const entry of entries) {
    const d = entry.data;
    if (entry.type === 'evidence.stored' && typeof d.path === 'string') {
      files.set(d.path, {
        evidenceId: String(d.evidenceId),
        name: String(d.name),
        path: d.path,
        kind: String(d.kind),
        source: String(d.source),
        sha256: String(d.sha256),
        size: Number(d.size),
        ...(typeof d.mediaType === 'string' ? { mediaType: d.mediaType } : {}),
        ...(entry.target !== undefined ? { target: entry.target } : {}),
        ...(isRecord(d.cloudIds) ? { cloudIds: d.cloudIds } : {}),
        ...(Array.isArray(d.requestIds) ? { requestIds: d.requestIds } : {}),
        entrySeq: entry.seq,
      });
    } else if (entry.type === 'evidence.recovered' && typeof d.path === 'string') {
      files.set(d.path, {
        evidenceId: String(d.evidenceId),
        name: String(d.name),
        path: d.path,
        sha256: String(d.sha256),
        size: Number(d.size),
        ...(entry.target !== undefined ? { target: entry.target } : {}),
        recovered: true,
        entrySeq: entry.seq,
      });
    } else if (entry.type === 'artifact.recorded') {
      const key = artifactKey(d);
      const before = artifacts.get(key);
      const details = { ...(before?.details ?? {}), ...(isRecord(d.details) ? d.details : {}) };
      artifacts.set(key, {
        evidenceId: String(d.evidenceId),
        kind: String(d.kind),
        source: String(d.source),
        ...((entry.target ?? before?.target) !== undefined ? { target: (entry.target ?? before?.target) as string } : {}),
        cloudIds: { ...(before?.cloudIds ?? {}), ...(isRecord(d.cloudIds) ? d.cloudIds : {}) },
        ...(Object.keys(details).length > 0 ? { details } : {}),
        entrySeq: entry.seq,
      });
    }
  }
  return {
    files: [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)),
    artifacts: [...artifacts.values()],
  };
}

/** One way a manifest's list differs from the ledger: said for the examiner, with the entry it names. */
export interface ItemDifference {
  message: string;
  /** The entry that records the item, when there is one (not for an item only the manifest lists). */
  entrySeq?: number;
}

/**
 * How the evidence a manifest lists differs from what the ledger records, item by item, for the
 * examiner: the first difference (files by path, then artefacts), and how many more. Undefined
 * when every item agrees (the lists then differ only in order or repetition). Paths, artefact
 * keys and field names come from manifest.json, so they are shown as untrusted text.
 *
 * @example
 * itemDifference(manifest, collectEvidenceItems(entries))
 * // { message: 'evidence/ev-1/a.json is listed otherwise than entry 3 records it (sha256, size)', entrySeq: 3 }
 */
export function itemDifference(listed: { files?: unknown; artifacts?: unknown }, recorded: ReturnType<typeof collectEvidenceItems>): ItemDifference | undefined {
  const differences = [
    ...differencesOf(listed.files, recorded.files, (f) => String(f.path), (f) => showUntrusted(String(f.path))),
    ...differencesOf(listed.artifacts, recorded.artifacts, artifactKey, (a) => `the ${showUntrusted(String(a.kind))} artefact of ${showUntrusted(String(a.evidenceId))} from ${showUntrusted(String(a.source))}`),
  ];
  const [first, next] = differences;
  if (first === undefined) return undefined;
  const more = differences.length - 1;
  const message =
    more === 0 ? first.message : more === 1 ? `${first.message} (and 1 more difference: ${next!.message})` : `${first.message} (and ${more} more differences, the next: ${next!.message})`;
  return { message, ...(first.entrySeq !== undefined ? { entrySeq: first.entrySeq } : {}) };
}

/** One artefact of the manifest: its evidence item, kind and source (its cloud ids merge under it). */
function artifactKey(a: { evidenceId?: unknown; kind?: unknown; source?: unknown }): string {
  return `${String(a.evidenceId)}\n${String(a.kind)}\n${String(a.source)}`;
}

function differencesOf<T extends { entrySeq: number }>(
  listedItems: unknown,
  recordedItems: readonly T[],
  keyOf: (item: Record<string, unknown>) => string,
  nameOf: (item: Record<string, unknown>) => string,
): ItemDifference[] {
  const listed = new Map<string, Record<string, unknown>>();
  for (const item of Array.isArray(listedItems) ? listedItems : []) if (isRecord(item) && !listed.has(keyOf(item))) listed.set(keyOf(item), item);
  const out: ItemDifference[] = [];
  const recordedKeys = new Set<string>();
  for (const recordedItem of recordedItems) {
    const item = recordedItem as unknown as Record<string, unknown>;
    const entrySeq = recordedItem.entrySeq;
    const key = keyOf(item);
    recordedKeys.add(key);
    const there = listed.get(key);
    if (!there) {
      out.push({ message: `${nameOf(item)} (entry ${entrySeq}) is not listed in manifest.json`, entrySeq });
      continue;
    }
    const fields = [...new Set([...Object.keys(item), ...Object.keys(there)])].filter((k) => !sameJson(item[k], there[k]));
    if (fields.length > 0) out.push({ message: `${nameOf(item)} is listed otherwise than entry ${entrySeq} records it (${fields.map(showUntrusted).join(', ')})`, entrySeq });
  }
  for (const [key, item] of listed) if (!recordedKeys.has(key)) out.push({ message: `${nameOf(item)} is listed in manifest.json but no ledger entry records it` });
  return out;
}

/** Builds the unsigned manifest for a ledger whose last entry is the head. */
export function buildManifest(caseId: string, publicKey: string, entries: readonly LedgerEntry[]): UnsignedManifest {
  const head = entries[entries.length - 1];
  if (!head) throw new Error('a manifest needs at least one ledger entry');
  return {
    manifestVersion: 1,
    caseId,
    keyAlgorithm: 'Ed25519',
    publicKey,
    ledgerHead: { seq: head.seq, hash: head.hash },
    closedAt: head.time,
    ...collectEvidenceItems(entries),
  };
}

/** The exact text the manifest signature covers. */
export function manifestSigningText(manifest: UnsignedManifest | Manifest): string {
  const { signature: _signature, ...rest } = manifest as Manifest;
  return canonicalize(rest);
}

export function signManifest(manifest: UnsignedManifest, key: SigningKey): Manifest {
  return { ...manifest, signature: signText(key, manifestSigningText(manifest)) };
}

export function verifyManifestSignature(manifest: Manifest, publicKey: string): boolean {
  if (typeof manifest.signature !== 'string') return false;
  try {
    return verifyText(publicKey, manifestSigningText(manifest), manifest.signature);
  } catch {
    return false;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
