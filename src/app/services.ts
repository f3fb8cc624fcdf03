/**
 * The real wiring behind the application service: custody (case folders, verify), the provider
 * registry (providers, caller identity, config summary) and the off-machine copy. No lab, no CLI:
 * what a Lambda function or a detection hook runs.
 */
import { readFileSync } from 'node:fs';
import { openCase, verifyCase } from '../custody/index.js';
import type { VerifyResult } from '../custody/index.js';
import { REGISTRY } from '../providers/registry.js';
import { defaultKeysDir } from '../core/config.js';
import { CustodyError, isCustodyError, isStopSignal } from '../core/errors.js';
import { assertCanBeFolder, ensureConfiguredDir } from '../custody/configured-dir.js';
import type { AppDeps, CopyOutcome, VerifyOutcome, VerifyRequest } from './deps.js';

/** The package version, read from package.json (two levels up from src/app and dist/app). */
export function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Custody and the providers as the application service uses them. */
export function appServices(): AppDeps {
  return {
    createProviders: (config) => REGISTRY.createProviders(config),
    async prepareFolders(config, options = {}) {
      if (!config.signingKeyFile) await ensureConfiguredDir(config.keysDir ?? defaultKeysDir(), 'keysDir', 0o700);
      await ensureConfiguredDir(config.casesDir, 'casesDir');
      // A folder option (--image DIR) would otherwise be found unusable only when the first disk
      // is written, after the snapshots were taken. Checked, not made: it may lie inside the case
      // folder, which must not exist before the case is opened; the provider makes it.
      for (const f of REGISTRY.flags()) {
        const dir = options[f.option];
        if (f.value?.folder && typeof dir === 'string') await assertCanBeFolder(dir, `--${f.flag}`);
      }
    },
    async openCase({ config, caseId, analyst, resume, principal }) {
      const handle = await openCase({
        casesDir: config.casesDir,
        caseId,
        analyst,
        ...(config.keysDir ? { keysDir: config.keysDir } : {}),
        ...(config.signingKeyFile ? { signingKeyFile: config.signingKeyFile } : {}),
        toolVersion: packageVersion(),
        config: REGISTRY.summarizeConfig(config),
        resume,
        ...(principal ? { principal } : {}),
      });
      return {
        recorder: handle,
        fingerprint: handle.fingerprint,
        close: async (outcomes) => void (await handle.close({ outcomes })),
        release: () => handle.release(),
      };
    },
    verifyCase: async (caseDir, request = {}) => verifyRequested(caseDir, request),
    callerIdentity: (config) => REGISTRY.callerIdentity(config),
    copyCase: copyToEvidenceBucket,
  };
}

/**
 * Copies a closed case to `aws.evidenceBucket` with the forensics account's credentials (the
 * standard chain). A failure is recorded in the ledger by the copy itself and returned with how
 * to retry; only a ledger that cannot be written is thrown.
 */
async function copyToEvidenceBucket({ config, caseDir, caseId, actor, signal }: Parameters<NonNullable<AppDeps['copyCase']>>[0]): Promise<CopyOutcome> {
  const bucket = config.aws?.evidenceBucket;
  if (!bucket) throw new CustodyError('E_CONFIG', 'aws.evidenceBucket is not configured: there is no bucket to copy the case to');
  const { copyCase } = await import('../custody/immutable-copy.js');
  const { evidenceBucketOptions, openEvidenceBucket } = await import('../providers/aws/evidence-bucket.js');
  const store = openEvidenceBucket(evidenceBucketOptions(config, { caseId }));
  const retention = { mode: bucket.retention.mode, days: bucket.retention.days };
  try {
    const result = await copyCase({
      caseDir,
      store,
      actor,
      keysDir: config.keysDir ?? defaultKeysDir(),
      ...(config.signingKeyFile ? { signingKeyFile: config.signingKeyFile } : {}),
      retention,
      ...(signal ? { signal } : {}),
    });
    return { ok: true, url: result.url, copied: result.copied, alreadyCopied: result.alreadyCopied, total: result.total, retention, head: result.head };
  } catch (error) {
    if (isStopSignal(error)) throw error;
    const record = isCustodyError(error) ? error.toRecord() : { code: 'E_INTERNAL', message: String(error) };
    return { ok: false, url: store.url, retention, error: { code: String(record.code), message: String(record.message) } };
  } finally {
    store.destroy();
  }
}

/**
 * Verifies a case. With `expectKey` (the fingerprint printed when the case was opened, or the
 * public key) a case signed by any other key fails even if it is internally consistent, as a
 * wholly re-signed ledger would be; with `expectHead` a ledger cut back or extended fails.
 */
async function verifyRequested(caseDir: string, request: VerifyRequest): Promise<VerifyOutcome> {
  const key = request.expectKey;
  const result = await verifyCase(caseDir, {
    ...(key && 'fingerprint' in key ? { expectedFingerprint: key.fingerprint } : {}),
    ...(key && 'publicKey' in key ? { expectedPublicKey: key.publicKey } : {}),
    ...(request.expectHead ? { expectedHead: request.expectHead } : {}),
    requireClosed: request.allowOpen !== true,
  });
  return toVerifyOutcome(caseDir, result);
}

export function toVerifyOutcome(caseDir: string, result: VerifyResult): VerifyOutcome {
  return {
    ok: result.ok,
    caseDir,
    closed: result.closed,
    entries: result.entries,
    files: result.evidence.files,
    ...(result.head ? { head: result.head } : {}),
    ...(result.fingerprint ? { fingerprint: result.fingerprint } : {}),
    problems: [...result.problems, ...result.warnings],
  };
}

