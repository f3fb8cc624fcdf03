import { createRegistry, PROVIDER_MODULES, REGISTRY } from '../../../src/providers/registry.js';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createKubernetesProvider } from '../../../src/providers/kubernetes/index.js';
import { parseTarget } from '../../../src/providers/targets.js';
import type { K8sFixture } from './helpers.js';
import { contextFor, entriesOf, openTestCase, startFixture } from './helpers.js';

let fixture: K8sFixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

describe('collecting a compromised pod from the lab cluster', () => {
  it('takes pod, owners, service account, node, events, exec output and every log, and hands the node to AWS', async () => {
    fixture = await startFixture();
    const { scenario } = fixture;
    const provider = createKubernetesProvider(fixture.config, {}, REGISTRY.createServices());
    const kase = await openTestCase(fixture);
    const target = parseTarget(`k8s:lab/${scenario.namespace}/${scenario.compromisedPod}`);
    const outcome = await provider.collect(target, contextFor(kase));

    expect(outcome.status).toBe('collected');
    expect(outcome.followUps).toEqual([
      parseTarget(`arn:aws:ec2:us-east-1:222222222222:instance/${scenario.compromisedInstanceId}`),
    ]);
    const names = entriesOf(kase, 'evidence.stored').map((e) => e.data.name);
    expect(names).toEqual(expect.arrayContaining([
      'pod.json', 'owner-replicaset-web-7d9f8b6c5d.json', 'owner-deployment-web.json', 'serviceaccount-web.json',
      `node-${scenario.compromisedNode}.json`, 'events.json',
      'exec-app-processes.out', 'exec-app-net-tcp.out',
      'log-migrate.log', 'log-app.log', 'log-app-previous.log', 'log-log-shipper.log',
    ]));
    // Order of volatility: events before exec before logs.
    const order = (name: string) => names.indexOf(name);
    expect(order('events.json')).toBeLessThan(order('exec-app-processes.out'));
    expect(order('exec-app-processes.out')).toBeLessThan(order('log-app.log'));

    // The init container has finished and the sidecar never restarted: no previous logs asked for.
    const skipped = entriesOf(kase, 'log.skipped').map((e) => [e.data.container, e.data.previous]);
    expect(skipped).toEqual(expect.arrayContaining([['migrate', true], ['log-shipper', true]]));
    const previous = await readFile(join(kase.caseDir, 'evidence', outcome.evidenceIds[0]!, 'log-app-previous.log'), 'utf8');
    expect(previous).toMatch(/^2026-11-26T03:40:58\.402110071Z POST \/api\/render 500/m);

    // Each command is recorded exactly before it ran, and the lab saw exactly that argv.
    const requested = entriesOf(kase, 'exec.requested').map((e) => e.data.command);
    expect(requested).toContainEqual(['ps', '-o', 'pid,ppid,user,etime,args']);
    expect(fixture.lab.execs.map((x) => x.command)).toEqual(requested);
    // No environment without --include-env.
    expect(requested).not.toContainEqual(['cat', '/proc/1/environ']);

    // The sidecar image has no ps: recorded, not fatal.
    const missing = entriesOf(kase, 'exec.completed').filter((e) => e.data.container === 'log-shipper' && e.data.result === 'command-not-found');
    expect(missing.map((e) => e.data.command)).toContainEqual(['ps', '-o', 'pid,ppid,user,etime,args']);
    const stdout = entriesOf(kase, 'exec.completed').find((e) => e.data.container === 'app' && (e.data.command as string[])[1] === '/proc/net/tcp');
    expect(stdout?.data.result).toBe('exited');

    // The demo node's runtime cannot checkpoint: recorded as unavailable with its meaning.
    const checkpoint = entriesOf(kase, 'checkpoint.unavailable');
    expect(checkpoint.map((e) => e.data.httpStatus)).toEqual([500, 500]);
    expect(String(checkpoint[0]!.data.meaning)).toMatch(/runtime could not checkpoint/);

    // Read-only: nothing was patched, created or deleted.
    // (SelfSubjectReview is a create that asks who we are: it stores nothing.)
    const writes = fixture.lab.audit.filter((a) => ['patch', 'delete'].includes(a.verb) || (a.verb === 'create' && a.subresource !== 'exec' && a.subresource !== 'proxy' && a.resource !== 'selfsubjectreviews'));
    expect(writes).toEqual([]);
    await kase.release();
  });
});

