/**
 * The other half of least privilege on Azure: *where* roles are assigned.
 * - The Azure Policy (collector-assignment-policy.json) assigns exactly the collector role, to
 *   the collector principal, at exactly the tagged VM / scale set / disk — and the lab's estate
 *   holds exactly the assignments the policy would deploy for it, so the whole-case tests run
 *   under what the policy grants.
 * - The policy's managed identity holds a role that can do only what the policy's deployment does.
 * - Each SOC assignment's ABAC condition targets exactly the data actions its role grants.
 */
import { describe, expect, it } from 'vitest';
import { AZURE_OPERATIONS, type AzureOperation } from '../../src/providers/azure/operations.js';
import { parseCondition, type ConditionNode } from '../../src/lab/azure/abac-condition.js';
import { azurePlaceholders, readAzurePolicyFile, readSocAssignments } from '../../src/lab/azure/policy-files.js';
import { loadRoleDefinitions, permits, RbacModel } from '../../src/lab/azure/rbac.js';
import { AZURE_POLICIES_DIR } from '../../src/lab/azure/policy-files.js';
import { defaultAzureEstate } from '../../src/lab/azure/scenario.js';
import { evaluatePolicyIf, type PolicyDefinition } from './azure-policy-rule.js';

const policy = readAzurePolicyFile<PolicyDefinition>('collector-assignment-policy.json');
const roles = loadRoleDefinitions(AZURE_POLICIES_DIR);
const details = policy.properties.policyRule.then.details;
const deployed = details.deployment.properties.template.resources;

describe('collector-assignment-policy.json (deployIfNotExists)', () => {
  it('is a custom Indexed policy whose effect defaults to DeployIfNotExists and whose related resource is a role assignment', () => {
    expect(policy.properties.policyType).toBe('Custom');
    expect(policy.properties.mode).toBe('Indexed');
    expect(policy.properties.policyRule.then.effect).toBe("[parameters('effect')]");
    expect(policy.properties.parameters.effect!.defaultValue).toBe('DeployIfNotExists');
    expect(details.type).toBe('Microsoft.Authorization/roleAssignments');
    expect(details.roleDefinitionIds).toEqual(['{policyRemediatorRoleDefinitionId}']);
  });

  it('deploys exactly one role assignment: the collector role, to the collector principal, at the evaluated resource, under a stable GUID name', () => {
    expect(deployed).toHaveLength(1);
    const [assignment] = deployed;
    expect(assignment!.type).toBe('Microsoft.Authorization/roleAssignments');
    // The relative form of an extension resource's scope, in the evaluated resource's own resource group.
    expect(assignment!.scope).toBe("[concat(parameters('resourceType'), '/', parameters('resourceName'))]");
    expect(assignment!.properties.roleDefinitionId).toBe('{collectorRoleDefinitionId}');
    expect(assignment!.properties.principalId).toBe("[parameters('principalId')]");
    expect(assignment!.properties.principalType).toBe('ServicePrincipal');
    // guid() of the resource, the principal and the role: a re-evaluation PUTs the same assignment.
    expect(assignment!.name).toBe("[guid(parameters('resourceId'), parameters('principalId'), '{collectorRoleGuid}')]");
    expect(details.deployment.properties.parameters).toEqual({
      resourceId: { value: "[field('id')]" },
      resourceType: { value: "[field('type')]" },
      resourceName: { value: "[field('name')]" },
      principalId: { value: "[parameters('collectorPrincipalId')]" },
    });
  });

  it('its existence condition finds that assignment (same role GUID, same principal, at the evaluated resource itself), so a compliant resource gets no second deployment', () => {
    // The scope test keeps one tagged resource's assignment from satisfying another's check
    // wherever Policy looks related role assignments up (the resource group, or the resource).
    expect(details.existenceCondition).toEqual({
      allOf: [
        { field: 'Microsoft.Authorization/roleAssignments/roleDefinitionId', like: '*/providers/Microsoft.Authorization/roleDefinitions/{collectorRoleGuid}' },
        { field: 'Microsoft.Authorization/roleAssignments/principalId', equals: "[parameters('collectorPrincipalId')]" },
        { field: 'Microsoft.Authorization/roleAssignments/scope', equals: "[field('id')]" },
      ],
    });
  });

  it('uses only the placeholders the infra generator fills', () => {
    expect(azurePlaceholders(policy)).toEqual(['collectorRoleDefinitionId', 'collectorRoleGuid', 'policyRemediatorRoleDefinitionId']);
  });

  it.each([
    ['a tagged VM', { type: 'Microsoft.Compute/virtualMachines', tags: { ForensicsEnabled: 'true' } }, true],
    ['a tagged disk', { type: 'Microsoft.Compute/disks', tags: { ForensicsEnabled: 'true' } }, true],
    ['a tagged scale set (AKS node pool)', { type: 'Microsoft.Compute/virtualMachineScaleSets', tags: { ForensicsEnabled: 'true' } }, true],
    ['an untagged VM', { type: 'Microsoft.Compute/virtualMachines', tags: {} }, false],
    ['a VM tagged false', { type: 'Microsoft.Compute/virtualMachines', tags: { ForensicsEnabled: 'false' } }, false],
    ['a tagged storage account', { type: 'Microsoft.Storage/storageAccounts', tags: { ForensicsEnabled: 'true' } }, false],
    ['a tagged snapshot', { type: 'Microsoft.Compute/snapshots', tags: { ForensicsEnabled: 'true' } }, false],
  ])('%s: matched = %s', (_name, resource, matched) => {
    expect(evaluatePolicyIf(policy, resource, { collectorPrincipalId: 'p' })).toBe(matched);
  });

  it('the tag name and value are assignment parameters (config azure.collectionTag)', () => {
    expect(evaluatePolicyIf(policy, { type: 'Microsoft.Compute/disks', tags: { IR: 'yes' } }, { collectorPrincipalId: 'p', tagName: 'IR', tagValue: 'yes' })).toBe(true);
    expect(evaluatePolicyIf(policy, { type: 'Microsoft.Compute/disks', tags: { ForensicsEnabled: 'true' } }, { collectorPrincipalId: 'p', tagName: 'IR', tagValue: 'yes' })).toBe(false);
  });

  it('the role it assigns grants every action custody needs at a VM and a disk, and the lab estate holds exactly what the policy deploys', () => {
    const needs = (Object.values(AZURE_OPERATIONS) as AzureOperation[]).flatMap((op) => op.permissions.filter((p) => p.scope === 'vm' || p.scope === 'disk'));
    for (const need of needs) expect(roles.get('collector-role')!.permissions.some((p) => permits(p, need.action, false)), need.action).toBe(true);

    const estate = defaultAzureEstate();
    const resources = [
      ...[...estate.world.vms.values()].map((vm) =>
        vm.scaleSet ? { id: vm.id.replace(/\/virtualMachines\/[^/]+$/, ''), type: 'Microsoft.Compute/virtualMachineScaleSets', tags: vm.tags } : { id: vm.id, type: 'Microsoft.Compute/virtualMachines', tags: vm.tags },
      ),
      ...[...estate.world.disks.values()].map((d) => ({ id: d.id, type: 'Microsoft.Compute/disks', tags: d.tags })),
    ];
    const byPolicy = resources.filter((r) => evaluatePolicyIf(policy, r, { collectorPrincipalId: estate.principals.customer })).map((r) => r.id.toLowerCase());
    const inLab = estate.world.rbac.assignments
      .filter((a) => a.role === 'collector-role' && !/\/resourcegroups\/[^/]+$/i.test(a.scope))
      .map((a) => a.scope.toLowerCase());
    expect(inLab.sort()).toEqual(byPolicy.sort());
    expect(byPolicy).not.toContain(estate.ids.untaggedVm.toLowerCase());
  });
});

