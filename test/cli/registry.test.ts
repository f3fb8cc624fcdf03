import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/providers/config.js';
import { DEFAULT_COLLECT_OPTIONS } from '../../src/core/orchestrator.js';
import { planCollection } from '../../src/core/plan.js';
import { azureSection } from './harness.js';
import { PROVIDER_MODULES, REGISTRY, createProviders } from '../../src/providers/registry.js';

const aws = { forensicsAccount: '111111111111', region: 'us-east-1', allowedAccounts: ['222222222222'] };

describe('provider registry', () => {
  it('knows aws, azure, gcp and kubernetes by name', () => {
    expect(PROVIDER_MODULES.map((m) => m.name).sort()).toEqual(['aws', 'azure', 'gcp', 'kubernetes']);
  });

  it('builds only the providers the config has a section for', async () => {
    const providers = await createProviders(parseConfig({ aws }));
    expect(providers.map((p) => p.name)).toEqual(['aws']);
    await Promise.all(providers.map((p) => p.close?.()));
    expect(await createProviders(parseConfig({}))).toEqual([]);
  });
});

describe('plan of a selector', () => {
  it("names the cloud's own search scope: AWS accounts and regions, Azure subscriptions, GCP projects, the Kubernetes cluster and namespace", async () => {
    const SUB = '11111111-2222-3333-4444-555555555555';
    const providers = await createProviders(
      parseConfig({
        aws: { ...aws, regions: ['us-east-1', 'eu-west-1'] },
        gcp: { forensicsProject: 'custody-forensics', allowedProjects: ['web-prod', 'gke-prod'] },
        azure: azureSection(SUB),
        kubernetes: { clusters: { prod: { server: 'https://prod.example.com' } } },
      }),
    );
    const selectors = ['tag:Incident=IR-1', 'azure:tag:Incident=IR-1', 'gcp-label:incident=ir-1', 'k8s:prod/shop?labels=app=web'].map((s) => REGISTRY.parseSelector(s));
    const plan = planCollection({ providers, targets: [], selectors, options: DEFAULT_COLLECT_OPTIONS });
    const after = '; each target found is then collected as planned above';
    expect(plan.selectors.map((s) => [s.selector, s.provider, s.refused ?? null, s.note])).toEqual([
      ['tag:Incident=IR-1', 'aws', null, `expanded at collection time by searching the allowed accounts (aws.allowedAccounts: 222222222222) in us-east-1, eu-west-1${after}`],
      ['azure:tag:Incident=IR-1', 'azure', null, `expanded at collection time by searching the configured subscriptions (azure.subscriptions: ${SUB})${after}`],
      ['gcp-label:incident=ir-1', 'gcp', null, `expanded at collection time by searching the allowed projects (gcp.allowedProjects: web-prod, gke-prod)${after}`],
      ['k8s:prod/shop?labels=app=web', 'kubernetes', null, `expanded at collection time by searching namespace shop of the configured cluster prod${after}`],
    ]);
    await Promise.all(providers.map((p) => p.close?.()));
  });

  it('counts the ids instead of listing them when there are more than three (an organisation may allow hundreds of accounts)', async () => {
    const accounts = ['222222222222', '333333333333', '444444444444', '555555555555'];
    const providers = await createProviders(parseConfig({ aws: { ...aws, allowedAccounts: accounts } }));
    const plan = planCollection({ providers, targets: [], selectors: [REGISTRY.parseSelector('tag:Incident=IR-1')], options: DEFAULT_COLLECT_OPTIONS });
    expect(plan.selectors[0]!.note).toBe('expanded at collection time by searching the 4 allowed accounts of aws.allowedAccounts in us-east-1; each target found is then collected as planned above');
    await Promise.all(providers.map((p) => p.close?.()));
  });
});
