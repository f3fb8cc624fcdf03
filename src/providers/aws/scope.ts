/**
 * Everything shared by the targets of one account and region: the collector role's clients,
 * the describe batchers, the case's snapshot index, the snapshot waiter and the KMS key cache.
 * The forensics account gets the same shape under its own credentials.
 */
import type { AccountClients } from './clients.js';
import { callAws, type AwsResult, type OutputOf, type SendsCommands } from './call-aws.js';
import type { AwsOperationName } from './operations.js';
import type { Clock } from './clock.js';

export interface ScopeIdentity {
  kind: 'target' | 'forensics';
  account: string;
  region: string;
  partition: string;
}

/** Sends calls for one account and region, refreshing the session once when AWS says it expired. */
export class ScopeCaller {
  constructor(
    readonly id: ScopeIdentity,
    readonly clients: AccountClients,
    private readonly clock: Clock,
    private readonly refresh: ((since: number) => Promise<void>) | undefined,
  ) {}

  async ec2<C extends object>(op: AwsOperationName, command: C, resource: string, signal?: AbortSignal): Promise<AwsResult<OutputOf<C>>> {
    return this.send(op, this.clients.ec2Calls ?? this.clients.ec2, command, resource, signal);
  }

  async kms<C extends object>(op: AwsOperationName, command: C, resource: string, signal?: AbortSignal): Promise<AwsResult<OutputOf<C>>> {
    return this.send(op, this.clients.kms, command, resource, signal);
  }

  /** EBS direct APIs (`--hash`), refreshed like the others when AWS says the session expired. */
  async ebs<C extends object>(op: AwsOperationName, command: C, resource: string, signal?: AbortSignal): Promise<AwsResult<OutputOf<C>>> {
    return this.send(op, this.clients.ebs, command, resource, signal);
  }

  /**
   * A call through a client of our own rather than an SDK client (GetSnapshotBlock's lean path,
   * ebs-block-client.ts): checked against the declared operation, its errors mapped and an
   * expired session refreshed exactly as for the SDK's.
   */
  async via<C extends object, O>(
    op: AwsOperationName,
    client: { send(command: C, options?: { abortSignal?: AbortSignal }): Promise<O> },
    command: C,
    resource: string,
    signal?: AbortSignal,
  ): Promise<AwsResult<O>> {
    return (await this.send(op, client as SendsCommands, command, resource, signal)) as unknown as AwsResult<O>;
  }

  private async send<C extends object>(
    op: AwsOperationName,
    client: SendsCommands,
    command: C,
    resource: string,
    signal?: AbortSignal,
  ): Promise<AwsResult<OutputOf<C>>> {
    const started = this.clock.now();
    const refresh = this.refresh;
    return callAws(op, client, command, {
      resource,
      ...(signal ? { signal } : {}),
      ...(refresh ? { refreshCredentials: () => refresh(started) } : {}),
    });
  }
}