describe('policy-remediator-role.json (the policy identity)', () => {
  const actions = roles.get('policy-remediator-role')!.permissions.flatMap((p) => p.actions);

  it('can create the one resource type the deployment holds, and run a resource-group deployment — nothing else', () => {
    const types = new Set(deployed.map((r) => r.type));
    expect([...types]).toEqual(['Microsoft.Authorization/roleAssignments']);
    const needed = ['Microsoft.Authorization/roleAssignments/read', 'Microsoft.Authorization/roleAssignments/write'];
    const deployment = actions.filter((a) => a.startsWith('Microsoft.Resources/deployments/'));
    expect(actions.filter((a) => !needed.includes(a) && !deployment.includes(a))).toEqual([]);
    expect(needed.every((a) => actions.includes(a))).toBe(true);
    expect(deployment).toContain('Microsoft.Resources/deployments/write');
  });

  it('cannot delete a role assignment, define a role or touch a policy', () => {
    expect(actions.filter((a) => /delete|roleDefinitions|policy/i.test(a))).toEqual([]);
    expect(roles.get('policy-remediator-role')!.permissions.flatMap((p) => p.dataActions)).toEqual([]);
  });
});

function targetedActions(node: ConditionNode): string[] {
  switch (node.kind) {
    case 'actionMatches':
      return [node.pattern];
    case 'and':
    case 'or':
      return [...targetedActions(node.left), ...targetedActions(node.right)];
    case 'not':
      return targetedActions(node.operand);
    default:
      return [];
  }
}

describe('soc-assignments.json', () => {
  const file = readSocAssignments();

  it('assigns each SOC role once, at the evidence container', () => {
    expect(file.assignments.map((a) => a.role).sort()).toEqual(['evidence-sealer-role', 'evidence-verifier-role', 'evidence-writer-role']);
    expect(file.scope).toMatch(/\/providers\/Microsoft\.Storage\/storageAccounts\/\{storageAccountName\}\/blobServices\/default\/containers\/\{containerName\}$/);
  });

  it.each(readSocAssignments().assignments.map((a) => [a.name, a] as const))('%s: its condition targets exactly the data actions its role grants', (_name, assignment) => {
    const parsed = parseCondition(assignment.condition);
    if (!parsed.ok) throw new Error(parsed.error);
    const granted = roles.get(assignment.role)!.permissions.flatMap((p) => p.dataActions);
    expect([...new Set(targetedActions(parsed.node))].sort()).toEqual([...granted].sort());
  });

  it('a role given a new data action without a condition for it fails the test above (proved on a copy)', () => {
    const copy = new RbacModel(loadRoleDefinitions(AZURE_POLICIES_DIR));
    copy.roles.get('evidence-verifier-role')!.permissions[0]!.dataActions.push('Microsoft.Storage/storageAccounts/blobServices/containers/blobs/write');
    const assignment = file.assignments.find((a) => a.role === 'evidence-verifier-role')!;
    const parsed = parseCondition(assignment.condition);
    if (!parsed.ok) throw new Error(parsed.error);
    expect(new Set(targetedActions(parsed.node)).size).toBeLessThan(copy.roles.get('evidence-verifier-role')!.permissions[0]!.dataActions.length);
  });
});
