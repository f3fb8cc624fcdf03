import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfigWith } from '../../src/core/config.js';
import { DEFAULT_COLLECT_OPTIONS, runCollection } from '../../src/core/orchestrator.js';
import { openCase, verifyCase } from '../../src/custody/index.js';
import { createRegistry, PROVIDER_MODULES } from '../../src/providers/registry.js';
import { toyCalls, toyModule } from '../fixtures/toy-provider/module.js';

// The one line: the product's modules plus the test-only provider.
const registry = createRegistry([...PROVIDER_MODULES, toyModule]);

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('a provider added as one folder and one line', () => {
  it("is the line docs/providers.md shows, as registry.ts has it", () => {
    const line = (text: string) => /^export const PROVIDER_MODULES = .*$/m.exec(text)?.[0];
    const root = join(import.meta.dirname, '..', '..');
    const shown = line(readFileSync(join(root, 'docs', 'providers.md'), 'utf8'));
    expect(shown).toBeDefined();
    expect(shown).toBe(line(readFileSync(join(root, 'src', 'providers', 'registry.ts'), 'utf8')));
  });

  it('owns its config section, composed with the others; the file stays strict', () => {
    const config = parseConfigWith(registry.configSchema, { toy: { region: 'r1', allowed: ['m-1'] }, aws: { forensicsAccount: '111111111111', region: 'us-east-1', allowedAccounts: ['222222222222'] } });
    expect(registry.configured(config).map((m) => m.name)).toEqual(['aws', 'toy']);
    expect(() => parseConfigWith(registry.configSchema, { toy: { region: 'r1', allowed: [] } })).toThrow(/toy\.allowed/);
    expect(() => parseConfigWith(registry.configSchema, { toy: { region: 'r1', allowed: ['m'] }, tyo: {} })).toThrow(/E_CONFIG|Unrecognized key/i);
    expect(registry.summarizeConfig(config)).toMatchObject({ toy: { region: 'r1', allowed: 1 } });
  });

  it('owns its target and selector syntax, flags, help and preflight scopes', () => {
    expect(registry.parseTarget('toy:m-1')).toEqual({ provider: 'toy', kind: 'toy-machine', key: 'toy:m-1', machine: 'm-1' });
    expect(() => registry.parseTarget('toy:M!')).toThrow(/Expected toy:MACHINE/);
    expect(() => registry.parseTarget('nope:1')).toThrow(/toy:MACHINE/);
    expect(registry.parseSelector('toy-all:r1').provider).toBe('toy');
    expect(registry.flags().map((f) => f.flag)).toContain('toy-freeze');
    expect(registry.helpForms()).toContain('toy:MACHINE');
    expect(registry.modules.flatMap((m) => m.preflightScopes ?? []).map((s) => s.flag)).toContain('toy-zone');
  });

  it('maps a Kubernetes node it owns back through the registry, as text', () => {
    const services = registry.createServices();
    const mapping = services.mapNode({ cluster: 'c', node: 'n1', providerID: 'toy://m-9', hints: {} });
    expect(mapping).toEqual({ followUp: 'toy:m-9', data: { cloud: 'toy' } });
    expect(services.parseTarget('toy:m-9').provider).toBe('toy');
    // AWS's own nodes still map to AWS, with the partition of the region.
    const gov = services.mapNode({ cluster: 'c', node: 'n2', providerID: 'aws:///us-gov-west-1a/i-0123456789abcdef0', hints: { account: '222222222222' } });
    expect(gov).toMatchObject({ followUp: 'arn:aws-us-gov:ec2:us-gov-west-1:222222222222:instance/i-0123456789abcdef0' });
  });

  it('is the caller identity and the preflight rows when it is the only configured provider', async () => {
    const config = parseConfigWith(registry.configSchema, { toy: { region: 'r1', allowed: ['m-1'] } });
    expect(await registry.callerIdentity(config)).toEqual({ arn: 'toy:principal/r1/responder', account: 'r1', userId: 'toy-1' });
    const rows = await registry.preflight({ config, targets: [], scopes: { 'toy-zone': ['z1'] } });
    expect(rows).toEqual([expect.objectContaining({ provider: 'toy', scope: ['z1', 'r1'], result: 'ok' })]);
  });

  it('collects into a case through the unchanged core, with its own flag, and the case verifies', async () => {
    dir = await mkdtemp(join(tmpdir(), 'toy-'));
    const config = parseConfigWith(registry.configSchema, { toy: { region: 'r1', allowed: ['m-1', 'm-2'] } });
    const providers = await registry.createProviders(config);
    const kase = await openCase({ casesDir: join(dir, 'cases'), keysDir: join(dir, 'keys'), caseId: 'IR-TOY', analyst: 'alice', toolVersion: 'test', config: registry.summarizeConfig(config) });
    const result = await runCollection({
      config,
      providers,
      parser: registry,
      recorder: kase,
      targets: [registry.parseTarget('toy:m-1'), registry.parseTarget('toy:m-3')],
      selectors: [registry.parseSelector('toy-all:r1')],
      options: { ...DEFAULT_COLLECT_OPTIONS, toyFreeze: true },
    });
    await kase.close({ outcomes: result.outcomes });
    expect(Object.fromEntries(result.outcomes.map((o) => [o.target, o.status]))).toEqual({ 'toy:m-1': 'collected', 'toy:m-2': 'collected', 'toy:m-3': 'failed' });
    expect(toyCalls).toEqual(['freeze m-1', 'freeze m-2']);
    const types = kase.entries().filter((e) => e.target === 'toy:m-1').map((e) => e.type);
    expect(types.indexOf('change.requested')).toBeLessThan(types.indexOf('change.applied'));
    expect((await verifyCase(join(dir, 'cases', 'IR-TOY'))).ok).toBe(true);
  });
});
