// The AWS provider's public surface.
export { createAwsProvider, type AwsProvider, type AwsProviderDeps } from './provider.js';
export { AWS_OPERATIONS, plannedCalls, roleArnFor, targetAccountActions, type AwsOperation, type AwsOperationName } from './operations.js';
export { resolveCallerIdentity, sessionNameFor, sourceIdentityFor, sessionPolicyFor, type CallerIdentity } from './credentials.js';
export { callAws, toCustodyError, parseDenial } from './call-aws.js';
export { systemClock, type Clock } from './clock.js';
