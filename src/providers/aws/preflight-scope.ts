/**
 * Which accounts preflight may check: only those collection may touch. Assuming the collector
 * role anywhere else is a call collection would never make.
 */
import { CustodyError } from '../../core/errors.js';
import type { Target } from '../../core/targets.js';
import { isAwsTarget } from './targets.js';

/** Throws `E_ACCOUNT_NOT_ALLOWED` (before any call) naming every account outside `allowed`. */
export function refuseAccountsNotAllowed(allowed: readonly string[], accounts: readonly string[], targets: readonly Target[] = []): void {
  const named = [...accounts, ...targets.filter(isAwsTarget).map((t) => t.account)];
  const outside = [...new Set(named.filter((a) => !allowed.includes(a)))];
  if (outside.length === 0) return;
  throw new CustodyError(
    'E_ACCOUNT_NOT_ALLOWED',
    `account ${outside.join(', ')} ${outside.length === 1 ? 'is' : 'are'} not in aws.allowedAccounts (${allowed.join(', ')}): preflight checks only accounts collection may touch, and assumed no role. Add the account to the config if it should be collected.`,
    { resource: outside[0] as string },
  );
}
