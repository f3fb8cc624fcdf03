import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, parseConfig } from '../../src/providers/config.js';
import { CustodyError } from '../../src/core/errors.js';

const minimal = {
  aws: { forensicsAccount: '111111111111', region: 'us-east-1', allowedAccounts: ['222222222222'] },
};

function configError(raw: unknown): CustodyError {
  try {
    parseConfig(raw);
  } catch (error) {
    if (error instanceof CustodyError) return error;
    throw error;
  }
  throw new Error('expected the config to be refused');
}

describe('configuration', () => {
  it('fills safe defaults: 900 s sessions, copy into the forensics account, the default tag', () => {
    const config = parseConfig(minimal);
    expect(config.aws?.sessionDurationSeconds).toBe(900);
    expect(config.aws?.transfer).toBe('copy');
    expect(config.aws?.collectionTag).toEqual({ key: 'ForensicsEnabled', value: 'true' });
    expect(config.aws?.collectorRole).toBe('CloudCustodyCollector');
    expect(config.concurrency).toEqual({ perScope: 10, total: 64 });
  });

  it('names every bad field', () => {
    const error = configError({
      aws: { forensicsAccount: '1111', region: 'us-east-1', allowedAccounts: ['222222222222', 'abc'], sessionDurationSeconds: 7200 },
    });
    expect(error.code).toBe('E_CONFIG');
    expect(error.message).toContain('aws.forensicsAccount: must be a 12-digit AWS account id');
    expect(error.message).toContain('aws.allowedAccounts[1]: must be a 12-digit AWS account id');
    expect(error.message).toContain('aws.sessionDurationSeconds');
  });

  it('refuses unknown fields, so a typo is not silently ignored', () => {
    const error = configError({ ...minimal, casesDri: 'x' });
    expect(error.message).toMatch(/casesDri/);
  });

  it.each([
    // A misspelt key inside a nested object was dropped: forensics copies under the default key,
    // a lock without its cooling-off period, a call to the real STS instead of the endpoint meant.
    ['concurrency.perscope', { ...minimal, concurrency: { perscope: 2 } }, 'concurrency'],
    ['aws.kms.forensicKey', { aws: { ...minimal.aws, kms: { forensicKey: 'arn:aws:kms:us-east-1:111111111111:alias/k' } } }, 'aws.kms'],
    ['aws.endpoints.stss', { aws: { ...minimal.aws, endpoints: { stss: 'http://127.0.0.1:4566' } } }, 'aws.endpoints'],
    ['aws.lock.coolOffHour', { aws: { ...minimal.aws, lock: { durationDays: 30, coolOffHour: 24 } } }, 'aws.lock'],
    ['aws.collectionTag.vaule', { aws: { ...minimal.aws, collectionTag: { key: 'ForensicsEnabled', value: 'true', vaule: 'yes' } } }, 'aws.collectionTag'],
    ['azure.collectionTag.vaule', { azure: { collectionTag: { key: 'ForensicsEnabled', value: 'true', vaule: 'x' } } }, 'azure.collectionTag'],
    ['gcp.collectionTag.vaule', { gcp: { forensicsProject: 'custody-forensics', allowedProjects: ['web-prod'], collectionTag: { key: '1/ForensicsEnabled', value: 'true', vaule: 'x' } } }, 'gcp.collectionTag'],
    ['gcp.snapshots.evidenceHoldTag.vaule', { gcp: { forensicsProject: 'custody-forensics', allowedProjects: ['web-prod'], snapshots: { evidenceHoldTag: { key: '1/Hold', value: 'true', vaule: 'x' } } } }, 'gcp.snapshots.evidenceHoldTag'],
  ])('refuses an unknown key inside a section too (%s), naming where it is', (_name, raw, where) => {
    const error = configError(raw);
    expect(error.code).toBe('E_CONFIG');
    expect(error.message).toMatch(new RegExp(`${where.replaceAll('.', '\\.')}: Unrecognized key`));
  });

  it('refuses a blank analyst, naming the field (it would be signed into the ledger as who acted)', () => {
    const error = configError({ ...minimal, analyst: '   ' });
    expect(error.code).toBe('E_CONFIG');
    expect(error.message).toMatch(/analyst: /);
  });

  it('a file that is not JSON is named with the parse error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'custody-config-'));
    const path = join(dir, 'custody.config.json');
    writeFileSync(path, '{ "aws": ');
    expect(() => loadConfigFile(path)).toThrowError(/is not valid JSON/);
  });

  it('a missing file says which path was read', () => {
    expect(() => loadConfigFile('/nonexistent/custody.config.json')).toThrowError(/cannot read config file \/nonexistent/);
  });

  it('relative paths in a config file resolve against the file, not the working directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'custody-config-'));
    const path = join(dir, 'custody.config.json');
    writeFileSync(path, JSON.stringify({ ...minimal, casesDir: 'my-cases', keysDir: 'keys' }));
    const config = loadConfigFile(path);
    expect(config.casesDir).toBe(join(dir, 'my-cases'));
    expect(config.keysDir).toBe(join(dir, 'keys'));
  });
});

