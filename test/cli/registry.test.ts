import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/core/config.js';
import { PROVIDER_FACTORIES, createProviders } from '../../src/providers/registry.js';

const aws = { forensicsAccount: '111111111111', region: 'us-east-1', allowedAccounts: ['222222222222'] };

describe('provider registry', () => {
  it('knows aws and kubernetes by name', () => {
    expect(Object.keys(PROVIDER_FACTORIES).sort()).toEqual(['aws', 'kubernetes']);
  });

  it('builds only the providers the config has a section for', async () => {
    const providers = createProviders(parseConfig({ aws }));
    expect(providers.map((p) => p.name)).toEqual(['aws']);
    await Promise.all(providers.map((p) => p.close?.()));
    expect(createProviders(parseConfig({}))).toEqual([]);
  });
});
