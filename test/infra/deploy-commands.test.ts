/**
 * The deploy pages' commands against the templates they deploy: what a platform engineer pastes
 * from docs/deploy-*.md gives every parameter a template cannot default, and an update keeps every
 * parameter as it was (CloudFormation resets a parameter an update does not name to the
 * template's default).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from '@cdktf/hcl2json';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');
const doc = (name: string) => read(`docs/${name}`);
const json = (path: string) => JSON.parse(read(path)) as Record<string, any>;

/** Each shell command of a page that starts with `start`, continuation lines joined. */
function commands(page: string, start: string): string[] {
  const text = page.replace(/\\\n\s*/g, ' ');
  return [...text.matchAll(new RegExp(`${start}[^\\n\`]*`, 'g'))].map((m) => m[0]);
}

/** The parameters a CloudFormation or ARM template has no default for. */
function required(parameters: Record<string, { Default?: unknown; defaultValue?: unknown }>): string[] {
  return Object.entries(parameters)
    .filter(([, p]) => p.Default === undefined && p.defaultValue === undefined)
    .map(([name]) => name)
    .sort();
}

describe('docs/deploy-aws.md', () => {
  const page = doc('deploy-aws.md');
  const collector = json('infra/aws/collector-stackset.template.json');

  it('the collector StackSet update keeps every parameter of the template (one left out would go back to its default)', () => {
    const [update, ...more] = commands(page, 'aws cloudformation update-stack-set');
    expect(more).toEqual([]);
    const kept = [...update!.matchAll(/ParameterKey=(\w+),UsePreviousValue=true/g)].map((m) => m[1]).sort();
    expect(kept).toEqual(Object.keys(collector.Parameters).sort());
  });

  it('the first deployments give every parameter the templates cannot default', () => {
    const [create] = commands(page, 'aws cloudformation create-stack-set');
    for (const name of required(collector.Parameters)) expect(create, name).toContain(`ParameterKey=${name},`);
    const [deploy] = commands(page, 'aws cloudformation deploy');
    expect(deploy).toContain('infra/aws/forensics-account.template.json');
    for (const name of required(json('infra/aws/forensics-account.template.json').Parameters)) expect(deploy, name).toMatch(new RegExp(`'?${name}=`));
  });
});

describe('docs/deploy-azure.md', () => {
  it.each(['management-group', 'soc-subscription', 'target-subscription'])('the az deployment of %s gives every parameter the template cannot default', (name) => {
    const deployments = commands(doc('deploy-azure.md'), 'az deployment (?:mg|sub) create').filter((c) => c.includes(`infra/azure/${name}.template.json`));
    expect(deployments).toHaveLength(1);
    for (const parameter of required(json(`infra/azure/${name}.template.json`).parameters)) expect(deployments[0], parameter).toContain(`${parameter}=`);
  });
});

describe('docs/deploy-gcp.md', () => {
  it('terraform apply gives every variable main.tf cannot default', async () => {
    const parsed = (await parse('main.tf', read('infra/gcp/main.tf'))) as { variable: Record<string, Array<{ default?: unknown }>> };
    const needed = Object.entries(parsed.variable).filter(([, [v]]) => v!.default === undefined).map(([name]) => name);
    const page = doc('deploy-gcp.md');
    const step = page.slice(page.indexOf('terraform apply')).split('\n2. ')[0]!;
    for (const name of needed) expect(step, name).toMatch(new RegExp(`-var '?${name}=`));
  });
});
