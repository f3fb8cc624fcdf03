/**
 * EC2 over its query protocol: one map from action name to handler. Unknown actions get EC2's
 * `InvalidAction`.
 */
import type { CallContext, HandlerResult } from './context.js';
import { instanceHandlers } from './ec2-instances.js';
import { lockHandlers } from './ec2-locks.js';
import { snapshotHandlers } from './ec2-snapshots.js';
import { LabAwsError } from './errors.js';
import type { QueryTree } from './query.js';

const handlers: Record<string, (call: CallContext, params: QueryTree) => Promise<HandlerResult>> = {
  ...instanceHandlers,
  ...snapshotHandlers,
  ...lockHandlers,
};

/** The EC2 actions the lab speaks. */
export const EC2_ACTIONS = Object.keys(handlers);

/** Serves one EC2 action. */
export async function handleEc2(call: CallContext, action: string, params: QueryTree): Promise<HandlerResult> {
  const handler = handlers[action];
  if (!handler) throw new LabAwsError('InvalidAction', `The action ${action} is not valid for this web service.`, 400);
  return handler(call, params);
}

/** Whether a Describe* request names ids, filters or a page size (EC2's "filtered" bucket). */
export function isFilteredRequest(params: QueryTree): boolean {
  return Object.keys(params).some((key) => !['Action', 'Version', 'DryRun', 'NextToken'].includes(key));
}
