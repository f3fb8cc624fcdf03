/**
 * Reaching a configured cluster: a kubeconfig file and context, or an EKS cluster with a token
 * minted from the collector role's credentials in the cluster's account (refreshed before its
 * 15 minutes end by an authenticator, so long log downloads and exec sessions keep working).
 */
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { AdmissionregistrationV1Api, AppsV1Api, AuthenticationV1Api, AuthorizationV1Api, BatchV1Api, CoreV1Api, KubeConfig, NetworkingV1Api } from '@kubernetes/client-node';
import type { Exec } from '@kubernetes/client-node';
import type { Cluster } from '@kubernetes/client-node';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import type { ClusterConfig, CustodyConfig } from '../config.js';
import { CustodyError } from '../../core/errors.js';
import type { CaseRecorder } from '../../core/ports.js';
import { EKS_AUTH_PROVIDER, EksAuthenticator, mintEksToken } from './eks-token.js';
import { execClient } from './exec-upgrade.js';

/** What the Kubernetes provider needs from outside. */
export interface KubernetesDeps {
  /**
   * Credentials of the collector role in `account` (the cluster's account and region), to sign
   * EKS tokens; `run` is the run's signal. Default: the AWS provider's session broker from the
   * registry's services, so one AssumeRole per account and run of a case serves both providers.
   */
  awsCredentials?: (account: string, recorder: CaseRecorder, region: string, run: AbortSignal | undefined) => Promise<AwsCredentialIdentity>;
  /** The STS endpoint EKS tokens are presigned for (default: the broker's, else AWS's). */
  stsEndpoint?: string;
  /**
   * AWS's time for the recorder's case, to date EKS tokens and time their refresh (default: the
   * broker's, this machine's clock corrected by what STS answered), so a collector whose clock is
   * off mints tokens EKS accepts.
   */
  awsTime?: (recorder: CaseRecorder, run: AbortSignal | undefined) => number;
  /** Clock for token dates and refresh (tests); wins over `awsTime`. */
  now?: () => number;
}

export interface ClusterAccess {
  name: string;
  kc: KubeConfig;
  server: string;
  auth: 'eks-token' | 'kubeconfig';
  context?: string;
  core: CoreV1Api;
  apps: AppsV1Api;
  batch: BatchV1Api;
  networking: NetworkingV1Api;
  authorization: AuthorizationV1Api;
  authentication: AuthenticationV1Api;
  /** Preflight only: reads the optional admission policies. */
  admission: AdmissionregistrationV1Api;
  exec: Exec;
  /** Who the API server takes us for (SelfSubjectReview), asked once per cluster and case. */
  identity?: Promise<Record<string, unknown>>;
  /** SHA-256 fingerprint of the CA certificate the server is verified against, when one is pinned. */
  caFingerprint?: string;
  /** True when TLS is not verified (the lab's http:// server): recorded, because it weakens custody. */
  skipTLSVerify: boolean;
  /** Present for EKS: how many tokens were minted so far. */
  eks?: EksAuthenticator;
}

/** The CA's fingerprint, as `openssl x509 -fingerprint -sha256` prints it. */
function caFingerprintOf(cluster: Cluster): string | undefined {
  try {
    const pem = cluster.caData ? Buffer.from(cluster.caData, 'base64').toString('utf8') : cluster.caFile ? readFileSync(cluster.caFile, 'utf8') : undefined;
    return pem ? new X509Certificate(pem).fingerprint256 : undefined;
  } catch {
    // An unreadable CA fails the first request with a TLS error; the fingerprint is only a record.
    return undefined;
  }
}

function withApis(name: string, kc: KubeConfig, auth: ClusterAccess['auth'], context: string | undefined, eks?: EksAuthenticator): ClusterAccess {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new CustodyError('E_CONFIG', `cluster "${name}": the kubeconfig context names no cluster`, { resource: name });
  const caFingerprint = caFingerprintOf(cluster);
  return {
    name,
    kc,
    server: cluster.server,
    auth,
    skipTLSVerify: cluster.skipTLSVerify === true,
    ...(caFingerprint ? { caFingerprint } : {}),
    ...(context ? { context } : {}),
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    batch: kc.makeApiClient(BatchV1Api),
    networking: kc.makeApiClient(NetworkingV1Api),
    authorization: kc.makeApiClient(AuthorizationV1Api),
    authentication: kc.makeApiClient(AuthenticationV1Api),
    admission: kc.makeApiClient(AdmissionregistrationV1Api),
    exec: execClient(kc),
    ...(eks ? { eks } : {}),
  };
}

function loadKubeconfig(name: string, cluster: ClusterConfig): ClusterAccess {
  const kc = readKubeconfig(name, cluster);
  return withApis(name, kc, 'kubeconfig', kc.getCurrentContext());
}

/**
 * The cluster's kubeconfig read, its context chosen and the config's overrides applied: local
 * work only (no request to the API server), so `validate` can refuse a missing or broken
 * kubeconfig before the case is opened. EKS clusters have none to read.
 */
