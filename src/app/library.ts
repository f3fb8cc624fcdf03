/**
 * The library API: what the CLI, a Lambda function or a detection hook call. One call collects a
 * case end to end — open (or resume) → collect → close with the signed manifest → verify → copy
 * to the evidence bucket when configured — with a fresh set of providers and one credential
 * broker for that case, closed when it returns.
 *
 * @example
 * import { collect, loadConfig } from 'cloud-custody';
 * const result = await collect({ config: loadConfig('/opt/custody.config.json'), caseId: 'IR-42',
 *   analyst: 'guardduty-hook', targets: ['arn:aws:ec2:us-east-1:222222222222:instance/i-0abc…'] });
 * if (!result.verify?.ok) throw new Error('the case does not verify');
 */
import { validateCaseId } from '../core/case-id.js';
import { CustodyError } from '../core/errors.js';
import { DEFAULT_TARGET_RETRY, type TargetRetry } from '../core/orchestrator.js';
import type { CollectOptions, ProgressSink } from '../core/ports.js';
import { assertCaseFolder } from '../custody/case-folder.js';
import { parseHeadExpectation, parseKeyExpectation, parsePublicKeyExpectation, type HeadExpectation, type KeyExpectation } from '../custody/expectations.js';
import { showUntrusted, typeOfUntrusted } from '../custody/untrusted-text.js';
import { loadConfigFile, parseConfig, resolveConfigPaths, type CustodyConfig } from '../providers/config.js';
import { REGISTRY } from '../providers/registry.js';
import { collectCase, LIBRARY_TERMS, type CollectCaseResult } from './collect-case.js';
import type { AppDeps, VerifyOutcome, VerifyRequest } from './deps.js';
import { appServices } from './services.js';

/** Optional fields take `undefined` too (an event's missing field passed straight through). */
export interface CollectRequest {
  /** A validated config (`loadConfig`, `parseConfig`), or a plain object to validate here. */
  config: CustodyConfig | Record<string, unknown>;
  /** Relative paths in the config (folders, a kubeconfig, CA files) and the `imageDir` option are resolved against this (default: the working directory). */
  configBase?: string | undefined;
  caseId: string;
  /** Who is collecting; default: config `analyst`, else the caller identity. A blank one is refused (`E_INPUT`). */
  analyst?: string | undefined;
  /** Targets as text (`arn:…`, `k8s:…`): every one is parsed before anything is created. */
  targets?: readonly string[] | undefined;
  selectors?: readonly string[] | undefined;
  /** Provider flags by option name (`preserve`, `includeEnv`, …) as `true`/`false` (`imageDir`: a path); every other one is off unless the config turns it on (`aws.hash`). Anything else is refused (`E_INPUT`). */
  options?: Readonly<Record<string, boolean | string>> | undefined;
  /** Continue an existing case (everything earlier runs admitted is finished). */
  resume?: boolean | undefined;
  progress?: ProgressSink | undefined;
  /** Aborting stops new targets from starting; the case is left open to resume. Already aborted before the case is opened: refused (`E_CANCELLED`), nothing created. */
  signal?: AbortSignal | undefined;
  /**
   * A target whose failure is retryable (throttling, a 5xx that outlived the SDK's own retries)
   * is collected again up to `attempts` more times, after `delayMs` doubling each time; either
   * left out keeps its default (2 attempts, from 2 s). Whole numbers from 0; anything else is
   * refused (`E_INPUT`).
   */
  retry?: { attempts?: number | undefined; delayMs?: number | undefined } | undefined;
}

/** Reads and validates a config file (relative folders resolved against the file's folder). */
export function loadConfig(path: string): CustodyConfig {
  return loadConfigFile(path);
}

/**
 * Collects a case end to end and returns its outcomes, verification and copy. Bad input (a
 * target that does not parse, an account not allowed, missing credentials) is refused with a
 * `CustodyError` before anything is created; a failing target is an outcome, never an exception.
 */
