import { REGISTRY } from '../../../src/providers/registry.js';
import { afterEach, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../../src/providers/config.js';
import { parseTarget } from '../../../src/providers/targets.js';
import { EksAuthenticator, createKubernetesProvider, mintEksToken } from '../../../src/providers/kubernetes/index.js';
import { EKS_TOKEN_REFRESH_MARGIN_MS } from '../../../src/providers/kubernetes/eks-token.js';
import { collectorSubject, decodeEksToken, k8sDemoScenario, startKubernetesLab, verifyEksSignature } from '../../../src/lab/kubernetes/index.js';
import type { KubernetesLab } from '../../../src/lab/kubernetes/index.js';
import { openCase } from '../../../src/custody/open-case.js';
import { NODE_INSTANCES, contextFor } from './helpers.js';

const credentials = {
  accessKeyId: 'ASIAEXAMPLECOLLECTOR',
  secretAccessKey: 'lab/secret/key/not-a-real-one/0123456789',
  sessionToken: 'FwoGZXIvYXdzEXAMPLESESSIONTOKEN',
};
const signingDate = new Date('2026-11-26T06:00:00.000Z');

describe('EKS tokens', () => {
  it('have the aws-iam-authenticator shape: k8s-aws-v1. + base64url of a presigned STS GetCallerIdentity URL', async () => {
    const { token, expiresAt } = await mintEksToken({ clusterName: 'prod-eks', region: 'eu-west-1', credentials, now: signingDate });
    expect(token.startsWith('k8s-aws-v1.')).toBe(true);
    const body = token.slice('k8s-aws-v1.'.length);
    expect(body).toMatch(/^[A-Za-z0-9_-]+$/); // base64url, no padding
    const url = new URL(Buffer.from(body, 'base64url').toString('utf8'));
    expect(`${url.protocol}//${url.host}${url.pathname}`).toBe('https://sts.eu-west-1.amazonaws.com/');
    const q = Object.fromEntries(url.searchParams);
    expect(Object.keys(q).sort()).toEqual([
      'Action', 'Version', 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires',
      'X-Amz-Security-Token', 'X-Amz-Signature', 'X-Amz-SignedHeaders',
    ].sort());
    expect(q).toMatchObject({
      Action: 'GetCallerIdentity',
      Version: '2011-06-15',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
      'X-Amz-Credential': 'ASIAEXAMPLECOLLECTOR/20261126/eu-west-1/sts/aws4_request',
      'X-Amz-Date': '20261126T060000Z',
      'X-Amz-Expires': '60',
      'X-Amz-SignedHeaders': 'host;x-k8s-aws-id',
      'X-Amz-Security-Token': credentials.sessionToken,
    });
    expect(q['X-Amz-Signature']).toMatch(/^[0-9a-f]{64}$/);
    // Valid for 15 minutes from X-Amz-Date, whatever X-Amz-Expires says.
    expect(expiresAt.toISOString()).toBe('2026-11-26T06:15:00.000Z');
  });

  it('carry a signature an independent SigV4 check accepts for its cluster only', async () => {
    const { token } = await mintEksToken({ clusterName: 'prod-eks', region: 'us-east-1', credentials, now: signingDate });
    const decoded = decodeEksToken(token);
    if (typeof decoded === 'string') throw new Error(decoded);
    expect(verifyEksSignature(decoded, 'prod-eks', credentials.secretAccessKey)).toBe(true);
    // Minted for prod-eks, replayed against another cluster: STS would compute another signature.
    expect(verifyEksSignature(decoded, 'staging-eks', credentials.secretAccessKey)).toBe(false);
    expect(verifyEksSignature(decoded, 'prod-eks', 'another-secret')).toBe(false);
  });

  it('are minted again before their 15 minutes end, and not before they need to be', async () => {
    let now = signingDate.getTime();
    let minted = 0;
    const auth = new EksAuthenticator(async () => {
      minted += 1;
      return mintEksToken({ clusterName: 'c', region: 'us-east-1', credentials, now: new Date(now) });
    }, () => now);
    const first = await auth.token();
    now += 60_000;
    expect(await auth.token()).toBe(first);
    now = first.expiresAt.getTime() - EKS_TOKEN_REFRESH_MARGIN_MS + 1;
    const second = await auth.token();
    expect(second.token).not.toBe(first.token);
    expect(minted).toBe(2);
    expect(second.expiresAt.getTime()).toBeGreaterThan(first.expiresAt.getTime());
  });
});

describe('an EKS cluster in the lab', () => {
  let lab: KubernetesLab | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await lab?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    lab = undefined;
    dir = undefined;
  });

  it('accepts the token signed with the collector role credentials, and the pod is collected', async () => {
    const scenario = k8sDemoScenario({ instances: NODE_INSTANCES });
    scenario.cluster.eks = {
      clusterName: 'lab-eks',
      subject: collectorSubject('arn:aws:sts::222222222222:assumed-role/CloudCustodyCollector/custody-IR-EKS', scenario.binding),
      secretFor: (id) => (id === credentials.accessKeyId ? credentials.secretAccessKey : undefined),
    };
    lab = await startKubernetesLab({ cluster: scenario.cluster });
    dir = await mkdtemp(join(tmpdir(), 'k8s-eks-'));
    const config = parseConfig({
      casesDir: join(dir, 'cases'),
      kubernetes: { clusters: { prod: { eks: { name: 'lab-eks', account: '222222222222', region: 'us-east-1' }, server: lab.url, skipTLSVerify: true } } },
    });
    const asked: string[] = [];
    const provider = createKubernetesProvider(config, {
      awsCredentials: async (account) => {
        asked.push(account);
        return credentials;
      },
    }, REGISTRY.createServices());
    const kase = await openCase({ casesDir: join(dir, 'cases'), keysDir: join(dir, 'keys'), caseId: 'IR-EKS', analyst: 'alice', toolVersion: 'test' });
    const outcome = await provider.collect(parseTarget(`k8s:prod/shop/${scenario.compromisedPod}`), contextFor(kase));
    expect(outcome.status).toBe('collected');
    // The node's account comes from the EKS config when nodeAccount is not set.
    expect(outcome.followUps?.[0]).toMatchObject({ account: '222222222222', region: 'us-east-1', instanceId: scenario.compromisedInstanceId });
    expect(asked[0]).toBe('222222222222');
    expect(lab.eksLogins.length).toBeGreaterThan(0);
    expect(lab.audit.every((a) => a.user.startsWith('arn:aws:sts::222222222222:assumed-role/'))).toBe(true);
    // The bearer token and the credentials never reach the case folder's ledger.
    const ledger = JSON.stringify(kase.entries());
    expect(ledger).not.toContain('k8s-aws-v1.');
    expect(ledger).not.toContain(credentials.sessionToken);
    expect(ledger).not.toContain(credentials.secretAccessKey);
    await kase.release();
  });

  it('refuses a token minted for another cluster: the case records E_CREDENTIALS', async () => {
    const scenario = k8sDemoScenario({ instances: NODE_INSTANCES });
    scenario.cluster.eks = { clusterName: 'lab-eks', subject: collectorSubject('x', scenario.binding), secretFor: () => credentials.secretAccessKey };
    lab = await startKubernetesLab({ cluster: scenario.cluster });
    dir = await mkdtemp(join(tmpdir(), 'k8s-eks-'));
    const config = parseConfig({
      casesDir: join(dir, 'cases'),
      kubernetes: { clusters: { prod: { eks: { name: 'other-cluster', account: '222222222222', region: 'us-east-1' }, server: lab.url, skipTLSVerify: true } } },
    });
    const provider = createKubernetesProvider(config, { awsCredentials: async () => credentials }, REGISTRY.createServices());
    const kase = await openCase({ casesDir: join(dir, 'cases'), keysDir: join(dir, 'keys'), caseId: 'IR-EKS-2', analyst: 'alice', toolVersion: 'test' });
    const outcome = await provider.collect(parseTarget(`k8s:prod/shop/${scenario.compromisedPod}`), contextFor(kase));
    expect(outcome).toMatchObject({ status: 'failed', error: { code: 'E_CREDENTIALS' } });
    await kase.release();
  });
});
