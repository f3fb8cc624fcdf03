import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/providers/config.js';
import { REGISTRY } from '../../src/providers/registry.js';
const summarizeConfig = REGISTRY.summarizeConfig;
import { findCredential } from '../../src/custody/credential-guard.js';

describe('config summary for the ledger', () => {
  it('records accounts, roles and clusters but not the external id, and passes the credential guard', () => {
    const config = parseConfig({
      aws: {
        forensicsAccount: '111111111111',
        region: 'us-east-1',
        allowedAccounts: ['222222222222'],
        externalId: 'shared-secret-external-id',
      },
      kubernetes: { clusters: { prod: { context: 'prod-admin', kubeconfig: '/home/alice/.kube/config', nodeAccount: '222222222222' } } },
    });
    const summary = summarizeConfig(config);
    expect(JSON.stringify(summary)).not.toContain('shared-secret-external-id');
    expect(summary).toMatchObject({
      aws: { forensicsAccount: '111111111111', allowedAccounts: ['222222222222'], externalIdUsed: true, collectorRole: 'CloudCustodyCollector' },
      kubernetes: { clusters: { prod: { context: 'prod-admin', nodeAccount: '222222222222' } } },
      signingKey: 'per-case key',
    });
    expect(findCredential(summary)).toBeUndefined();
  });
});