export async function collect(request: CollectRequest, deps: AppDeps = appServices()): Promise<CollectCaseResult> {
  // configBase applies to a config validated beforehand (parseConfig) too; an absolute path stays as it is.
  const parsed = isValidated(request.config) ? request.config : parseConfig(request.config, 'config');
  const base = request.configBase ?? process.cwd();
  const config = resolveConfigPaths(parsed, base);
  // Checked before the case folder is looked for: "" would name casesDir itself ("already exists").
  if (typeof request.caseId !== 'string' || request.caseId === '') {
    throw new CustodyError('E_INPUT', `collect needs a caseId (letters, digits, ".", "_", "-"), not ${JSON.stringify(request.caseId ?? null)}`);
  }
  validateCaseId(request.caseId);
  // A blank analyst (an event field that was not filled in) would name nobody in the ledger; leaving
  // it out is how to ask for the config's analyst or the caller identity.
  if (request.analyst !== undefined && (typeof request.analyst !== 'string' || request.analyst.trim() === '')) {
    throw new CustodyError('E_INPUT', "analyst is empty: give who is collecting (a person, or the automation's name), or leave analyst out to use the config's analyst or the caller identity");
  }
  const targets = texts(request.targets, 'targets', 'target').map((raw) => REGISTRY.parseTarget(raw));
  const selectors = texts(request.selectors, 'selectors', 'selector').map((raw) => REGISTRY.parseSelector(raw));
  if (targets.length === 0 && selectors.length === 0 && request.resume !== true) {
    throw new CustodyError('E_INPUT', 'collect needs at least one target or selector, or resume: true to continue a case');
  }
  const retry = retryFrom(request.retry);
  return collectCase(
    {
      config,
      caseId: request.caseId,
      ...(request.analyst !== undefined ? { analyst: request.analyst } : {}),
      targets,
      selectors,
      options: optionsFrom(request.options, base),
      resume: request.resume === true,
      progress: request.progress ?? (() => {}),
      ...(request.signal ? { signal: request.signal } : {}),
      retry,
      // Refusals name the request's fields (resume: true, caseId), not the CLI's flags.
      terms: LIBRARY_TERMS,
    },
    deps,
  );
}

/**
 * What the verifier knows from elsewhere: the key and head as `collect` printed them (the text
 * `sha256:…` and `SEQ:HASH`, or the `keyFingerprint` and `ledgerHead` of its JSON) or as objects.
 */
export interface VerifyExpectations {
  /** `sha256:<hex>` (the prefix optional, either case), the base64 public key, or `{ fingerprint }` / `{ publicKey }`. */
  expectKey?: KeyExpectation | string | undefined;
  /** `SEQ:HASH`, or `{ seq, hash }` (a `VerifyOutcome.head`). */
  expectHead?: HeadExpectation | string | undefined;
  /** Verify a case that was not closed up to its last entry instead of failing it. */
  allowOpen?: boolean | undefined;
}

/**
 * Verifies a case folder offline (hash chain, signatures, every file, the signed manifest). A
 * path that is not a case folder, or a malformed expectation, is refused (`E_INPUT`), never
 * reported as a case that does not verify.
 */
export async function verify(caseDir: string, request: VerifyExpectations = {}, deps: Pick<AppDeps, 'verifyCase'> = appServices()): Promise<VerifyOutcome> {
  const expected = verifyRequestFrom(request);
  // A wrong path is the caller's mistake, not evidence that failed (custody verify: exit 3, not 4).
  await assertCaseFolder(caseDir);
  return deps.verifyCase(caseDir, expected);
}

function verifyRequestFrom(given: VerifyExpectations): VerifyRequest {
  const key = given.expectKey;
  const head = given.expectHead;
  return {
    ...(key === undefined ? {} : { expectKey: keyExpectationFrom(key) }),
    ...(head === undefined ? {} : { expectHead: typeof head === 'string' ? parseHeadExpectation(head, 'expectHead') : head }),
    ...(given.allowOpen === true ? { allowOpen: true } : {}),
  };
}

