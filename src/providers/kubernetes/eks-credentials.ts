/**
 * The AWS credentials EKS tokens are signed with, shared by collection and preflight so both
 * authenticate to a cluster exactly the same way.
 */
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import type { CustodyConfig } from '../../core/config.js';
import type { CaseRecorder } from '../../core/ports.js';
import { AwsClients } from '../aws/clients.js';
import { systemClock } from '../aws/clock.js';
import { CollectorSessions } from '../aws/credentials.js';
import type { KubernetesDeps } from './cluster-access.js';

/**
 * EKS tokens by default: the collector role's session in the cluster's account, assumed through
 * the AWS provider's `CollectorSessions` (same role, same attribution, refreshed before expiry).
 */
export function collectorEksCredentials(config: CustodyConfig, forensicsCredentials: KubernetesDeps['forensicsCredentials']): KubernetesDeps['awsCredentials'] {
  const aws = config.aws;
  if (!aws) return undefined;
  let sessions: CollectorSessions | undefined;
  return async (account: string, recorder: CaseRecorder): Promise<AwsCredentialIdentity> => {
    sessions ??= new CollectorSessions({ ...config, aws }, new AwsClients(aws, forensicsCredentials), systemClock);
    // The token only signs sts:GetCallerIdentity, which no policy can deny; the session covers
    // the cluster's instances so an inline session policy is never empty.
    const cluster = Object.values(config.kubernetes?.clusters ?? {}).find((c) => c.eks?.account === account);
    sessions.cover(account, 'aws', cluster?.eks?.region ?? aws.region, { anyInstance: true });
    await sessions.ensure(account, recorder);
    return sessions.providerFor(account)();
  };
}
