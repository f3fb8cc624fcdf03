/**
 * A GCP lab and a case session pointed at it, the way a deployment points the product at Google:
 * ADC finds the orchestrator's token on the (lab's) metadata server through GCE_METADATA_HOST;
 * the collector tokens come from the lab's IAM Credentials; Compute is the real client.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { EvidenceInput, StoredEvidence } from '../../../src/core/ports.js';
import { gcpDemoScenario, startGcpLab, type GcpLab, type LabGcpScenario, type StartGcpLabOptions } from '../../../src/lab/gcp/index.js';
import { parseGcpConfig, type GcpConfig } from '../../../src/providers/gcp/config.js';
import { GcpSession, type GcpSessionOptions } from '../../../src/providers/gcp/session.js';
import { MemoryRecorder } from '../../core/fakes.js';

/** Keeps what was stored, so tests can read the evidence. */
export class ContentRecorder extends MemoryRecorder {
  readonly files = new Map<string, string | Buffer>();

  override async storeEvidence(input: EvidenceInput): Promise<StoredEvidence> {
    const content = typeof input.content === 'string' || input.content instanceof Uint8Array ? input.content : '(stream)';
    this.files.set(`${input.evidenceId}/${input.name}`, typeof content === 'string' ? content : Buffer.from(content));
    await this.record('evidence.stored', { evidenceId: input.evidenceId, name: input.name, kind: input.kind, cloudIds: input.cloudIds ?? {} }, input.target);
    return { evidenceId: input.evidenceId, name: input.name, path: `evidence/${input.evidenceId}/${input.name}`, sha256: '0'.repeat(64), size: 0 };
  }

  override async recordArtifact(input: Parameters<MemoryRecorder['recordArtifact']>[0]) {
    return this.record('artifact.recorded', { ...input });
  }

  fileNamed(name: string): string | Buffer | undefined {
    for (const [key, value] of this.files) if (key.endsWith(`/${name}`)) return value;
    return undefined;
  }
}

/** The variables pointAdcAt sets: vitest may run another test file in this process next. */
const ADC_VARIABLES = ['GCE_METADATA_HOST', 'METADATA_SERVER_DETECTION', 'GOOGLE_APPLICATION_CREDENTIALS', 'CLOUDSDK_CONFIG'] as const;

/**
 * ADC, as on a forensics VM: the metadata server is the lab; no key file, no gcloud login.
 * Returns what puts the environment back as it was (and removes the empty gcloud folder).
 */
export function pointAdcAt(lab: GcpLab): () => void {
  const before = new Map(ADC_VARIABLES.map((name) => [name, process.env[name]]));
  const gcloudDir = mkdtempSync(join(tmpdir(), 'custody-gcloud-'));
  process.env.GCE_METADATA_HOST = lab.metadataHost;
  process.env.METADATA_SERVER_DETECTION = 'assume-present';
  delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
  process.env.CLOUDSDK_CONFIG = gcloudDir;
  return () => {
    for (const [name, value] of before) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    rmSync(gcloudDir, { recursive: true, force: true });
  };
}

export interface GcpFixture {
  lab: GcpLab;
  config: GcpConfig;
  recorder: ContentRecorder;
  session: GcpSession;
  /** A session on the lab (quick pauses unless `options` say otherwise), closed when the fixture stops. */
  newSession(recorder?: ContentRecorder, options?: Partial<Omit<GcpSessionOptions, 'config' | 'recorder'>>): GcpSession;
  /** Closes its sessions, stops the lab and puts ADC back; once, however often it is called. */
  stop(): Promise<void>;
}

export interface GcpFixtureOptions {
  config?: Record<string, unknown>;
  lab?: StartGcpLabOptions;
  scenario?: LabGcpScenario;
}

export async function startGcpFixture(options: GcpFixtureOptions = {}): Promise<GcpFixture> {
  const lab = await startGcpLab(options.scenario ?? gcpDemoScenario(), options.lab);
  const restoreAdc = pointAdcAt(lab);
  const config = parseGcpConfig({
    forensicsProject: 'custody-forensics',
    allowedProjects: ['web-prod', 'gke-prod'],
    endpoints: lab.endpoints,
    ...options.config,
  });
  const sessions: GcpSession[] = [];
  const newSession: GcpFixture['newSession'] = (recorder = new ContentRecorder(), sessionOptions = {}) => {
    const session = new GcpSession({ version: '0.1.0', sleep: async () => {}, waitIdleDelayMs: 0, readyPollMs: 0, retry: { baseDelayMs: 0 }, ...sessionOptions, config, recorder });
    sessions.push(session);
    return session;
  };
  const recorder = new ContentRecorder();
  const session = newSession(recorder);
  let stopped: Promise<void> | undefined;
  const stop = async () => {
    try {
      for (const s of sessions) await s.close();
      await lab.stop();
    } finally {
      restoreAdc();
    }
  };
  return { lab, config, recorder, session, newSession, stop: () => (stopped ??= stop()) };
}

/**
 * What starts a fixture in a test of the calling file; each one started is stopped after its test,
 * the last started first (each puts back the ADC variables the one before it set).
 */
export function useGcpFixtures(): (options?: GcpFixtureOptions) => Promise<GcpFixture> {
  const started: GcpFixture[] = [];
  afterEach(async () => {
    for (let fx = started.pop(); fx; fx = started.pop()) await fx.stop();
  });
  return async (options) => {
    const fx = await startGcpFixture(options);
    started.push(fx);
    return fx;
  };
}

/** Compute's snapshots from now on, as if it described each without an id (the field is optional). */
export function snapshotsWithoutIds(fx: GcpFixture): void {
  const snapshots = fx.lab.state.snapshots;
  for (const snapshot of snapshots.values()) (snapshot as { id?: string }).id = undefined;
  const set = snapshots.set.bind(snapshots);
  snapshots.set = (key, snapshot) => set(key, { ...snapshot, id: undefined as unknown as string });
}