describe('nodes outside AWS', () => {
  it('a mistyped container is named as not in the pod, with the containers the pod has', async () => {
    fixture = await startFixture();
    const { scenario } = fixture;
    const provider = createKubernetesProvider(fixture.config, {}, REGISTRY.createServices());
    const kase = await openTestCase(fixture);
    const outcome = await provider.collect(parseTarget(`k8s:lab/${scenario.namespace}/${scenario.compromisedPod}/ap`), contextFor(kase));
    expect(outcome.status).toBe('partial');
    expect(outcome.reason).toContain(`container "ap" is not in pod k8s:lab/${scenario.namespace}/${scenario.compromisedPod} (its containers: migrate, app, log-shipper)`);
  });

  it('a pod on a GKE node is collected and its node followed to the GCP instance (mapped by the GCP module)', async () => {
    const providerID = 'gce://forensics-prj/europe-west1-b/gke-prod-pool-1-8f2c1a7e-x9zq';
    fixture = await startFixture((cluster) => {
      for (const node of cluster.nodes) node.providerID = providerID;
    });
    const provider = createKubernetesProvider(fixture.config, {}, REGISTRY.createServices());
    const kase = await openTestCase(fixture);
    const outcome = await provider.collect(parseTarget(`k8s:lab/shop/${fixture.scenario.compromisedPod}`), contextFor(kase));
    expect(outcome.status).toBe('collected');
    const instance = '//compute.googleapis.com/projects/forensics-prj/zones/europe-west1-b/instances/gke-prod-pool-1-8f2c1a7e-x9zq';
    expect(outcome.followUps?.map((t) => [t.provider, t.key])).toEqual([['gcp', instance]]);
    expect(entriesOf(kase, 'node.mapped')[0]!.data).toMatchObject({ cloud: 'gce', providerID, followUp: instance });
    await kase.release();
  });

  it.each([
    ['gce://forensics-prj/europe-west1-b/gke-prod-pool-1-8f2c1a7e-x9zq', 'gce', 'gcp'],
    ['azure:///subscriptions/sub/resourceGroups/MC_rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-np1-vmss/virtualMachines/3', 'azure', 'azure'],
  ])('a pod on %s, with a registry that lacks that cloud, is collected and its node recorded as "provider not yet supported"', async (providerID, cloud, missing) => {
    fixture = await startFixture((cluster) => {
      for (const node of cluster.nodes) node.providerID = providerID;
    });
    const without = createRegistry(PROVIDER_MODULES.filter((m) => m.name !== missing));
    const provider = createKubernetesProvider(fixture.config, {}, without.createServices());
    const kase = await openTestCase(fixture);
    const outcome = await provider.collect(parseTarget(`k8s:lab/shop/${fixture.scenario.compromisedPod}`), contextFor(kase));
    expect(outcome.status).toBe('collected');
    expect(outcome.followUps).toBeUndefined();
    const notMapped = entriesOf(kase, 'node.not-mapped')[0]!;
    expect(notMapped.data).toMatchObject({ cloud, providerID });
    expect(String(notMapped.data.reason)).toMatch(/provider not yet supported/);
    await kase.release();
  });
});