/**
 * The key as a JS caller may pass it. Every form is checked: an object that is neither
 * `{ fingerprint }` nor a well-formed `{ publicKey }` would otherwise skip the key check unsaid.
 */
function keyExpectationFrom(key: KeyExpectation | string): KeyExpectation {
  if (typeof key === 'string') return parseKeyExpectation(key, 'expectKey');
  // Exactly one form: { fingerprint, publicKey } together would check one and ignore the other.
  const fields = typeof key === 'object' && key !== null ? Object.keys(key) : [];
  const [form] = fields;
  const value = fields.length === 1 ? (key as unknown as Record<string, unknown>)[form!] : undefined;
  if (typeof value !== 'string' || (form !== 'fingerprint' && form !== 'publicKey')) {
    const given = typeof key === 'object' && key !== null ? `{${fields.length > 0 ? ` ${fields.map((f) => showUntrusted(f)).join(', ')} ` : ''}}` : typeOfUntrusted(key);
    const hint = fields.length > 1 ? ' (one of them, not both)' : fields.length === 1 && (form === 'fingerprint' || form === 'publicKey') ? ` (its ${form} is ${typeOfUntrusted(value)}, not a string)` : '';
    throw new CustodyError('E_INPUT', `expectKey ${given} is neither a key as text nor { fingerprint } or { publicKey }${hint}`);
  }
  // The fingerprint goes through the CLI's parser too: "sha256:…" as printed is the same key.
  return form === 'fingerprint' ? parseKeyExpectation(value, 'expectKey') : parsePublicKeyExpectation(value, 'expectKey.publicKey');
}

/** A list of texts as a JS caller may pass it (an event's field): anything else is bad input, not a TypeError. */
function texts(given: unknown, field: string, what: string): string[] {
  if (given === undefined) return [];
  if (!Array.isArray(given)) throw new CustodyError('E_INPUT', `${field} must be a list of texts (["arn:…", "k8s:…"]), not ${kindOf(given)}`);
  given.forEach((item, i) => {
    if (typeof item !== 'string') throw new CustodyError('E_INPUT', `${field}[${i}] must be a ${what} text, not ${kindOf(item)}`);
  });
  return given as string[];
}

function kindOf(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  const type = typeof value;
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}

/** The request's retry policy over the default; a count or pause that is not a whole number from 0 is bad input. */
function retryFrom(given: CollectRequest['retry']): TargetRetry {
  if (given === undefined) return DEFAULT_TARGET_RETRY;
  if (typeof given !== 'object' || given === null) throw new CustodyError('E_INPUT', `retry must be { attempts, delayMs }, not ${kindOf(given)}`);
  const field = (name: 'attempts' | 'delayMs'): number => {
    const value: unknown = given[name];
    if (value === undefined) return DEFAULT_TARGET_RETRY[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw new CustodyError('E_INPUT', `retry.${name} must be a whole number from 0, not ${typeof value === 'number' ? value : kindOf(value)}`);
    }
    return value;
  };
  return { attempts: field('attempts'), delayMs: field('delayMs') };
}

/** A folder option (`imageDir`) relative like the config's own paths: against configBase, else the working directory. */
function optionsFrom(given: Readonly<Record<string, boolean | string>> | undefined, base: string): CollectOptions {
  given ??= {};
  const known = new Set(REGISTRY.flags().map((f) => f.option));
  const unknown = Object.keys(given).filter((k) => !known.has(k));
  if (unknown.length > 0) throw new CustodyError('E_INPUT', `unknown collect option ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
  return REGISTRY.collectOptions(given, 'option', base);
}

// parseConfig fills every default (concurrency among them): a validated config carries them.
function isValidated(config: CollectRequest['config']): config is CustodyConfig {
  const c = config as Partial<CustodyConfig>;
  return typeof c.concurrency === 'object' && c.concurrency !== null && typeof c.casesDir === 'string';
}
