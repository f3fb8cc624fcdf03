/**
 * SDK clients, one per account and region (EC2, KMS) plus the forensics account's STS client.
 * Endpoints come from config `aws.endpoints.*`; when config is silent we pass nothing, so the
 * SDK's own `AWS_ENDPOINT_URL*` handling keeps working. Retries are the SDK's (adaptive mode:
 * it backs off on throttling and rate-limits itself), never our own — except that a clock-skew
 * retry needs a real correction (sdk-skew.ts).
 *
 * EC2, KMS and STS clients share one keep-alive agent per protocol: every account's calls in a
 * region go to the same regional endpoint, so a socket (and its TLS session) opened for one
 * account serves the next instead of each client opening its own. The two calls every target
 * makes go through `Ec2QuerySender` (./ec2-query.ts), which borrows the EC2 client's endpoint,
 * retry strategy and clock offset but skips its per-call serde.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { EBSClient } from '@aws-sdk/client-ebs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { KMSClient } from '@aws-sdk/client-kms';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { AwsConfig } from '../config.js';
import type { SendsCommands } from './call-aws.js';
import { Ec2QuerySender } from './ec2-query.js';
import { retryOnlyRealSkewCorrections } from './sdk-skew.js';
import { FastXmlEc2QueryProtocol } from './xml-parse.js';

export interface RetrySettings {
  /** `adaptive` (default) or `standard`. */
  mode: 'adaptive' | 'standard';
  /** Attempts per call including the first; throttling needs several. */
  maxAttempts: number;
}

export const DEFAULT_RETRY: RetrySettings = { mode: 'adaptive', maxAttempts: 8 };

/**
 * Sockets per host in the shared agents: above the shipped total concurrency (64) plus the
 * waiters' polls, so calls do not queue for a socket. (The SDK's own default is 50 per client.)
 */
const MAX_SOCKETS = 256;

export interface AccountClients {
  ec2: EC2Client;
  /** Sends EC2 commands: GetConsoleOutput and CreateSnapshots without the SDK's serde, the rest through `ec2`. */
  ec2Calls?: SendsCommands;
  kms: KMSClient;
  /** EBS direct APIs (`--hash`): made on first use, most runs never read a block. */
  readonly ebs: EBSClient;
}

export class AwsClients {
  private readonly byScope = new Map<string, AccountClients>();
  private stsClient: STSClient | undefined;
  private readonly httpAgent = new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS });
  private readonly httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS });

  constructor(
    private readonly config: AwsConfig,
    /** The forensics account's credentials; undefined = the SDK's standard chain. */
    private readonly forensicsCredentials: AwsCredentialIdentityProvider | undefined,
    private readonly retry: RetrySettings = DEFAULT_RETRY,
  ) {}

  private common(region: string, endpoint: string | undefined, sharedAgents = true) {
    return {
      region,
      retryMode: this.retry.mode,
      maxAttempts: this.retry.maxAttempts,
      ...(sharedAgents ? { requestHandler: { httpAgent: this.httpAgent, httpsAgent: this.httpsAgent } } : {}),
      ...(endpoint ? { endpoint } : {}),
    };
  }

  /** STS in the forensics account, with the forensics credentials. */
  sts(): STSClient {
    this.stsClient ??= retryOnlyRealSkewCorrections(
      new STSClient({
        ...this.common(this.config.region, this.config.endpoints.sts),
        ...(this.forensicsCredentials ? { credentials: this.forensicsCredentials } : {}),
      }),
    );
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
      // EBS direct reads keep the SDK's own handler: block reads are many and large, and their
      // pacing (request-pacer.ts) assumes a client of their own.
      const ebsCommon = this.common(region, this.config.endpoints.ebs, false);
      const ec2 = retryOnlyRealSkewCorrections(new EC2Client({ ...this.common(region, this.config.endpoints.ec2), ...creds, protocol: FastXmlEc2QueryProtocol }));
      clients = {
        ec2,
        ec2Calls: new Ec2QuerySender(ec2, { httpAgent: this.httpAgent, httpsAgent: this.httpsAgent }),
        kms: retryOnlyRealSkewCorrections(new KMSClient({ ...this.common(region, this.config.endpoints.kms), ...creds })),
        get ebs() {
          ebs ??= retryOnlyRealSkewCorrections(new EBSClient({ ...ebsCommon, ...creds }));
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
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