export function checkKubeconfig(name: string, cluster: ClusterConfig): void {
  if (!cluster.eks) readKubeconfig(name, cluster);
}

function readKubeconfig(name: string, cluster: ClusterConfig): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (cluster.kubeconfig) {
      if (!existsSync(cluster.kubeconfig)) throw new Error(`${cluster.kubeconfig} does not exist`);
      kc.loadFromFile(cluster.kubeconfig);
    } else {
      kc.loadFromDefault();
    }
  } catch (cause) {
    // The first line only: a YAML parser's message goes on to quote the lines around the mistake,
    // and a kubeconfig's lines hold tokens, passwords and client keys.
    const reason = String((cause as Error).message).split('\n', 1)[0];
    throw new CustodyError('E_CONFIG', `cluster "${name}": cannot load kubeconfig ${cluster.kubeconfig ?? '(default)'}: ${reason}`, { cause, resource: name });
  }
  if (cluster.context) {
    if (!kc.getContextObject(cluster.context)) {
      const known = kc.getContexts().map((c) => c.name).join(', ') || 'none';
      throw new CustodyError('E_CONFIG', `cluster "${name}": context "${cluster.context}" is not in the kubeconfig (contexts: ${known})`, { resource: name });
    }
    kc.setCurrentContext(cluster.context);
  }
  if (cluster.skipTLSVerify !== undefined || cluster.caFile !== undefined || cluster.server !== undefined) {
    // Config overrides the kubeconfig's cluster entry (a lab on http://, a pinned CA).
    const current = kc.getCurrentCluster();
    if (current) {
      const replaced: Cluster = {
        ...current,
        ...(cluster.server ? { server: cluster.server } : {}),
        ...(cluster.caFile ? { caFile: cluster.caFile, caData: undefined } : {}),
        ...(cluster.skipTLSVerify !== undefined ? { skipTLSVerify: cluster.skipTLSVerify } : {}),
      } as Cluster;
      kc.loadFromOptions({
        clusters: kc.getClusters().map((c) => (c.name === current.name ? replaced : c)),
        contexts: kc.getContexts(),
        users: kc.getUsers(),
        currentContext: kc.getCurrentContext(),
      });
    }
  }
  return kc;
}

/**
 * Builds the client for cluster `name` of the config. `run` is the run's signal: an EKS token is
 * signed with that run's AWS session, recorded in that run's recorder.
 *
 * @example
 * const access = connectCluster(config, 'prod', recorder, deps);
 * await access.core.readNamespacedPod({ name: 'web-1', namespace: 'shop' });
 */
export function connectCluster(config: CustodyConfig, name: string, recorder: CaseRecorder, deps: KubernetesDeps, run?: AbortSignal): ClusterAccess {
  const cluster = config.kubernetes?.clusters[name];
  if (!cluster) throw new CustodyError('E_CONFIG', `cluster "${name}" is not in kubernetes.clusters of the config`, { resource: name });
  if (!cluster.eks) return loadKubeconfig(name, cluster);

  const eks = cluster.eks;
  if (!cluster.server) throw new CustodyError('E_CONFIG', `cluster "${name}": an EKS cluster needs "server" (its API server endpoint)`, { resource: name });
  const credentialsFor = deps.awsCredentials;
  if (!credentialsFor) throw new CustodyError('E_CONFIG', `cluster "${name}": EKS tokens need AWS credentials, but no "aws" section is configured`, { resource: name });
  // Tokens are dated, and their refresh timed, on AWS's clock: EKS checks the date against its own.
  const awsTime = deps.awsTime;
  const tokenClock = deps.now ?? (awsTime ? () => awsTime(recorder, run) : Date.now);
  const authenticator = new EksAuthenticator(async () => {
    const credentials = await credentialsFor(eks.account, recorder, eks.region, run);
    // Read after the AssumeRole: by then STS has told the SDK what time AWS has.
    return mintEksToken({
      clusterName: eks.name,
      region: eks.region,
      credentials,
      ...(deps.stsEndpoint ? { stsEndpoint: deps.stsEndpoint } : {}),
      now: new Date(tokenClock()),
    });
  }, tokenClock);
  const kc = new KubeConfig();
  kc.addAuthenticator(authenticator);
  kc.loadFromOptions({
    clusters: [{ name: `eks-${eks.name}`, server: cluster.server.replace(/\/$/, ''), skipTLSVerify: cluster.skipTLSVerify ?? false, ...(cluster.caFile ? { caFile: cluster.caFile } : {}) }],
    users: [{ name: 'cloud-custody', authProvider: { name: EKS_AUTH_PROVIDER, config: {} } }],
    contexts: [{ name: `eks-${eks.name}`, cluster: `eks-${eks.name}`, user: 'cloud-custody' }],
    currentContext: `eks-${eks.name}`,
  });
  return withApis(name, kc, 'eks-token', undefined, authenticator);
}
