import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { CustodyError } from './errors.js';
import { urlCredentialProblem } from './url-credentials.js';

/**
 * For a provider's URL fields (endpoints, API servers, containers): refuses a URL that carries a
 * credential, a user name and password or a signed query, since configured URLs are written to
 * the ledger and printed. The message says what is wrong, never the secret.
 */
export function credentialFreeUrl(value: string, ctx: z.RefinementCtx): void {
  const problem = urlCredentialProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}

/**
 * The provider-independent part of the config file. The registry (src/providers/config.ts) adds
 * one optional section per provider and makes the whole object strict. Nested objects are strict
 * too, here and in every section: a misspelt key is an error naming it, never silently dropped.
 */
export const coreConfigShape = {
    /** Where case folders are created. Relative paths are relative to the config file. */
    casesDir: z.string().min(1).default('cases'),
    /** Where generated signing keys are kept (mode 0600), outside the case folders. */
    keysDir: z.string().min(1).optional(),
    /** An existing Ed25519 private key (PEM, PKCS#8) to sign ledgers with. */
    signingKeyFile: z.string().min(1).optional(),
    /** The analyst, when not given with --analyst; otherwise the caller identity. */
    analyst: z.string().regex(/\S/, 'must name who collects, not be blank').optional(),
    concurrency: z
      .object({
        /** Targets collected at once in one account and region. */
        perScope: z.number().int().min(1).max(100).default(10),
        /** Targets collected at once overall. */
        total: z.number().int().min(1).max(1000).default(64),
      })
      .strict()
      .default({ perScope: 10, total: 64 }),
};

const coreConfigSchema = z.object(coreConfigShape);
/** What core reads of the config: folders, signing key, analyst, concurrency. */
export type CoreConfig = z.infer<typeof coreConfigSchema>;

/**
 * Validates a parsed config object. Throws `E_CONFIG` naming every bad field
 * (`aws.allowedAccounts[1]: must be a 12-digit AWS account id`).
 */
export function parseConfigWith<T>(schema: z.ZodType<T>, raw: unknown, source = 'config'): T {
  const result = schema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => {
      const path = issue.path
        .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
        .join('');
      return `${path || '(top level)'}: ${issue.message}`;
    });
    throw new CustodyError('E_CONFIG', `invalid ${source}:\n  ${problems.join('\n  ')}`, { resource: source });
  }
  return result.data;
}

/** Reads a JSON config file (not yet validated). */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new CustodyError('E_CONFIG', `cannot read config file ${path}: ${(cause as Error).message}`, {
      cause,
      resource: path,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new CustodyError('E_CONFIG', `config file ${path} is not valid JSON: ${(cause as Error).message}`, {
      cause,
      resource: path,
    });
  }
  return raw;
}

/** Validates a JSON config file with `schema`; relative paths in it are resolved against its folder. */
export function loadConfigFileWith<T extends CoreConfig>(schema: z.ZodType<T>, path: string): T {
  const config = parseConfigWith(schema, readConfigFile(path), `config file ${path}`);
  return resolveConfigPaths(config, dirname(resolve(path)));
}

export function resolveConfigPaths<T extends CoreConfig>(config: T, base: string): T {
  const abs = (p: string | undefined) => (p === undefined ? undefined : isAbsolute(p) ? p : resolve(base, p));
  return {
    ...config,
    casesDir: abs(config.casesDir) ?? resolve(base, 'cases'),
    keysDir: abs(config.keysDir),
    signingKeyFile: abs(config.signingKeyFile),
  };
}

/** Default keys folder: outside any case folder, private to the user. */
export function defaultKeysDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'cloud-custody', 'keys');
}
