/**
 * SDK clients, one per account and region (EC2, KMS) plus the forensics account's STS client.
 * Endpoints come from config `aws.endpoints.*`; when config is silent we pass nothing, so the
 * SDK's own `AWS_ENDPOINT_URL*` handling keeps working. Retries are the SDK's (adaptive mode:
 * it backs off on throttling and rate-limits itself), never our own.
 */
import { EBSClient } from '@aws-sdk/client-ebs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { KMSClient } from '@aws-sdk/client-kms';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { AwsConfig } from '../config.js';

export interface RetrySettings {
  /** `adaptive` (default) or `standard`. */
  mode: 'adaptive' | 'standard';
  /** Attempts per call including the first; throttling needs several. */
  maxAttempts: number;
}

export const DEFAULT_RETRY: RetrySettings = { mode: 'adaptive', maxAttempts: 8 };

export interface AccountClients {
  ec2: EC2Client;
  kms: KMSClient;
  /** EBS direct APIs (`--hash`): made on first use, most runs never read a block. */
  readonly ebs: EBSClient;
}

export class AwsClients {
  private readonly byScope = new Map<string, AccountClients>();
  private stsClient: STSClient | undefined;

  constructor(
    private readonly config: AwsConfig,
    /** The forensics account's credentials; undefined = the SDK's standard chain. */
    private readonly forensicsCredentials: AwsCredentialIdentityProvider | undefined,
    private readonly retry: RetrySettings = DEFAULT_RETRY,
  ) {}

  private common(region: string, endpoint: string | undefined) {
    return {
      region,
      retryMode: this.retry.mode,
      maxAttempts: this.retry.maxAttempts,
      ...(endpoint ? { endpoint } : {}),
    };
  }

  /** STS in the forensics account, with the forensics credentials. */
  sts(): STSClient {
    this.stsClient ??= new STSClient({
      ...this.common(this.config.region, this.config.endpoints.sts),
      ...(this.forensicsCredentials ? { credentials: this.forensicsCredentials } : {}),
    });
    return this.stsClient;
  }

  /** EC2 and KMS for one account and region under the collector role's credentials. */
  forAccount(account: string, region: string, credentials: AwsCredentialIdentityProvider): AccountClients {
    return this.clientsFor(`role:${account}/${region}`, region, credentials);
  }

  private clientsFor(key: string, region: string, credentials: AwsCredentialIdentityProvider | undefined): AccountClients {
    let clients = this.byScope.get(key);
    if (!clients) {
      const creds = credentials ? { credentials } : {};
      let ebs: EBSClient | undefined;
      const common = () => this.common(region, this.config.endpoints.ebs);
      clients = {
        ec2: new EC2Client({ ...this.common(region, this.config.endpoints.ec2), ...creds }),
        kms: new KMSClient({ ...this.common(region, this.config.endpoints.kms), ...creds }),
        get ebs() {
          ebs ??= new EBSClient({ ...common(), ...creds });
          return ebs;
        },
        destroyEbs: () => ebs?.destroy(),
      } as AccountClients & { destroyEbs(): void };
      this.byScope.set(key, clients);
    }
    return clients;
  }

  /** The forensics account's own EC2/KMS clients (its credentials, not a role). */
  forensics(region: string): AccountClients {
    return this.clientsFor(`forensics:${region}`, region, this.forensicsCredentials);
  }

  destroy(): void {
    for (const c of this.byScope.values()) {
      c.ec2.destroy();
      c.kms.destroy();
      (c as Partial<{ destroyEbs(): void }>).destroyEbs?.();
    }
    this.byScope.clear();
    this.stsClient?.destroy();
    this.stsClient = undefined;
  }
}
