import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/providers/config.js';
import { PROVIDER_MODULES, createProviders } from '../../src/providers/registry.js';

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
