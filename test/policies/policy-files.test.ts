/**
 * The policy files themselves: every one parses, uses only documented placeholders, fills
 * completely, and the AGPL simulator that proves them never becomes part of the product.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AWS_POLICY_DIR, AWS_POLICY_NAMES, PLACEHOLDERS, REPO_ROOT, fillPolicy, placeholdersIn, readPolicyTemplate } from '../../scripts/policies.js';
import { defaultWorld, placeholderValues } from './iam-simulator.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

describe('policies/aws', () => {
  it('ships exactly the policies the loader knows', () => {
    const files = readdirSync(AWS_POLICY_DIR).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));
    expect(files.sort()).toEqual([...AWS_POLICY_NAMES].sort());
  });

  it.each(AWS_POLICY_NAMES)('%s uses only documented placeholders and fills completely', (name) => {
    const readme = readFileSync(join(AWS_POLICY_DIR, 'README.md'), 'utf8');
    for (const placeholder of placeholdersIn(readPolicyTemplate(name))) {
      expect(Object.keys(PLACEHOLDERS), `${name}: \${${placeholder}}`).toContain(placeholder);
      expect(readme, `README documents \${${placeholder}}`).toContain(`\${${placeholder}}`);
    }
    const filled = JSON.stringify(fillPolicy(name, placeholderValues(defaultWorld(), '222222222222')));
    expect(filled).not.toMatch(/\$\{[A-Za-z][A-Za-z0-9]*\}/);
  });

  it('an unfilled placeholder is an error naming it, not a silently broken policy', () => {
    expect(() => fillPolicy('collector-trust-policy', { ForensicsAccountId: '111111111111' })).toThrow(/\$\{OrchestratorRoleArn\}/);
  });

  it('IAM policy variables survive filling: the case is compared with the session tag', () => {
    const filled = JSON.stringify(fillPolicy('collector-policy', placeholderValues(defaultWorld(), '222222222222')));
    expect(filled).toContain('${aws:PrincipalTag/CaseId}');
    expect(filled).toContain('"aws:ResourceTag/ForensicsEnabled":"true"');
  });

  it('every statement has a Sid that says what it allows (the README and the proofs name them)', () => {
    for (const name of AWS_POLICY_NAMES) {
      for (const statement of readPolicyTemplate(name).Statement) expect(statement.Sid, name).toMatch(/^[A-Z][A-Za-z0-9]+$/);
    }
  });
});

describe('the AGPL simulator stays a test tool', () => {
  it('nothing under src/ imports @cloud-copilot/*', () => {
    const offenders = filesUnder(join(REPO_ROOT, 'src'))
      .filter((f) => /\.(ts|js|mjs|cjs)$/.test(f))
      .filter((f) => /@cloud-copilot\//.test(readFileSync(f, 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('it is a devDependency, not a dependency', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      devDependencies?: Record<string, string>;
    };
    expect(Object.keys(pkg.dependencies ?? {}).filter((d) => d.startsWith('@cloud-copilot/'))).toEqual([]);
    expect(Object.keys(pkg.devDependencies ?? {})).toContain('@cloud-copilot/iam-simulate');
  });
});
