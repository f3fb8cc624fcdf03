// Runs the CLI in-process with buffers for IO and fake dependencies (the real ones are exercised
// by test/e2e).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli/app.js';
import type { CliDeps, DemoLab, PreflightRowView, VerifyOutcome } from '../../src/cli/deps.js';
import type { CliIo } from '../../src/cli/io.js';
import type { TargetOutcome } from '../../src/core/ports.js';
import { FakeAwsProvider, MemoryRecorder } from '../core/fakes.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface FakeWorld {
  dir: string;
  provider: FakeAwsProvider;
  opened: Array<{ caseId: string; resume: boolean; analyst: string; principal?: unknown }>;
  closed: Array<readonly TargetOutcome[]>;
  recorder?: MemoryRecorder;
  verifyResult: VerifyOutcome | undefined;
  preflightRows: PreflightRowView[];
  deps: CliDeps;
}

const worldDirs: string[] = [];

/** Removes every folder `fakeWorld` made (call from afterAll). */
export function removeWorlds(): void {
  for (const dir of worldDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

export function fakeWorld(): FakeWorld {
  const dir = mkdtempSync(join(tmpdir(), 'custody-cli-'));
  worldDirs.push(dir);
  const world: FakeWorld = {
    dir,
    provider: new FakeAwsProvider(),
    opened: [],
    closed: [],
    verifyResult: undefined,
    preflightRows: [],
    deps: undefined as unknown as CliDeps,
  };
  world.deps = {
    createProviders: async () => [world.provider],
    preflight: async () => world.preflightRows,
    openCase: async ({ config, caseId, resume, analyst, principal }) => {
      world.opened.push({ caseId, resume, analyst, ...(principal ? { principal } : {}) });
      const caseDir = join(config.casesDir, caseId);
      mkdirSync(caseDir, { recursive: true });
      const recorder = world.recorder ?? new MemoryRecorder();
      Object.defineProperty(recorder, 'caseDir', { value: caseDir });
      return { recorder, close: async (outcomes) => void world.closed.push(outcomes), release: async () => {} };
    },
    verifyCase: async (caseDir) => world.verifyResult ?? { ok: true, caseDir, entries: 3, files: 1, problems: [] },
    renderReport: async (caseDir) => ({ markdown: join(caseDir, 'report.md'), html: join(caseDir, 'report.html') }),
    callerIdentity: async () => ({ arn: 'arn:aws:sts::111111111111:assumed-role/Responder/carol', account: '111111111111', userId: 'AROAEXAMPLE:carol' }),
    startDemoLab: async () => {
      throw new Error('no lab in CLI unit tests');
    },
  };
  return world;
}

/**
 * A stop signal that fires once the world's case is opened (Ctrl-C, SIGTERM or a Lambda deadline
 * mid-run): what a run stopped after creating its case does.
 */
export function stopAfterCaseOpens(world: FakeWorld, reason: string): AbortSignal {
  const stop = new AbortController();
  const open = world.deps.openCase;
  world.deps.openCase = async (request) => {
    const opened = await open(request);
    stop.abort(new Error(reason));
    return opened;
  };
  return stop.signal;
}

export function writeConfig(dir: string, config: unknown, name = 'custody.config.json'): string {
  const path = join(dir, name);
  writeFileSync(path, typeof config === 'string' ? config : JSON.stringify(config));
  return path;
}

export const GOOD_CONFIG = {
  casesDir: 'cases',
  aws: { forensicsAccount: '111111111111', region: 'us-east-1', allowedAccounts: ['222222222222', '333333333333'] },
};

/** An Azure section that parses (no lab behind it): one customer subscription, SUB. */
export function azureSection(subscriptionId: string) {
  return {
    socTenantId: '99999999-2222-3333-4444-555555555555',
    socSubscriptionId: '88888888-2222-3333-4444-555555555555',
    clientId: '77777777-2222-3333-4444-555555555555',
    assertion: { source: 'token-file', path: 'federated-token' },
    subscriptions: [{ subscriptionId, tenantId: '66666666-2222-3333-4444-555555555555' }],
    evidenceContainerUrl: 'https://socevidence.blob.core.windows.net/evidence',
  };
}

export async function cli(world: FakeWorld, argv: string[], options: { tty?: boolean; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
    stderrIsTTY: options.tty ?? false,
    env: options.env ?? {},
    cwd: world.dir,
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const code = await runCli(argv, io, () => world.deps);
  return { code, stdout, stderr };
}

/** A demo lab with no servers: its config is GOOD_CONFIG's aws section, its collectable targets `collectable`. */
export function fakeDemoLab(collectable: string[], onClose: () => void = () => {}): DemoLab {
  return {
    parts: [],
    endpoint: 'http://127.0.0.1:1',
    endpoints: { AWS: 'http://127.0.0.1:1' },
    config: { aws: GOOD_CONFIG.aws },
    env: {},
    targets: { collectable, refusedByPolicy: [], followed: [] },
    description: [],
    checkCase: () => ({ ok: true, lines: [] }),
    close: async () => onClose(),
  };
}
