/**
 * Every failure the tool reports carries an `E_*` code. Codes map to exit codes in one place
 * (`exitCodeFor`), so the CLI never invents its own.
 */
import { withoutUrlCredentials } from './url-credentials.js';

/** Every code, for callers that check one at run time (a playbook routing on `error.code`). */
export const ERROR_CODES = [
  'E_INPUT', // malformed target, case id, flag
  'E_CONFIG', // missing or invalid configuration
  'E_ACCOUNT_NOT_ALLOWED', // target account is not in the allowed list
  'E_NOT_FOUND', // target does not exist (or vanished mid-run)
  'E_ACCESS_DENIED', // the cloud refused an action on a resource
  'E_THROTTLED', // retries exhausted against a rate limit
  'E_CREDENTIALS', // could not obtain or refresh credentials
  'E_CLOUD', // any other provider-side failure
  'E_TIMEOUT', // waited too long for the cloud (e.g. a snapshot never completed)
  'E_LEDGER', // the ledger could not be written or read: collection must stop
  'E_VERIFY', // a case folder failed verification
  'E_COPY', // the off-machine copy of a closed case failed (the case stays closed and intact locally)
  'E_CANCELLED', // stopped (an aborted signal, Ctrl-C, SIGTERM) before the case was opened: nothing was created; or a copy stopped after the upload in flight
  'E_UNSUPPORTED', // the target's provider or feature is not supported
  'E_INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface CustodyErrorOptions {
  /** The provider's own error, kept for diagnosis. */
  cause?: unknown;
  /** Whether trying again later could succeed (throttling, transient network). */
  retryable?: boolean;
  /** For E_ACCESS_DENIED: the action that was refused, e.g. `ec2:CreateSnapshots`. */
  action?: string;
  /** The resource the failure concerns (ARN, pod path, file). */
  resource?: string;
  /** The provider's request id, when the failure came from a cloud API. */
  requestId?: string;
}

export class CustodyError extends Error {
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly action: string | undefined;
  readonly resource: string | undefined;
  readonly requestId: string | undefined;

  constructor(code: ErrorCode, message: string, options: CustodyErrorOptions = {}) {
    // A provider's error text can quote the URL it was given, and a SAS or signed URL is a
    // credential: cut its query here, so no message reaches the terminal, a log or the ledger
    // with one. `cause` keeps the provider's own error for diagnosis in memory only.
    super(withoutUrlCredentials(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CustodyError';
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.action = options.action;
    this.resource = options.resource === undefined ? undefined : withoutUrlCredentials(options.resource);
    this.requestId = options.requestId;
  }

  /** A plain, credential-free description for the ledger and `--json` output. */
  toRecord(): Record<string, unknown> {
    const record: Record<string, unknown> = { code: this.code, message: this.message };
    if (this.action) record.action = this.action;
    if (this.resource) record.resource = this.resource;
    if (this.requestId) record.requestId = this.requestId;
    if (this.retryable) record.retryable = true;
    return record;
  }
}

export function isCustodyError(error: unknown): error is CustodyError {
  return error instanceof CustodyError;
}

/**
 * The one stop-the-run signal: an `E_LEDGER` error. Evidence taken without a record is worse than
 * none, so no provider catches it, and core (src/core/collect.ts, the orchestrator) stops every
 * target when any provider lets it through, thrown or as an outcome's error.
 */
export function isStopSignal(error: unknown): boolean {
  return isCustodyError(error) && error.code === 'E_LEDGER';
}

/**
 * Exit codes, documented in the README:
 * 0 every target collected; 1 some targets partial or failed (the case is still valid);
 * 2 every target failed; 3 bad input or configuration; 4 verification failed;
 * 5 the ledger could not be written (collection stopped); 6 the off-machine copy failed (the
 * case is closed and intact locally); 7 cancelled (Ctrl-C or SIGTERM: stopped cleanly, the case
 * left open to resume); 70 internal error.
 */
export const EXIT = {
  OK: 0,
  PARTIAL: 1,
  FAILED: 2,
  BAD_INPUT: 3,
  VERIFY_FAILED: 4,
  LEDGER: 5,
  /** The case is closed and verifies locally, but its immutable copy off this machine failed. */
  COPY_FAILED: 6,
  /** Stopped by Ctrl-C or SIGTERM: no new target started, the case was left open for --resume. */
  CANCELLED: 7,
  INTERNAL: 70,
} as const;

export function exitCodeFor(error: unknown): number {
  return isCustodyError(error) ? exitCodeForCode(error.code) : EXIT.INTERNAL;
}

/** The exit code an error code means, for a code carried as data (an outcome's, a copy's `error.code`). */
export function exitCodeForCode(code: ErrorCode): number {
  switch (code) {
    case 'E_INPUT':
    case 'E_CONFIG':
    case 'E_ACCOUNT_NOT_ALLOWED':
    case 'E_UNSUPPORTED':
      return EXIT.BAD_INPUT;
    case 'E_VERIFY':
      return EXIT.VERIFY_FAILED;
    case 'E_LEDGER':
      return EXIT.LEDGER;
    case 'E_COPY':
      return EXIT.COPY_FAILED;
    case 'E_CANCELLED':
      return EXIT.CANCELLED;
    case 'E_INTERNAL':
      return EXIT.INTERNAL;
    default:
      return EXIT.FAILED;
  }
}

/**
 * The exit code of a copy to the evidence bucket that failed with `code` (carried as data), for
 * `collect` and `copy-case` alike: a refusal keeps the exit its code has everywhere (3 bad input or
 * configuration, 4 a case that does not verify, 7 cancelled); a failure of the copy itself (an
 * upload refused or lost, the bucket, anything else) is 6.
 */
export function exitCodeForFailedCopy(code: string | undefined): number {
  const known = code !== undefined && (ERROR_CODES as readonly string[]).includes(code) ? exitCodeForCode(code as ErrorCode) : undefined;
  return known === EXIT.BAD_INPUT || known === EXIT.VERIFY_FAILED || known === EXIT.CANCELLED ? known : EXIT.COPY_FAILED;
}