describe("the providers' file paths in a config file (kubeconfig, CA files, Azure's token file)", () => {
  const azure = (extra: Record<string, unknown>) => ({
    socTenantId: '00000000-0000-4000-8000-000000000001',
    socSubscriptionId: '00000000-0000-4000-8000-000000000002',
    clientId: '00000000-0000-4000-8000-000000000003',
    subscriptions: [{ subscriptionId: '00000000-0000-4000-8000-000000000004', tenantId: '00000000-0000-4000-8000-000000000005' }],
    evidenceContainerUrl: 'https://socevidence.blob.core.windows.net/evidence',
    ...extra,
  });
  const withPaths = {
    ...minimal,
    kubernetes: {
      clusters: {
        prod: { eks: { name: 'prod-eks', account: '222222222222', region: 'us-east-1' }, server: 'https://example.eks.amazonaws.com', caFile: 'prod-eks-ca.pem' },
        staging: { kubeconfig: 'kube/config', context: 'staging' },
        fixed: { kubeconfig: '/etc/kube/config', caFile: '/etc/ssl/ca.pem' },
      },
    },
    azure: azure({ caFile: 'proxy-ca.pem', assertion: { source: 'token-file', path: 'tokens/azure' } }),
  };

  it('resolve against the file, as casesDir does, not the working directory (a Lambda runs in /var/task)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'custody-config-'));
    const path = join(dir, 'custody.config.json');
    writeFileSync(path, JSON.stringify(withPaths));
    const config = loadConfigFile(path);
    const clusters = config.kubernetes!.clusters;
    expect([clusters.prod!.caFile, clusters.staging!.kubeconfig, clusters.fixed!.kubeconfig, clusters.fixed!.caFile]).toEqual([
      join(dir, 'prod-eks-ca.pem'),
      join(dir, 'kube', 'config'),
      '/etc/kube/config',
      '/etc/ssl/ca.pem',
    ]);
    expect([config.azure!.caFile, config.azure!.assertion]).toEqual([join(dir, 'proxy-ca.pem'), { source: 'token-file', path: join(dir, 'tokens', 'azure') }]);
  });

  it("the example config's EKS CA file is the one beside it", () => {
    const examples = join(__dirname, '..', '..', 'examples');
    expect(loadConfigFile(join(examples, 'custody.config.json')).kubernetes?.clusters.prod?.caFile).toBe(join(examples, 'prod-eks-ca.pem'));
  });
});

describe('the example config shipped in examples/', () => {
  const examples = join(__dirname, '..', '..', 'examples');

  it('holds only examples that load, so a user can start from any of them', () => {
    const files = readdirSync(examples).filter((name) => name.endsWith('.json'));
    expect(files).toContain('custody.config.json');
    const refused = files.flatMap((name) => {
      try {
        loadConfigFile(join(examples, name));
        return [];
      } catch (error) {
        return [`${name}: ${(error as Error).message}`];
      }
    });
    expect(refused).toEqual([]);
  });

  it('is valid, so a user can start from it', () => {
    const config = loadConfigFile(join(__dirname, '..', '..', 'examples', 'custody.config.json'));
    expect(config.aws?.allowedAccounts).toEqual(['222222222222', '333333333333']);
    expect(Object.keys(config.kubernetes?.clusters ?? {})).toEqual(['prod', 'staging']);
  });
});

describe('the whole config files README.md and docs/ show', () => {
  const root = join(__dirname, '..', '..');
  const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => join('docs', name))];
  // A ```json block that is a whole config (an object naming a config section) with nothing left
  // to fill in (`<your …>`, `…`): a user can copy it as it stands, so it must load.
  const blocks = pages.flatMap((page) =>
    [...readFileSync(join(root, page), 'utf8').matchAll(/```json\n(\{[\s\S]*?)```/g)]
      .map((m) => ({ page, text: m[1]! }))
      .filter(({ text }) => /^\{\s*"(?:casesDir|aws|gcp|azure|kubernetes)"/.test(text) && !/[<…]/.test(text)),
  );

  it('finds the copyable ones', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2);
  });

  it('load with the real config loader', () => {
    const refused = blocks.flatMap(({ page, text }) => {
      try {
        parseConfig(JSON.parse(text));
        return [];
      } catch (error) {
        return [`${page}: ${(error as Error).message}`];
      }
    });
    expect(refused).toEqual([]);
  });
});
