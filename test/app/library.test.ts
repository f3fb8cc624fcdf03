// The library API (`collect` from 'cloud-custody') as a Lambda function or a SOAR playbook calls it:
// its input often comes from a JSON event, so what the CLI's parser would refuse is refused here too,
// before anything is created.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { collect, verify } from '../../src/app/library.js';
import { CustodyError, ERROR_CODES, exitCodeFor } from '../../src/core/errors.js';
import { parseConfig } from '../../src/providers/config.js';
import type { CaseHandle } from '../../src/custody/index.js';
import { GOOD_CONFIG, fakeWorld, removeWorlds, stopAfterCaseOpens } from '../cli/harness.js';
import { buildClosedCase, useScratch } from '../custody/helpers.js';

afterAll(removeWorlds);

const I1 = 'arn:aws:ec2:us-east-1:222222222222:instance/i-0123456789abcdef0';

async function refusal(run: Promise<unknown>): Promise<CustodyError> {
  const error = await run.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CustodyError);
  return error as CustodyError;
}

describe('collect (library): bad input is refused before anything is created', () => {
  it.each([[''], ['   ']])('a blank analyst (%j) is bad input naming the analyst, never a case recorded as collected by nobody', async (analyst) => {
    const world = fakeWorld();
    const error = await refusal(collect({ config: GOOD_CONFIG, configBase: world.dir, caseId: 'IR-1', analyst, targets: [I1] }, world.deps));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toMatch(/^analyst is empty: /);
    expect(world.opened).toEqual([]);
  });
});

describe('collect (library): targets and selectors from an event', () => {
  it.each([
    ['a single text, not a list', { targets: I1 }, /^targets must be a list of texts \(\["arn:…", "k8s:…"\]\), not a string$/],
    ['a missing event field in the list', { targets: [undefined] }, /^targets\[0\] must be a target text, not undefined$/],
    ['a selector that is not text', { selectors: [{ tag: 'Incident' }] }, /^selectors\[0\] must be a selector text, not an object$/],
    ['selectors as one text', { selectors: 'tag:Incident=IR-1' }, /^selectors must be a list of texts/],
    ['a retry pause that is negative', { targets: [I1], retry: { delayMs: -1 } }, /^retry\.delayMs must be a whole number from 0, not -1$/],
    ['a retry count as text', { targets: [I1], retry: { attempts: '3' } }, /^retry\.attempts must be a whole number from 0, not a string$/],
    ['a retry policy as a number', { targets: [I1], retry: 3 }, /^retry must be \{ attempts, delayMs \}, not a number$/],
  ])('%s is refused as bad input naming the field, not a TypeError', async (_name, given, message) => {
    const world = fakeWorld();
    const request = { config: GOOD_CONFIG, configBase: world.dir, caseId: 'IR-1', analyst: 'soar', ...given } as unknown as Parameters<typeof collect>[0];
    const error = await refusal(collect(request, world.deps));
    expect([error.code, error.message]).toEqual(['E_INPUT', expect.stringMatching(message)]);
    expect(world.opened).toEqual([]);
  });
});

describe('collect (library): a plain-object config', () => {
  it("resolves its relative paths against configBase, the providers' files too (a kubeconfig, a CA file)", async () => {
    const world = fakeWorld();
    const seen: Array<Record<string, unknown>> = [];
    const create = world.deps.createProviders;
    world.deps.createProviders = (config) => {
      seen.push(config as unknown as Record<string, unknown>);
      return create(config);
    };
    const config = {
      ...GOOD_CONFIG,
      kubernetes: { clusters: { prod: { kubeconfig: 'kube/config', caFile: 'ca.pem' }, abs: { kubeconfig: '/etc/kube/config' } } },
    };
    await collect({ config, configBase: world.dir, caseId: 'IR-1', analyst: 'soar', targets: [I1] }, world.deps);
    const at = (path: string) => join(world.dir, path);
    expect(seen.map((c) => [c.casesDir, c.kubernetes])).toEqual([
      [at('cases'), { clusters: { prod: { kubeconfig: at('kube/config'), caFile: at('ca.pem') }, abs: { kubeconfig: '/etc/kube/config' } } }],
    ]);
  });
});

describe('collect (library): a config validated with parseConfig', () => {
  it('still has its relative paths resolved against configBase when one is given', async () => {
    const world = fakeWorld();
    const seen: string[] = [];
    world.deps.createProviders = async (config) => {
      seen.push(config.casesDir);
      throw new CustodyError('E_CONFIG', 'stop here');
    };
    const config = parseConfig({ ...GOOD_CONFIG, casesDir: 'evidence-cases' });
    await refusal(collect({ config, configBase: world.dir, caseId: 'IR-1', analyst: 'soar', targets: [I1] }, world.deps));
    expect(seen).toEqual([join(world.dir, 'evidence-cases')]);
  });
});

