/**
 * The CloudFormation templates in infra/aws are valid against the official resource schemas,
 * and the validator would catch the typo that breaks a deployment at 3 a.m.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { INFRA_DIR, INFRA_TEMPLATES } from '../../scripts/generate-infra.js';
import { RESOURCE_SCHEMAS, validateTemplate } from './cfn-validate.js';

type Template = Record<string, any>;
const load = (file: string): Template => JSON.parse(readFileSync(join(INFRA_DIR, file), 'utf8')) as Template;
const files = Object.keys(INFRA_TEMPLATES);

describe('the shipped templates are valid CloudFormation', () => {
  it.each(files)('%s passes the resource-schema validation', (file) => {
    expect(validateTemplate(load(file))).toEqual([]);
  });

  it.each(files)('%s needs no tool version (infra/aws/README.md): the only template format version, and no transform', (file) => {
    const t = load(file);
    expect([t.AWSTemplateFormatVersion, t.Transform]).toEqual(['2010-09-09', undefined]);
  });

  it('every resource type the templates use is in the vendored schema subset (and nothing else is vendored)', () => {
    const used = new Set(files.flatMap((file) => Object.values(load(file).Resources as Record<string, { Type: string }>).map((r) => r.Type)));
    expect([...used].sort()).toEqual(Object.keys(RESOURCE_SCHEMAS).sort());
  });

  it('the collector template creates the role once (IAM is global) but a shareable key in every region', () => {
    const t = load('collector-stackset.template.json');
    expect(t.Resources.CollectorRole.Condition).toBe('CreateRoleHere');
    expect(t.Resources.ShareableKey.Condition).toBeUndefined();
    expect(t.Resources.ShareableKeyAlias.Properties.AliasName).toBe('alias/cloud-custody-share');
  });

  it('evidence keys and the evidence bucket survive a stack deletion', () => {
    const c = load('collector-stackset.template.json');
    const f = load('forensics-account.template.json');
    for (const r of [c.Resources.ShareableKey, f.Resources.ForensicsKey, f.Resources.EvidenceBucket]) {
      expect(r.DeletionPolicy).toBe('Retain');
      expect(r.UpdateReplacePolicy).toBe('Retain');
    }
    expect(f.Resources.EvidenceBucket.Properties.ObjectLockConfiguration.Rule.DefaultRetention.Mode).toBe('COMPLIANCE');
    expect(f.Resources.ForensicsKeyAlias.Properties.AliasName).toBe('alias/cloud-custody-forensics');
  });
});

describe('the validator catches broken templates', () => {
  const mutate = (change: (t: Template) => void): string[] => {
    const t = structuredClone(load('forensics-account.template.json'));
    change(t);
    return validateTemplate(t);
  };

  it.each<[string, (t: Template) => void, RegExp]>([
    ['a misspelled property', (t) => { t.Resources.ForensicsKey.Properties.EnableKeyRotaton = true; }, /ForensicsKey\.Properties: unknown property EnableKeyRotaton/],
    ['a misspelled nested property', (t) => { t.Resources.EvidenceBucket.Properties.VersioningConfiguration = { Staus: 'Enabled' }; }, /unknown property Staus/],
    ['a misspelled resource type', (t) => { t.Resources.ForensicsKey.Type = 'AWS::KMS::Kye'; }, /unknown resource type AWS::KMS::Kye/],
    ['a missing required property', (t) => { delete t.Resources.ForensicsKeyAlias.Properties.TargetKeyId; }, /missing required property TargetKeyId/],
    ['an enum value AWS does not know', (t) => { t.Resources.EvidenceBucket.Properties.ObjectLockConfiguration.Rule.DefaultRetention.Mode = 'COMPLIANT'; }, /"COMPLIANT" is not one of/],
    ['a wrong primitive type', (t) => { t.Resources.OrchestratorRole.Properties.MaxSessionDuration = 'one hour'; }, /MaxSessionDuration: expected integer/],
    ['a read-only property set', (t) => { t.Resources.ForensicsKey.Properties.Arn = 'arn:aws:kms:x'; }, /Arn is read-only/],
    ['a Ref to nothing', (t) => { t.Resources.ForensicsKeyAlias.Properties.TargetKeyId = { Ref: 'ForensicKey' }; }, /refers to ForensicKey, which is neither a parameter nor a resource/],
    ['a GetAtt of an attribute the type does not have', (t) => { t.Outputs.ForensicsKeyArn.Value = { 'Fn::GetAtt': ['ForensicsKey', 'Name'] }; }, /AWS::KMS::Key has no attribute Name/],
    ['a Fn::Sub naming an unknown parameter', (t) => { t.Resources.OrchestratorRole.Properties.Description = { 'Fn::Sub': 'role in ${OrgId}' }; }, /refers to OrgId/],
    ['a Fn::If with an undefined condition', (t) => { t.Outputs.OrchestratorRoleArn.Value = { 'Fn::If': ['MakeBucket', 'a', 'b'] }; }, /undefined condition MakeBucket/],
    ['a malformed intrinsic', (t) => { t.Conditions.CreateBucket = { 'Fn::Equals': [{ Ref: 'CreateEvidenceBucket' }] }; }, /Fn::Equals takes two values/],
    ['a conditional resource used unconditionally', (t) => { delete t.Outputs.EvidenceBucketName.Condition; }, /exists only when CreateBucket, outside that condition/],
    ['an unknown resource attribute', (t) => { t.Resources.ForensicsKey.DeletionPolicyy = 'Retain'; }, /unknown resource attribute DeletionPolicyy/],
    [
      'a conditional resource in the else branch of its own Fn::If',
      (t) => {
        const policy = t.Resources.OrchestratorRole.Properties.Policies[1];
        const [condition, then, otherwise] = policy['Fn::If'];
        policy['Fn::If'] = [condition, otherwise, then];
      },
      /exists only when CreateBucket, outside that condition/,
    ],
  ])('%s', (_name, change, expected) => {
    const problems = mutate(change);
    expect(problems.some((p) => expected.test(p)), problems.join('\n')).toBe(true);
  });
});
