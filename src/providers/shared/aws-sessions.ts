/**
 * The AWS credential broker, shared through the registry's services: the AWS provider offers it
 * under `AWS_SESSIONS`, and the Kubernetes provider signs EKS tokens with it. One broker per set
 * of services: one AssumeRole per account and run of a case serves both, and the EKS token is
 * signed with that same session, never a wider one.
 */
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import type { CaseRecorder } from '../../core/ports.js';

export const AWS_SESSIONS = 'aws.sessions';

export interface AwsSessionBroker {
  /**
   * The collector role's session in `account` for the recorder's case in the run `run` (the
   * run's signal, `ProviderContext.signal`) — assumed at most once per account and run (and
   * again before it lapses), recorded in that run's recorder, narrowed to what the run's AWS
   * targets cover (nothing is added for EKS: the token only signs sts:GetCallerIdentity, which no
   * policy can deny).
   */
  credentialsFor(account: string, region: string, recorder: CaseRecorder, run: AbortSignal | undefined): Promise<AwsCredentialIdentity>;
  /** The STS endpoint the sessions use (the lab, an emulator), for presigning EKS tokens. */
  readonly stsEndpoint: string | undefined;
  /**
   * AWS's time as the run's STS client knows it (this machine's clock plus the offset the SDK
   * learnt from STS's answers), ms: an EKS token is dated with it, so a collector whose clock is
   * off still mints tokens EKS accepts.
   */
  awsTime(recorder: CaseRecorder, run: AbortSignal | undefined): number;
}
