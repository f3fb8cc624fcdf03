/**
 * The AWS credentials EKS tokens are signed with: the AWS provider's session broker, found in the
 * registry's shared services, so collection and preflight authenticate to a cluster exactly as the
 * case's AWS targets do — one AssumeRole per account and run of a case, and never a wider session.
 */
import type { ProviderServices } from '../../core/provider-module.js';
import { CustodyError } from '../../core/errors.js';
import { AWS_SESSIONS, type AwsSessionBroker } from '../shared/aws-sessions.js';
import type { KubernetesDeps } from './cluster-access.js';

/** `deps` with the broker's credentials and STS endpoint filled in where the caller gave none. */
export function withEksCredentials(deps: KubernetesDeps, services: ProviderServices | undefined): KubernetesDeps {
  if (deps.awsCredentials || !services) return deps;
  // Looked up when a token is needed: the AWS provider may be created after this one.
  const broker = (): AwsSessionBroker => {
    const found = services.lookup<AwsSessionBroker>(AWS_SESSIONS);
    if (!found) throw new CustodyError('E_CONFIG', 'EKS tokens need AWS credentials, but no "aws" section is configured');
    return found;
  };
  return {
    ...deps,
    awsCredentials: (account, recorder, region, run) => broker().credentialsFor(account, region, recorder, run),
    awsTime: deps.awsTime ?? ((recorder, run) => broker().awsTime(recorder, run)),
    get stsEndpoint() {
      return deps.stsEndpoint ?? services.lookup<AwsSessionBroker>(AWS_SESSIONS)?.stsEndpoint;
    },
  };
}