describe('collect (library): the case id', () => {
  it.each([
    ['', /^collect needs a caseId /],
    [undefined, /^collect needs a caseId /],
    ['..', /^invalid case id "\.\."/],
    ['IR/1', /^invalid case id "IR\/1"/],
  ])('%j is refused as an invalid case id, not as a folder that "already exists" (add --resume) or a crash', async (caseId, message) => {
    const world = fakeWorld();
    const error = await refusal(collect({ config: GOOD_CONFIG, configBase: world.dir, caseId: caseId as string, analyst: 'soar', targets: [I1] }, world.deps));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toMatch(message);
    expect(world.opened).toEqual([]);
  });
});

describe('collect (library): refusals name the request\'s fields, not the CLI\'s flags', () => {
  it.each([
    ['a case that exists, without resume', true, {}, 'E_INPUT', /^case folder .*IR-1 already exists; pass resume: true to continue that case \(targets already collected are not taken again\), or choose another caseId$/],
    ['resume of a case that does not exist', false, { resume: true }, 'E_INPUT', /^there is no case IR-1 in .*cases to resume \(check caseId and casesDir\); to open a new case, leave resume out$/],
    ['no analyst and no caller identity', false, { analyst: undefined }, 'E_CONFIG', /^no analyst: give analyst or set "analyst" in the config /],
  ])('%s', async (_name, exists, given, code, message) => {
    const world = fakeWorld();
    if (exists) mkdirSync(join(world.dir, 'cases', 'IR-1'), { recursive: true });
    world.deps.callerIdentity = async () => undefined;
    const error = await refusal(collect({ config: GOOD_CONFIG, configBase: world.dir, caseId: 'IR-1', analyst: 'soar', targets: [I1], ...given }, world.deps));
    expect([error.code, error.message]).toEqual([code, expect.stringMatching(message)]);
    expect(error.message).not.toMatch(/--/);
    expect(world.opened).toEqual([]);
  });
});

describe('collect (library): options', () => {
  it.each([['true'], ['false'], [1]])('a boolean option given as %j (a JSON event field typed as text) is refused naming it, never silently off', async (value) => {
    const world = fakeWorld();
    const options = { preserve: value } as unknown as Record<string, boolean>;
    const error = await refusal(collect({ config: GOOD_CONFIG, configBase: world.dir, caseId: 'IR-1', analyst: 'soar', targets: [I1], options }, world.deps));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toBe(`option preserve takes true or false, not ${JSON.stringify(value)}`);
    expect(world.opened).toEqual([]);
  });

  it('a value option given as something other than text says which option and what it needs, by its option name', async () => {
    const world = fakeWorld();
    const error = await refusal(collect({ config: GOOD_CONFIG, configBase: world.dir, caseId: 'IR-1', analyst: 'soar', targets: [I1], options: { imageDir: true } }, world.deps));
    expect(error.code).toBe('E_INPUT');
    expect(error.message).toBe('option imageDir needs DIR (a non-empty text), not true');
  });

  it('a relative imageDir is taken against configBase, as the config\'s own relative paths are; an absolute one as given', async () => {
    const world = fakeWorld();
    const seen: unknown[] = [];
    const collectTarget = world.provider.behaviour;
    world.provider.behaviour = (target, ctx) => {
      seen.push(ctx.options.imageDir);
      return collectTarget(target, ctx);
    };
    for (const [caseId, imageDir] of [['IR-1', 'images'], ['IR-2', '/srv/images']] as const) {
      await collect({ config: GOOD_CONFIG, configBase: world.dir, caseId, analyst: 'soar', targets: [I1], options: { imageDir } }, world.deps);
    }
    expect(seen).toEqual([join(world.dir, 'images'), '/srv/images']);
  });

  it('true and false are taken as given; an option left out is off', async () => {
    const world = fakeWorld();
    const seen: unknown[] = [];
    const collectTarget = world.provider.behaviour;
    world.provider.behaviour = (target, ctx) => {
      seen.push(ctx.options);
      return collectTarget(target, ctx);
    };
    await collect({ config: GOOD_CONFIG, configBase: world.dir, caseId: 'IR-1', analyst: 'soar', targets: [I1], options: { preserve: true, screenshot: false } }, world.deps);
    expect(seen).toEqual([expect.objectContaining({ preserve: true, screenshot: false, hash: false })]);
  });
});

