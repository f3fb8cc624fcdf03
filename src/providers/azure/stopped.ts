/**
 * What a stopped run (the first Ctrl-C or SIGTERM) records for the Azure work it stopped waiting
 * for. `E_CLOUD` as AWS's stopped snapshot wait (aws/snapshot-waiter.ts `cancelled`), not
 * retryable within the run; the message also says what carries on in Azure and what a resume does
 * with it, since not every wait a stop cuts here has a `leftInAzure` to say so (a grant, a copy).
 */
import { CustodyError } from '../../core/errors.js';

/** The run stopped while `what` was still being made or copied; `after` says what goes on and what a resume does. */
export function stoppedWaiting(what: string, resource: string, after: string): CustodyError {
  return new CustodyError('E_CLOUD', `stopped waiting for ${what}: the run was cancelled (${after})`, { resource });
}

/** The run stopped before `step` began for `resource`: nothing was asked of Azure for it. */
export function stoppedBefore(step: string, resource: string, after: string): CustodyError {
  return new CustodyError('E_CLOUD', `${step} was not started: the run was cancelled first (${after})`, { resource });
}