describe('nodes on Azure (AKS)', () => {
  const aksNode = '/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/mc_rg_aks_eastus/providers/Microsoft.Compute/virtualMachineScaleSets/aks-np1-vmss/virtualMachines/3';
  it('a scale-set VM providerID becomes an Azure follow-up target through the registry', async () => {
    fixture = await startFixture((cluster) => {
      for (const node of cluster.nodes) node.providerID = `azure://${aksNode}`;
    });
    const provider = createKubernetesProvider(fixture.config, {}, REGISTRY.createServices());
    const kase = await openTestCase(fixture);
    const outcome = await provider.collect(parseTarget(`k8s:lab/shop/${fixture.scenario.compromisedPod}`), contextFor(kase));
    expect(outcome.followUps).toEqual([expect.objectContaining({ provider: 'azure', kind: 'azure-vmss-vm', key: aksNode })]);
    expect(entriesOf(kase, 'node.mapped')[0]!.data).toMatchObject({ provider: 'azure', followUp: aksNode });
    await kase.release();
  });

  it('a malformed Azure providerID is recorded as not mapped, with the reason', async () => {
    fixture = await startFixture((cluster) => {
      for (const node of cluster.nodes) node.providerID = 'azure:///subscriptions/sub/resourceGroups/MC_rg/providers/Microsoft.Compute/virtualMachineScaleSets/aks-np1-vmss/virtualMachines/3';
    });
    const provider = createKubernetesProvider(fixture.config, {}, REGISTRY.createServices());
    const kase = await openTestCase(fixture);
    const outcome = await provider.collect(parseTarget(`k8s:lab/shop/${fixture.scenario.compromisedPod}`), contextFor(kase));
    expect(outcome.followUps).toBeUndefined();
    expect(String(entriesOf(kase, 'node.not-mapped')[0]!.data.reason)).toContain('not a subscription id');
    await kase.release();
  });
});

// A throwaway self-signed CA; its fingerprint as `openssl x509 -noout -fingerprint -sha256` printed it.
const TEST_CA = `-----BEGIN CERTIFICATE-----
MIIBfzCCASWgAwIBAgIURLwcwJbpLyIUvyaGcasD6GJMihcwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKa3ViZXJuZXRlczAeFw0yNjExMjYwNjAzMjlaFw0zNjExMjMw
NjAzMjlaMBUxEzARBgNVBAMMCmt1YmVybmV0ZXMwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAR3vj1nNfpcEnExjTH+TSZGG9E2SGK3nTTO+9Uaf+c+iC4VjO3CfUnL
YTvqgrPcbUhKnJf0PB5cpaxBs7rZqNW0o1MwUTAdBgNVHQ4EFgQUmKRl54v7oCfC
nMTRxthNm0afNpowHwYDVR0jBBgwFoAUmKRl54v7oCfCnMTRxthNm0afNpowDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEAsfAOqtyhcc9U2TRzdT11
PuSdBbizV8JGqbSS2WvTD24CIDQIRJL2GOXZUqhug5u+2AJZ3pRuNy1jRq25O5Lv
mP9G
-----END CERTIFICATE-----
`;
const TEST_CA_SHA256 = 'C6:87:50:18:92:58:59:EF:C2:98:C1:01:9D:3B:AB:82:7E:5B:F2:BD:D9:23:F8:14:1A:61:AE:7A:88:62:96:31';

describe('the record of how the cluster was reached', () => {
  it('names the API server, the pinned CA by fingerprint, and that TLS was not verified, but never the token', async () => {
    fixture = await startFixture();
    const kubeconfig = join(fixture.dir, 'kubeconfig-ca');
    await writeFile(
      kubeconfig,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'lab', cluster: { server: fixture.lab.url, 'certificate-authority-data': Buffer.from(TEST_CA).toString('base64'), 'insecure-skip-tls-verify': true } }],
        users: [{ name: 'u', user: { token: fixture.scenario.collectorToken } }],
        contexts: [{ name: 'lab', context: { cluster: 'lab', user: 'u' } }],
        'current-context': 'lab',
      }),
    );
    const config = { ...fixture.config, kubernetes: { clusters: { lab: { kubeconfig, nodeAccount: '222222222222' } } } };
    const kase = await openTestCase(fixture);
    await createKubernetesProvider(config, {}, REGISTRY.createServices()).collect(parseTarget(`k8s:lab/shop/${fixture.scenario.compromisedPod}`), contextFor(kase));
    expect(entriesOf(kase, 'cluster.connected')[0]!.data).toEqual({
      identity: {
        username: 'cloud-custody-collector',
        groups: ['cloud-custody:collectors', 'system:authenticated'],
        requestId: fixture.lab.audit.find((a) => a.resource === 'selfsubjectreviews')!.auditId,
      },
      cluster: 'lab',
      server: fixture.lab.url,
      auth: 'kubeconfig',
      context: 'lab',
      caFingerprint: TEST_CA_SHA256,
      tlsVerified: false,
    });
    expect(JSON.stringify(kase.entries())).not.toContain(fixture.scenario.collectorToken);
    await kase.release();
  });
});