describe('collect (library): cancelled through its signal', () => {
  it('stopped after the case is opened: returns interrupted: true with verify undefined, and leaves the case open (not closed) to resume', async () => {
    const world = fakeWorld();
    const signal = stopAfterCaseOpens(world, 'the Lambda deadline is near');
    const result = await collect({ config: GOOD_CONFIG, configBase: world.dir, caseId: 'IR-1', analyst: 'soar', targets: [I1], signal }, world.deps);
    expect([result.interrupted, result.verify, result.outcomes.map((o) => [o.target, o.status])]).toEqual([true, undefined, [[I1, 'skipped']]]);
    expect(world.opened.map((o) => o.caseId)).toEqual(['IR-1']);
    expect(world.closed).toEqual([]);
  });

  it('already aborted: refused (E_CANCELLED, exit 7) before the case is created, so there is nothing to resume', async () => {
    const world = fakeWorld();
    const stop = new AbortController();
    stop.abort(new Error('the Lambda deadline has passed'));
    const error = await refusal(collect({ config: GOOD_CONFIG, configBase: world.dir, caseId: 'IR-1', analyst: 'soar', targets: [I1], signal: stop.signal }, world.deps));
    expect([error.code, exitCodeFor(error), error.message]).toEqual(['E_CANCELLED', 7, 'cancelled before case IR-1 was opened: nothing was created']);
    expect([world.opened, existsSync(join(world.dir, 'cases', 'IR-1'))]).toEqual([[], false]);
  });

  it('aborted while the run is prepared (the caller identity): refused before the case is opened', async () => {
    const world = fakeWorld();
    const stop = new AbortController();
    const identity = world.deps.callerIdentity;
    world.deps.callerIdentity = async (config) => {
      stop.abort(new Error('playbook stopped'));
      return identity(config);
    };
    const error = await refusal(collect({ config: GOOD_CONFIG, configBase: world.dir, caseId: 'IR-1', targets: [I1], signal: stop.signal }, world.deps));
    expect([error.code, error.message]).toEqual(['E_CANCELLED', 'cancelled before case IR-1 was opened: nothing was created']);
    expect([world.opened, existsSync(join(world.dir, 'cases', 'IR-1'))]).toEqual([[], false]);
  });

  it('stopped during the copy to the evidence bucket: the copy gets the signal; the case is closed and verified (not interrupted), the copy says it was cancelled', async () => {
    const world = fakeWorld();
    const stop = new AbortController();
    const config = { ...GOOD_CONFIG, aws: { ...GOOD_CONFIG.aws, evidenceBucket: { name: 'cloud-custody-evidence-111111111111' } } };
    const url = 's3://cloud-custody-evidence-111111111111/IR-1';
    let given: AbortSignal | undefined;
    world.deps.copyCase = async ({ signal }) => {
      given = signal;
      stop.abort(new Error('the Lambda deadline is near'));
      return { ok: false, url, error: { code: 'E_CANCELLED', message: 'the copy was cancelled (the Lambda deadline is near) before manifest.json was uploaded' } };
    };
    const result = await collect({ config, configBase: world.dir, caseId: 'IR-1', analyst: 'soar', targets: [I1], signal: stop.signal }, world.deps);
    expect(given?.aborted).toBe(true);
    expect([result.interrupted, result.verify?.ok, world.closed.length, result.copy?.error?.code]).toEqual([false, true, 1, 'E_CANCELLED']);
  });

  it('already aborted with resume: true: refused before the case is resumed (no case.resumed recorded)', async () => {
    const world = fakeWorld();
    mkdirSync(join(world.dir, 'cases', 'IR-1'), { recursive: true });
    const stop = new AbortController();
    stop.abort();
    const error = await refusal(collect({ config: GOOD_CONFIG, configBase: world.dir, caseId: 'IR-1', analyst: 'soar', resume: true, signal: stop.signal }, world.deps));
    expect([error.code, error.message]).toEqual(['E_CANCELLED', 'cancelled before case IR-1 was resumed: nothing was recorded']);
    expect(world.opened).toEqual([]);
  });
});

