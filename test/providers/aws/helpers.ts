/**
 * Test doubles for the AWS provider's tests: an in-memory case recorder (until a real case is
 * used), a progress sink that keeps events, and default collect options.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { CustodyError } from '../../../src/core/errors.js';
import { collectEvidenceItems } from '../../../src/custody/manifest.js';
import type {
  ArtifactInput,
  CaseRecorder,
  CollectOptions,
  EvidenceContent,
  EvidenceInput,
  LedgerEntry,
  ProgressEvent,
  ProviderContext,
  StoredEvidence,
} from '../../../src/core/ports.js';

async function toBytes(content: EvidenceContent): Promise<Buffer> {
  if (typeof content === 'string') return Buffer.from(content);
  if (content instanceof Uint8Array) return Buffer.from(content);
  const chunks: Buffer[] = [];
  for await (const chunk of content as Readable | AsyncIterable<Uint8Array | string>) {
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array));
  }
  return Buffer.concat(chunks);
}

export class MemoryRecorder implements CaseRecorder {
  readonly caseDir: string;
  readonly log: LedgerEntry[];
  readonly files = new Map<string, Buffer>();

  constructor(
    readonly caseId: string,
    readonly analyst = 'alice@example.com',
    earlier: LedgerEntry[] = [],
  ) {
    this.caseDir = `/memory/${caseId}`;
    this.log = [...earlier];
  }

  async record(type: string, data: Record<string, unknown> = {}, target?: string): Promise<LedgerEntry> {
    const entry: LedgerEntry = {
      seq: this.log.length,
      time: new Date().toISOString(),
      type,
      actor: this.analyst,
      ...(target ? { target } : {}),
      // A JSON round trip, as a real ledger would store it.
      data: JSON.parse(JSON.stringify(data)) as Record<string, unknown>,
      prev: '',
      hash: '',
      sig: '',
    };
    this.log.push(entry);
    return entry;
  }

  entries(): readonly LedgerEntry[] {
    return this.log;
  }

  evidenceFile(evidenceId: string, name: string): { sha256: string } | undefined {
    const bytes = this.files.get(`evidence/${evidenceId}/${name}`);
    return bytes ? { sha256: createHash('sha256').update(bytes).digest('hex') } : undefined;
  }

  async storeEvidence(input: EvidenceInput): Promise<StoredEvidence> {
    const bytes = await toBytes(input.content);
    const path = `evidence/${input.evidenceId}/${input.name}`;
    // Like the real evidence store: never overwrite a file with other bytes.
    const existing = this.files.get(path);
    if (existing && !existing.equals(bytes)) {
      throw new CustodyError('E_INPUT', `${path} already exists with different content; evidence is never overwritten`, { resource: path });
    }
    this.files.set(path, bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await this.record('evidence.stored', { evidenceId: input.evidenceId, name: input.name, kind: input.kind, source: input.source, path, sha256, size: bytes.length, cloudIds: input.cloudIds ?? {}, requestIds: input.requestIds ?? [] }, input.target);
    return { evidenceId: input.evidenceId, name: input.name, path, sha256, size: bytes.length };
  }

  async recordArtifact(input: ArtifactInput): Promise<LedgerEntry> {
    return this.record('artifact.recorded', { ...input }, input.target);
  }

  ofType(type: string): LedgerEntry[] {
    return this.log.filter((e) => e.type === type);
  }

  types(): string[] {
    return this.log.map((e) => e.type);
  }

  file(evidenceId: string, name: string): string | undefined {
    return this.files.get(`evidence/${evidenceId}/${name}`)?.toString('utf8');
  }
}

export const defaultOptions: CollectOptions = {
  preserve: false,
  isolate: false,
  screenshot: false,
  includeEnv: false,
  retrieveCheckpoint: false,
};

export function contextFor(recorder: CaseRecorder, options: Partial<CollectOptions> = {}): ProviderContext & { events: ProgressEvent[] } {
  const events: ProgressEvent[] = [];
  return {
    recorder,
    progress: (e) => events.push(e),
    options: { ...defaultOptions, ...options },
    signal: new AbortController().signal,
    events,
  };
}

/** Every string in the ledger, to check no credential leaked into it. */
export function ledgerText(entries: readonly LedgerEntry[]): string {
  return entries.map((e) => JSON.stringify(e)).join('\n');
}

/**
 * The artefacts as the signed manifest lists them: every `artifact.recorded` of one evidence id
 * merged (a chain records each snapshot as soon as it exists). Each with its volume id.
 */
export function manifestArtifacts(entries: readonly LedgerEntry[]): Array<{ volumeId: string; cloudIds: Record<string, string>; evidenceId: string; target?: string }> {
  return collectEvidenceItems(entries).artifacts.map((a) => ({
    volumeId: String(a.details?.volumeId),
    cloudIds: a.cloudIds as Record<string, string>,
    evidenceId: a.evidenceId,
    ...(a.target !== undefined ? { target: a.target } : {}),
  }));
}
