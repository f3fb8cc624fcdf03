/**
 * infra/azure carries policies/azure exactly: the committed templates are what
 * `npm run generate:infra` writes (an edited template is named as drifted), ARM's evaluation of
 * their strings gives back the policy files filled with the deployment's values, the policy
 * assigns the role definition the same template creates from collector-role.json, and both
 * templates validate offline against a vendored subset of the deployment template schema
 * (ajv) — a template that breaks it fails.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import {
  AZURE_INFRA_DIR,
  AZURE_INFRA_TEMPLATES,
  buildManagementGroupTemplate,
  buildSocSubscriptionTemplate,
  buildTargetSubscriptionTemplate,
  driftedAzureTemplates,
  renderAzureTemplate,
  SCHEMAS,
} from '../../scripts/generate-azure-infra.js';
import { fillAzurePlaceholders, readAzurePolicyFile, readSocAssignments, readStagingAssignment } from '../../src/lab/azure/policy-files.js';
import { evaluateCondition } from '../../src/lab/azure/abac-condition.js';
import { evaluateArm, evaluateArmString } from './arm-expressions.js';

type Template = Record<string, any>;
const load = (file: string): Template => JSON.parse(readFileSync(join(AZURE_INFRA_DIR, file), 'utf8')) as Template;
const MG = 'management-group.template.json';
const SOC = 'soc-subscription.template.json';
const TARGET = 'target-subscription.template.json';

const schema = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'arm-deployment-template-schema.json'), 'utf8')) as object;
const validate = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true, strictRequired: false }).compile(schema);
const errorsOf = (template: unknown) => (validate(template) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`));

const COLLECTOR_GUID = '0f0f0f0f-1111-4222-8333-444444444444';
const REMEDIATOR_GUID = '1e1e1e1e-1111-4222-8333-444444444444';
const PRINCIPAL = '5a5a5a5a-1111-4222-8333-444444444444';
const mgValues = {
  'managementGroup().name': 'mg-prod',
  "variables('collectorRoleGuid')": COLLECTOR_GUID,
  "variables('collectorRoleDefinitionId')": `/providers/Microsoft.Authorization/roleDefinitions/${COLLECTOR_GUID}`,
  "variables('remediatorRoleDefinitionId')": `/providers/Microsoft.Authorization/roleDefinitions/${REMEDIATOR_GUID}`,
  "parameters('collectorPrincipalId')": PRINCIPAL,
};
const mgFill = {
  managementGroupId: 'mg-prod',
  collectorRoleGuid: COLLECTOR_GUID,
  collectorRoleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${COLLECTOR_GUID}`,
  policyRemediatorRoleDefinitionId: `/providers/Microsoft.Authorization/roleDefinitions/${REMEDIATOR_GUID}`,
  collectorPrincipalId: PRINCIPAL,
};
const resourcesOf = (template: Template, type: string) => (template.resources as Template[]).filter((r) => r.type === type);

describe('infra/azure does not drift from policies/azure', () => {
  it.each(Object.keys(AZURE_INFRA_TEMPLATES))('infra/azure/%s needs no tool version (infra/azure/README.md): plain ARM JSON, no languageVersion', (file) => {
    expect([load(file).languageVersion, typeof load(file).$schema]).toEqual([undefined, 'string']);
  });

  it.each(Object.keys(AZURE_INFRA_TEMPLATES))('infra/azure/%s is exactly what `npm run generate:infra` writes', (file) => {
    expect(readFileSync(join(AZURE_INFRA_DIR, file), 'utf8'), `infra/azure/${file} is stale: run npm run generate:infra`).toBe(renderAzureTemplate(AZURE_INFRA_TEMPLATES[file]!()));
    expect(driftedAzureTemplates()).toEqual([]);
  });

  it('an edited template is named as drifted (an action removed from the collector role by hand)', () => {
    const committed = readFileSync(join(AZURE_INFRA_DIR, MG), 'utf8');
    const edited = committed.replace(/\s*"Microsoft\.Compute\/snapshots\/write",/, '');
    expect(edited).not.toBe(committed);
    expect(driftedAzureTemplates((file) => (file === MG ? edited : readFileSync(join(AZURE_INFRA_DIR, file), 'utf8')))).toEqual([MG]);
  });
});

describe('management-group.template.json', () => {
  const template = load(MG);

  it('is a management-group deployment template that validates against the vendored schema subset', () => {
    expect(template.$schema).toBe(SCHEMAS.managementGroup);
    expect(errorsOf(template)).toEqual([]);
  });

  it.each([
    ['collector-role', "variables('collectorRoleGuid')"],
    ['collector-discovery-role', "variables('discoveryRoleGuid')"],
    ['policy-remediator-role', "variables('remediatorRoleGuid')"],
  ])('creates policies/azure/%s.json verbatim, assignable at the management group', (file, guid) => {
    const resource = resourcesOf(template, 'Microsoft.Authorization/roleDefinitions').find((r) => r.name === `[${guid}]`)!;
    expect(evaluateArm(resource.properties, mgValues)).toEqual(fillAzurePlaceholders(readAzurePolicyFile<{ properties: unknown }>(`${file}.json`).properties, mgFill));
  });

  it('creates the collector-assignment policy verbatim (policy expressions escaped, placeholders filled by ARM)', () => {
    const [definition] = resourcesOf(template, 'Microsoft.Authorization/policyDefinitions');
    const deployed = evaluateArm(definition!.properties, mgValues) as Template;
    expect(deployed).toEqual(fillAzurePlaceholders(readAzurePolicyFile<{ properties: unknown }>('collector-assignment-policy.json').properties, mgFill));
    expect(deployed.policyRule.then.details.deployment.properties.parameters.resourceId.value).toBe("[field('id')]");
  });

  it('the policy assigns the collector role this template defines from collector-role.json — no other role', () => {
    const [definition] = resourcesOf(template, 'Microsoft.Authorization/policyDefinitions');
    const assignment = definition!.properties.policyRule.then.details.deployment.properties.template.resources[0];
    expect(assignment.properties.roleDefinitionId).toBe("[variables('collectorRoleDefinitionId')]");
    expect(template.variables.collectorRoleDefinitionId).toBe("[tenantResourceId('Microsoft.Authorization/roleDefinitions', variables('collectorRoleGuid'))]");
    const collector = resourcesOf(template, 'Microsoft.Authorization/roleDefinitions').find((r) => r.name === "[variables('collectorRoleGuid')]")!;
    expect(collector.properties.roleName).toBe(readAzurePolicyFile<{ properties: { roleName: string } }>('collector-role.json').properties.roleName);
    // The existence check looks for the same GUID the deployment names.
    const like = evaluateArmString(definition!.properties.policyRule.then.details.existenceCondition.allOf[0].like, mgValues);
    expect(like.endsWith(`/roleDefinitions/${COLLECTOR_GUID}`)).toBe(true);
  });

  it('assigns the policy at the management group with a system-assigned identity, and gives that identity only the remediator role under its delegation condition', () => {
    const [assignment] = resourcesOf(template, 'Microsoft.Authorization/policyAssignments');
    expect(assignment!.identity).toEqual({ type: 'SystemAssigned' });
    expect(assignment!.name.length).toBeLessThanOrEqual(24);
    const identityGrant = resourcesOf(template, 'Microsoft.Authorization/roleAssignments').find((r) => String(r.properties.principalId).includes('.identity.principalId'))!;
    expect(identityGrant.properties.roleDefinitionId).toBe("[variables('remediatorRoleDefinitionId')]");
    const condition = evaluateArmString(identityGrant.properties.condition, mgValues);
    expect(condition).toBe(fillAzurePlaceholders(readAzurePolicyFile<{ condition: string }>('policy-identity-assignment.json').condition, mgFill));
    const write = (role: string, principal: string) => ({
      action: 'Microsoft.Authorization/roleAssignments/write',
      attributes: { '@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId]': role, '@Request[Microsoft.Authorization/roleAssignments:PrincipalId]': principal },
    });
    expect(evaluateCondition(condition, write(COLLECTOR_GUID, PRINCIPAL))).toEqual({ result: true });
    expect(evaluateCondition(condition, write('8e3af657-a8ff-443c-a75c-2fe8c4bcb635', PRINCIPAL))).toEqual({ result: false }); // Owner
    expect(evaluateCondition(condition, write(COLLECTOR_GUID, '99999999-1111-4222-8333-444444444444'))).toEqual({ result: false });
  });
});

describe('soc-subscription.template.json', () => {
  const template = load(SOC);
  const nested = resourcesOf(template, 'Microsoft.Resources/deployments')[0]!;
  const socValues = {
    "parameters('containerName')": 'evidence',
    "parameters('socPrincipalId')": 'soc-principal',
    "parameters('verifierPrincipalId')": 'verifier-group',
    'subscription().subscriptionId': 'aaaaaaaa-1111-4111-8111-000000000001',
  };
  const socFill = { containerName: 'evidence', socPrincipalId: 'soc-principal', verifierPrincipalId: 'verifier-group', socSubscriptionId: 'aaaaaaaa-1111-4111-8111-000000000001' };

  it('is a subscription deployment template that validates against the vendored schema subset, its nested template too', () => {
    expect(template.$schema).toBe(SCHEMAS.subscription);
    expect(errorsOf(template)).toEqual([]);
    expect(nested.properties.template.$schema).toBe(SCHEMAS.resourceGroup);
  });

  it('creates the three evidence roles verbatim, assignable in the SOC subscription', () => {
    for (const file of ['evidence-writer-role', 'evidence-sealer-role', 'evidence-verifier-role']) {
      const resource = resourcesOf(template, 'Microsoft.Authorization/roleDefinitions').find((r) => r.properties.roleName === readAzurePolicyFile<{ properties: { roleName: string } }>(`${file}.json`).properties.roleName)!;
      expect(evaluateArm(resource.properties, socValues), file).toEqual(fillAzurePlaceholders(readAzurePolicyFile<{ properties: unknown }>(`${file}.json`).properties, socFill));
    }
  });

  it('assigns each at the evidence container with the condition of soc-assignments.json, and the roles it names are the ones it creates', () => {
    const file = fillAzurePlaceholders(readSocAssignments(), { ...socFill, evidenceResourceGroup: 'soc-evidence', storageAccountName: 'socevidence' });
    const assignments = nested.properties.template.resources as Template[];
    expect(assignments).toHaveLength(file.assignments.length);
    for (const expected of file.assignments) {
      const deployed = assignments.find((r) => String(r.name).includes(`'${expected.role}'`))!;
      const props = evaluateArm(deployed.properties, { ...socValues, "parameters('writerRoleDefinitionId')": 'w', "parameters('sealerRoleDefinitionId')": 's', "parameters('verifierRoleDefinitionId')": 'v' }) as Template;
      expect(props.condition, expected.name).toBe(expected.condition);
      expect(props.principalId).toBe(expected.principalId);
      expect(props.conditionVersion).toBe('2.0');
      expect(evaluateArmString(deployed.scope, { ...socValues, "parameters('storageAccountName')": 'socevidence' })).toBe('Microsoft.Storage/storageAccounts/socevidence/blobServices/default/containers/evidence');
      const roleVariable = String(props.roleDefinitionId);
      expect(nested.properties.parameters[`${roleVariable === 'w' ? 'writer' : roleVariable === 's' ? 'sealer' : 'verifier'}RoleDefinitionId`].value).toMatch(/^\[variables\('(writer|sealer|verifier)RoleDefinitionId'\)\]$/);
    }
    expect(file.scope).toBe('/subscriptions/aaaaaaaa-1111-4111-8111-000000000001/resourceGroups/soc-evidence/providers/Microsoft.Storage/storageAccounts/socevidence/blobServices/default/containers/evidence');
  });
});

describe('target-subscription.template.json', () => {
  const template = load(TARGET);

  it('is a subscription deployment template that validates against the vendored schema subset', () => {
    expect(template.$schema).toBe(SCHEMAS.subscription);
    expect(errorsOf(template)).toEqual([]);
  });

  it('creates the staging resource group and assigns it the role the management-group deployment outputs as the collector role, to the collector principal', () => {
    const staging = readStagingAssignment();
    const [group] = resourcesOf(template, 'Microsoft.Resources/resourceGroups');
    expect(group!.name).toBe("[parameters('stagingResourceGroup')]");
    const nested = resourcesOf(template, 'Microsoft.Resources/deployments')[0]!;
    expect(nested.resourceGroup).toBe("[parameters('stagingResourceGroup')]");
    const [assignment] = nested.properties.template.resources as Template[];
    expect(assignment!.scope).toBeUndefined(); // the nested deployment's resource group itself
    expect(assignment!.name).toContain(`'${staging.role}'`);
    expect(assignment!.properties.roleDefinitionId).toBe("[parameters('collectorRoleDefinitionId')]");
    expect(nested.properties.parameters.collectorRoleDefinitionId.value).toBe("[parameters('collectorRoleDefinitionId')]");
    expect(evaluateArmString(assignment!.properties.principalId, { "parameters('collectorPrincipalId')": PRINCIPAL })).toBe(fillAzurePlaceholders(staging, { collectorPrincipalId: PRINCIPAL, targetSubscriptionId: 's', stagingResourceGroup: 'g' }).principalId);
    expect(staging.role).toBe('collector-role');
    expect(load(MG).outputs.collectorRoleDefinitionId.value).toBe("[variables('collectorRoleDefinitionId')]");
  });
});

describe('the vendored schema subset catches what ARM would refuse', () => {
  const clone = <T>(v: T): T => structuredClone(v);
  it.each([
    ['no contentVersion', (t: Template) => delete t.contentVersion],
    ['a misspelt top-level property', (t: Template) => (t.resource = t.resources)],
    ['a role assignment without a principal', (t: Template) => delete resourcesOf(t, 'Microsoft.Authorization/roleAssignments')[0]!.properties.principalId],
    ['a principal type that does not exist', (t: Template) => (resourcesOf(t, 'Microsoft.Authorization/roleAssignments')[0]!.properties.principalType = 'Robot')],
    ['a policy assignment identity type that does not exist', (t: Template) => (resourcesOf(t, 'Microsoft.Authorization/policyAssignments')[0]!.identity.type = 'Magic')],
    ['a policy assignment name over 24 characters', (t: Template) => (resourcesOf(t, 'Microsoft.Authorization/policyAssignments')[0]!.name = 'cloud-custody-collector-assignment')],
    ['a role definition with a misspelt permissions field', (t: Template) => (resourcesOf(t, 'Microsoft.Authorization/roleDefinitions')[0]!.properties.permissions[0].action = ['x'])],
    ['a resource type the subset does not know', (t: Template) => ((t.resources as Template[])[0]!.type = 'Microsoft.Authorization/roleDefinition')],
    ['an api-version the subset does not know', (t: Template) => ((t.resources as Template[])[0]!.apiVersion = '2015-07-01')],
  ])('%s fails validation', (_name, breakIt) => {
    const template = clone(buildManagementGroupTemplate()) as Template;
    breakIt(template);
    expect(errorsOf(template).length).toBeGreaterThan(0);
  });

  it('a resource group without a location fails validation', () => {
    const template = clone(buildTargetSubscriptionTemplate()) as Template;
    delete resourcesOf(template, 'Microsoft.Resources/resourceGroups')[0]!.location;
    expect(errorsOf(template).length).toBeGreaterThan(0);
  });

  it('a nested deployment with an unknown mode fails validation', () => {
    const template = clone(buildSocSubscriptionTemplate()) as Template;
    resourcesOf(template, 'Microsoft.Resources/deployments')[0]!.properties.mode = 'Merge';
    expect(errorsOf(template).length).toBeGreaterThan(0);
  });
});