describe('verify (library): the key and head known from elsewhere, as collect printed them', () => {
  const scratch = useScratch();
  let kase: CaseHandle;
  let head: { seq: number; hash: string };
  beforeEach(async () => {
    kase = await buildClosedCase(scratch);
    const lines = (await readFile(join(kase.caseDir, 'ledger.jsonl'), 'utf8')).trimEnd().split('\n');
    const last = JSON.parse(lines[lines.length - 1]!) as { seq: number; hash: string };
    head = { seq: last.seq, hash: last.hash };
  });

  it('takes the fingerprint as printed (sha256:…, either case) or bare, and the head as SEQ:HASH text or {seq, hash}', async () => {
    const printed = `sha256:${kase.fingerprint}`;
    const keys = [printed, kase.fingerprint.toUpperCase(), { fingerprint: printed }, { fingerprint: kase.fingerprint.toUpperCase() }, { fingerprint: kase.fingerprint }, kase.publicKey];
    for (const expectKey of keys) {
      for (const expectHead of [`${head.seq}:${head.hash}`, head]) {
        const result = await verify(kase.caseDir, { expectKey, expectHead });
        expect([expectKey, expectHead, result.ok, result.problems]).toEqual([expectKey, expectHead, true, []]);
      }
    }
  });

  it('takes the public key as an object ({ publicKey }: the base64 key the case was opened with), and refuses a malformed one (E_INPUT)', async () => {
    const result = await verify(kase.caseDir, { expectKey: { publicKey: kase.publicKey } });
    expect([result.ok, result.problems]).toEqual([true, []]);
    const malformed = await refusal(verify(kase.caseDir, { expectKey: { publicKey: 'not-a-key' } }));
    expect([malformed.code, malformed.message]).toEqual(['E_INPUT', 'expectKey.publicKey "not-a-key" is not a base64 Ed25519 public key']);
    // A fingerprint is not a public key: given as one, it is refused rather than taken as a fingerprint.
    const fingerprint = await refusal(verify(kase.caseDir, { expectKey: { publicKey: `sha256:${kase.fingerprint}` } }));
    expect(fingerprint.code).toBe('E_INPUT');
    // An object of neither form would skip the key check unsaid.
    const neither = await refusal(verify(kase.caseDir, { expectKey: {} as never }));
    expect([neither.code, neither.message]).toEqual(['E_INPUT', 'expectKey {} is neither a key as text nor { fingerprint } or { publicKey }']);
    // Both forms at once, or a form that is not a string: refused as bad input, never one checked and the other ignored.
    const both = await refusal(verify(kase.caseDir, { expectKey: { fingerprint: `sha256:${kase.fingerprint}`, publicKey: 'not-a-key' } as never }));
    expect([both.code, both.message]).toEqual(['E_INPUT', 'expectKey { fingerprint, publicKey } is neither a key as text nor { fingerprint } or { publicKey } (one of them, not both)']);
    const notText = await refusal(verify(kase.caseDir, { expectKey: { fingerprint: 1234 } as never }));
    expect([notText.code, notText.message]).toEqual(['E_INPUT', 'expectKey { fingerprint } is neither a key as text nor { fingerprint } or { publicKey } (its fingerprint is a number, not a string)']);
  });

  it('another key or head still fails the case', async () => {
    const other = await verify(kase.caseDir, { expectKey: `sha256:${'0'.repeat(64)}`, expectHead: `${head.seq}:${head.hash}` });
    expect([other.ok, other.problems.map((p) => p.kind)]).toEqual([false, ['key-mismatch']]);
    const cut = await verify(kase.caseDir, { expectHead: `${head.seq + 1}:${head.hash}` });
    expect([cut.ok, cut.problems.map((p) => p.kind)]).toEqual([false, ['head-mismatch']]);
  });

  it('a path that is not a case folder is bad input (E_INPUT), as custody verify says it (exit 3), never a case that does not verify', async () => {
    const missing = await refusal(verify(join(scratch.root, 'no-such-case')));
    expect([missing.code, missing.message]).toEqual(['E_INPUT', `there is no case folder at ${join(scratch.root, 'no-such-case')}`]);
    const other = await refusal(verify(scratch.root));
    expect([other.code, other.message]).toEqual(['E_INPUT', expect.stringMatching(/ is not a case folder \(it has no ledger\.jsonl, manifest\.json or evidence\/\)/)]);
  });

  it('a malformed expectation is bad input naming the option (E_INPUT), never a verdict on the case', async () => {
    const key = await refusal(verify(kase.caseDir, { expectKey: 'sha256:abc' }));
    expect([key.code, key.message]).toEqual(['E_INPUT', 'expectKey "sha256:abc" is neither a key fingerprint (sha256:<64 hex digits>, as collect prints it) nor a base64 Ed25519 public key']);
    const head = await refusal(verify(kase.caseDir, { expectHead: 'latest' }));
    expect([head.code, head.message]).toEqual(['E_INPUT', 'expectHead "latest" is not a ledger head: use SEQ:HASH (the entry number and its 64-hex hash), as collect prints it']);
  });
});

describe("README's error codes (what a library caller routes on)", () => {
  it('lists every ErrorCode once, each with the exit code exitCodeFor gives it', () => {
    const readme = readFileSync(join(import.meta.dirname, '..', '..', 'README.md'), 'utf8');
    const library = readme.slice(readme.indexOf('## Library API'), readme.indexOf('## Layout'));
    const rows = [...library.matchAll(/^\| `(E_[A-Z_]+)` \| [^|]+ \| (\d+) \|$/gm)].map((m) => [m[1], Number(m[2])]);
    const byCode = (a: unknown[], b: unknown[]) => String(a[0]).localeCompare(String(b[0]));
    expect(rows.sort(byCode)).toEqual(ERROR_CODES.map((code) => [code, exitCodeFor(new CustodyError(code, 'x'))]).sort(byCode));
  });
});
