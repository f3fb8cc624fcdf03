/**
 * Generates the ARM templates in `infra/azure/` from `policies/azure/`:
 *
 * - `management-group.template.json` (deploy with `az deployment mg create`): the collector,
 *   discovery and policy-remediator custom roles (assignable at the management group), the
 *   collector-assignment policy definition and its assignment (system-assigned identity), the
 *   identity's role assignment with its delegation condition, and the discovery role for the
 *   collector principal at the management group — the StackSet analogue.
 * - `soc-subscription.template.json` (`az deployment sub create` in the SOC subscription): the
 *   evidence writer, sealer and verifier roles, and their assignments at the evidence container
 *   with the ABAC conditions of `soc-assignments.json`.
 * - `target-subscription.template.json` (`az deployment sub create` in each target
 *   subscription): the staging resource group and the collector role on it
 *   (`staging-assignment.json`), the one collector assignment the policy does not make.
 *
 * The policy files are embedded verbatim. ARM evaluates every string that starts with `[` as an
 * expression, so a policy expression (`[field('id')]`, meant for Azure Policy) is escaped as
 * `[[field('id')]`, and a string holding a `{placeholder}` becomes `[concat('…', <ARM expression>,
 * '…')]` whose value is the policy text with the placeholder filled (ARM does not evaluate what
 * an expression returns). `test/infra/azure-templates.test.ts` fails when the committed files
 * differ from what this script generates, evaluates those expressions back into the policy
 * files, and validates both templates against a vendored subset of the deployment template schema.
 *
 * Run: `npm run generate:infra`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readAzurePolicyFile, readSocAssignments, readStagingAssignment } from '../src/lab/azure/policy-files.js';
import { REPO_ROOT } from './policies.js';

export const AZURE_INFRA_DIR = join(REPO_ROOT, 'infra', 'azure');

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Template = { [key: string]: Json };

const GENERATED = 'Generated from policies/azure by scripts/generate-azure-infra.ts: do not edit.';
const ROLE_API = '2022-04-01';
const POLICY_DEFINITION_API = '2023-04-01';
const POLICY_ASSIGNMENT_API = '2024-04-01';
const DEPLOYMENT_API = '2022-09-01';
const RESOURCE_GROUP_API = '2022-09-01';

export const SCHEMAS = {
  managementGroup: 'https://schema.management.azure.com/schemas/2019-08-01/managementGroupDeploymentTemplate.json#',
  subscription: 'https://schema.management.azure.com/schemas/2018-05-01/subscriptionDeploymentTemplate.json#',
  resourceGroup: 'https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#',
} as const;

/** The policy definition's name and the assignment's (at most 24 characters at a management group). */
export const POLICY_DEFINITION_NAME = 'cloud-custody-collector-assignment';
export const POLICY_ASSIGNMENT_NAME = 'cc-collector-assignment';

/** What each `{placeholder}` of policies/azure becomes, as an ARM expression, per template. */
export const MANAGEMENT_GROUP_MAPPING: Record<string, string> = {
  managementGroupId: 'managementGroup().name',
  collectorRoleGuid: "variables('collectorRoleGuid')",
  collectorRoleDefinitionId: "variables('collectorRoleDefinitionId')",
  policyRemediatorRoleDefinitionId: "variables('remediatorRoleDefinitionId')",
  collectorPrincipalId: "parameters('collectorPrincipalId')",
};

export const SOC_MAPPING: Record<string, string> = {
  socSubscriptionId: 'subscription().subscriptionId',
};

/** Inside the nested resource-group deployment (inner expression scope: its own parameters). */
export const SOC_NESTED_MAPPING: Record<string, string> = {
  containerName: "parameters('containerName')",
  socPrincipalId: "parameters('socPrincipalId')",
  verifierPrincipalId: "parameters('verifierPrincipalId')",
};

const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9]*)\}/g;
const quote = (text: string) => `'${text.replace(/'/g, "''")}'`;

/** One string of a policy file as an ARM template string (see the header). */
export function armString(text: string, mapping: Record<string, string>): string {
  const parts: string[] = [];
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    const expression = mapping[match[1]!];
    if (!expression) throw new Error(`no ARM mapping for ${match[0]} in "${text.slice(0, 80)}"`);
    if (match.index > last) parts.push(quote(text.slice(last, match.index)));
    parts.push(expression);
    last = match.index + match[0].length;
  }
  if (parts.length === 0) return text.startsWith('[') ? `[${text}` : text;
  if (last < text.length) parts.push(quote(text.slice(last)));
  return parts.length === 1 && last === text.length && !parts[0]!.startsWith("'") ? `[${parts[0]}]` : `[concat(${parts.join(', ')})]`;
}

/** A whole policy document as ARM template JSON: every string through `armString`. */
export function armValue(value: unknown, mapping: Record<string, string>): Json {
  if (typeof value === 'string') return armString(value, mapping);
  if (Array.isArray(value)) return value.map((v) => armValue(v, mapping));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, armValue(v, mapping)]));
  return value as Json;
}

interface RoleFile {
  properties: { roleName: string; description: string; type: string; permissions: unknown[]; assignableScopes: string[] };
}

const role = (file: string) => readAzurePolicyFile<RoleFile>(`${file}.json`);

function roleDefinition(file: string, guidVariable: string, mapping: Record<string, string>): Json {
  return {
    type: 'Microsoft.Authorization/roleDefinitions',
    apiVersion: ROLE_API,
    name: `[variables('${guidVariable}')]`,
    properties: armValue(role(file).properties, mapping),
  };
}

const roleGuid = (scopeExpression: string, file: string) => `[guid(${scopeExpression}, 'cloud-custody', '${file}')]`;

/** The management-group template: roles, the policy, its assignment and identity, discovery. */
export function buildManagementGroupTemplate(): Template {
  const policy = readAzurePolicyFile<{ properties: Record<string, unknown> }>('collector-assignment-policy.json');
  const identity = readAzurePolicyFile<{ role: string; condition: string; conditionVersion: string }>('policy-identity-assignment.json');
  const assignmentId = `managementGroupResourceId('Microsoft.Authorization/policyAssignments', '${POLICY_ASSIGNMENT_NAME}')`;
  const definitionId = `managementGroupResourceId('Microsoft.Authorization/policyDefinitions', '${POLICY_DEFINITION_NAME}')`;
  const roleId = (variable: string) => `[tenantResourceId('Microsoft.Authorization/roleDefinitions', variables('${variable}'))]`;
  const roleResourceId = (variable: string) => `[extensionResourceId(managementGroup().id, 'Microsoft.Authorization/roleDefinitions', variables('${variable}'))]`;
  return {
    $schema: SCHEMAS.managementGroup,
    contentVersion: '1.0.0.0',
    metadata: {
      description: `cloud-custody at a management group: the collector roles, and an Azure Policy that assigns the collector role at every VM, scale set and managed disk tagged for collection in every subscription below. ${GENERATED}`,
    },
    parameters: {
      collectorPrincipalId: {
        type: 'string',
        metadata: { description: "Object id of the cloud-custody multi-tenant app's service principal in this tenant (az ad sp show --id <clientId> --query id)." },
      },
      tagName: { type: 'string', defaultValue: 'ForensicsEnabled', metadata: { description: 'Config azure.collectionTag.key.' } },
      tagValue: { type: 'string', defaultValue: 'true', metadata: { description: 'Config azure.collectionTag.value.' } },
      effect: {
        type: 'string',
        defaultValue: 'DeployIfNotExists',
        allowedValues: ['DeployIfNotExists', 'AuditIfNotExists', 'Disabled'],
        metadata: { description: 'AuditIfNotExists only reports tagged resources the collector cannot reach.' },
      },
      policyAssignmentLocation: {
        type: 'string',
        defaultValue: '[deployment().location]',
        metadata: { description: "Region of the policy assignment's managed identity." },
      },
    },
    variables: {
      collectorRoleGuid: roleGuid('managementGroup().id', 'collector-role'),
      discoveryRoleGuid: roleGuid('managementGroup().id', 'collector-discovery-role'),
      remediatorRoleGuid: roleGuid('managementGroup().id', 'policy-remediator-role'),
      collectorRoleDefinitionId: roleId('collectorRoleGuid'),
      discoveryRoleDefinitionId: roleId('discoveryRoleGuid'),
      remediatorRoleDefinitionId: roleId('remediatorRoleGuid'),
    },
    resources: [
      roleDefinition('collector-role', 'collectorRoleGuid', MANAGEMENT_GROUP_MAPPING),
      roleDefinition('collector-discovery-role', 'discoveryRoleGuid', MANAGEMENT_GROUP_MAPPING),
      roleDefinition('policy-remediator-role', 'remediatorRoleGuid', MANAGEMENT_GROUP_MAPPING),
      {
        type: 'Microsoft.Authorization/policyDefinitions',
        apiVersion: POLICY_DEFINITION_API,
        name: POLICY_DEFINITION_NAME,
        dependsOn: [roleResourceId('collectorRoleGuid'), roleResourceId('remediatorRoleGuid')],
        properties: armValue(policy.properties, MANAGEMENT_GROUP_MAPPING),
      },
      {
        type: 'Microsoft.Authorization/policyAssignments',
        apiVersion: POLICY_ASSIGNMENT_API,
        name: POLICY_ASSIGNMENT_NAME,
        location: "[parameters('policyAssignmentLocation')]",
        identity: { type: 'SystemAssigned' },
        dependsOn: [`[${definitionId}]`],
        properties: {
          displayName: 'Cloud Custody: collector role on resources tagged for collection',
          description: 'Assigns the Cloud Custody Collector role at each VM, scale set and managed disk whose collection tag matches (docs/deploy-azure.md).',
          policyDefinitionId: `[${definitionId}]`,
          enforcementMode: 'Default',
          parameters: {
            collectorPrincipalId: { value: "[parameters('collectorPrincipalId')]" },
            tagName: { value: "[parameters('tagName')]" },
            tagValue: { value: "[parameters('tagValue')]" },
            effect: { value: "[parameters('effect')]" },
          },
        },
      },
      {
        type: 'Microsoft.Authorization/roleAssignments',
        apiVersion: ROLE_API,
        name: `[guid(managementGroup().id, '${POLICY_ASSIGNMENT_NAME}', '${identity.role}')]`,
        dependsOn: [`[${assignmentId}]`, roleResourceId('remediatorRoleGuid')],
        properties: {
          roleDefinitionId: "[variables('remediatorRoleDefinitionId')]",
          principalId: `[reference(${assignmentId}, '${POLICY_ASSIGNMENT_API}', 'full').identity.principalId]`,
          principalType: 'ServicePrincipal',
          description: 'cloud-custody: the collector-assignment policy identity may assign only the collector role, only to the collector principal',
          condition: armString(identity.condition, MANAGEMENT_GROUP_MAPPING),
          conditionVersion: identity.conditionVersion,
        },
      },
      {
        type: 'Microsoft.Authorization/roleAssignments',
        apiVersion: ROLE_API,
        name: "[guid(managementGroup().id, parameters('collectorPrincipalId'), 'collector-discovery-role')]",
        dependsOn: [roleResourceId('discoveryRoleGuid')],
        properties: {
          roleDefinitionId: "[variables('discoveryRoleDefinitionId')]",
          principalId: "[parameters('collectorPrincipalId')]",
          principalType: 'ServicePrincipal',
          description: 'cloud-custody: list VMs and read NICs and operation status in every subscription below (no snapshot, export or boot diagnostics)',
        },
      },
    ],
    outputs: {
      collectorRoleDefinitionId: { type: 'string', value: "[variables('collectorRoleDefinitionId')]" },
      policyAssignmentId: { type: 'string', value: `[${assignmentId}]` },
      policyIdentityPrincipalId: { type: 'string', value: `[reference(${assignmentId}, '${POLICY_ASSIGNMENT_API}', 'full').identity.principalId]` },
    },
  };
}

const SOC_ROLES = [
  ['evidence-writer-role', 'writerRoleGuid', 'writerRoleDefinitionId'],
  ['evidence-sealer-role', 'sealerRoleGuid', 'sealerRoleDefinitionId'],
  ['evidence-verifier-role', 'verifierRoleGuid', 'verifierRoleDefinitionId'],
] as const;

/** The SOC-subscription template: evidence roles, and their conditional assignments at the container. */
export function buildSocSubscriptionTemplate(): Template {
  const file = readSocAssignments();
  const container = "resourceId('Microsoft.Storage/storageAccounts/blobServices/containers', parameters('storageAccountName'), 'default', parameters('containerName'))";
  const variableOf = (roleFile: string) => SOC_ROLES.find(([f]) => f === roleFile)![2];
  return {
    $schema: SCHEMAS.subscription,
    contentVersion: '1.0.0.0',
    metadata: {
      description: `cloud-custody in the SOC subscription: the evidence writer, sealer and verifier roles, assigned at the evidence container with ABAC conditions that hold them to it. ${GENERATED}`,
    },
    parameters: {
      socPrincipalId: { type: 'string', metadata: { description: 'Object id of the SOC identity custody runs as (it copies, hashes and seals evidence).' } },
      verifierPrincipalId: { type: 'string', metadata: { description: 'Object id of the group of analysts and counsel who re-hash evidence.' } },
      evidenceResourceGroup: { type: 'string', defaultValue: 'soc-evidence', metadata: { description: 'Resource group of the evidence storage account (config azure.evidenceStorageResourceGroup).' } },
      storageAccountName: { type: 'string', metadata: { description: 'The evidence storage account (the ACCOUNT of azure.evidenceContainerUrl).' } },
      containerName: { type: 'string', defaultValue: 'evidence', metadata: { description: 'The evidence container (the CONTAINER of azure.evidenceContainerUrl).' } },
    },
    variables: Object.fromEntries(
      SOC_ROLES.flatMap(([roleFile, guidVariable, idVariable]) => [
        [guidVariable, roleGuid('subscription().id', roleFile)],
        [idVariable, `[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', variables('${guidVariable}'))]`],
      ]),
    ),
    resources: [
      ...SOC_ROLES.map(([roleFile, guidVariable]) => roleDefinition(roleFile, guidVariable, SOC_MAPPING)),
      {
        type: 'Microsoft.Resources/deployments',
        apiVersion: DEPLOYMENT_API,
        name: 'cloud-custody-evidence-assignments',
        resourceGroup: "[parameters('evidenceResourceGroup')]",
        dependsOn: SOC_ROLES.map(([, , idVariable]) => `[variables('${idVariable}')]`),
        properties: {
          mode: 'Incremental',
          expressionEvaluationOptions: { scope: 'Inner' },
          parameters: {
            socPrincipalId: { value: "[parameters('socPrincipalId')]" },
            verifierPrincipalId: { value: "[parameters('verifierPrincipalId')]" },
            storageAccountName: { value: "[parameters('storageAccountName')]" },
            containerName: { value: "[parameters('containerName')]" },
            ...Object.fromEntries(SOC_ROLES.map(([, , idVariable]) => [idVariable, { value: `[variables('${idVariable}')]` }])),
          },
          template: {
            $schema: SCHEMAS.resourceGroup,
            contentVersion: '1.0.0.0',
            parameters: {
              socPrincipalId: { type: 'string' },
              verifierPrincipalId: { type: 'string' },
              storageAccountName: { type: 'string' },
              containerName: { type: 'string' },
              ...Object.fromEntries(SOC_ROLES.map(([, , idVariable]) => [idVariable, { type: 'string' }])),
            },
            resources: file.assignments.map((a) => ({
              type: 'Microsoft.Authorization/roleAssignments',
              apiVersion: ROLE_API,
              name: `[guid(${container}, ${armString(a.principalId, SOC_NESTED_MAPPING).slice(1, -1)}, '${a.role}')]`,
              scope: "[concat('Microsoft.Storage/storageAccounts/', parameters('storageAccountName'), '/blobServices/default/containers/', parameters('containerName'))]",
              properties: {
                roleDefinitionId: `[parameters('${variableOf(a.role)}')]`,
                principalId: armString(a.principalId, SOC_NESTED_MAPPING),
                principalType: a.role === 'evidence-verifier-role' ? 'Group' : 'ServicePrincipal',
                description: a.description,
                condition: armString(a.condition, SOC_NESTED_MAPPING),
                conditionVersion: a.conditionVersion,
              },
            })),
          },
        },
      },
    ],
    outputs: Object.fromEntries(SOC_ROLES.map(([, , idVariable]) => [idVariable, { type: 'string', value: `[variables('${idVariable}')]` }])),
  };
}

/** Inside the staging group's nested deployment (inner scope). */
export const STAGING_NESTED_MAPPING: Record<string, string> = {
  collectorPrincipalId: "parameters('collectorPrincipalId')",
};

/** The target-subscription template: the staging resource group and the collector role on it. */
export function buildTargetSubscriptionTemplate(): Template {
  const staging = readStagingAssignment();
  if (!/\/resourceGroups\/\{stagingResourceGroup\}$/.test(staging.scope)) throw new Error('staging-assignment.json: the scope must be the staging resource group');
  return {
    $schema: SCHEMAS.subscription,
    contentVersion: '1.0.0.0',
    metadata: {
      description: `cloud-custody in a target subscription: the staging resource group that holds case snapshots and restore points, and the collector role on it. ${GENERATED}`,
    },
    parameters: {
      collectorPrincipalId: { type: 'string', metadata: { description: "Object id of the cloud-custody multi-tenant app's service principal in this subscription's tenant." } },
      collectorRoleDefinitionId: {
        type: 'string',
        metadata: { description: 'The collector role: output collectorRoleDefinitionId of the management-group deployment.' },
      },
      stagingResourceGroup: { type: 'string', defaultValue: 'cloud-custody-staging', metadata: { description: 'Config azure.stagingResourceGroup.' } },
      location: { type: 'string', defaultValue: '[deployment().location]', metadata: { description: 'Region of the staging resource group.' } },
    },
    resources: [
      {
        type: 'Microsoft.Resources/resourceGroups',
        apiVersion: RESOURCE_GROUP_API,
        name: "[parameters('stagingResourceGroup')]",
        location: "[parameters('location')]",
        tags: { 'cloud-custody': 'staging' },
      },
      {
        type: 'Microsoft.Resources/deployments',
        apiVersion: DEPLOYMENT_API,
        name: 'cloud-custody-staging-assignment',
        resourceGroup: "[parameters('stagingResourceGroup')]",
        dependsOn: ["[subscriptionResourceId('Microsoft.Resources/resourceGroups', parameters('stagingResourceGroup'))]"],
        properties: {
          mode: 'Incremental',
          expressionEvaluationOptions: { scope: 'Inner' },
          parameters: {
            collectorPrincipalId: { value: "[parameters('collectorPrincipalId')]" },
            collectorRoleDefinitionId: { value: "[parameters('collectorRoleDefinitionId')]" },
          },
          template: {
            $schema: SCHEMAS.resourceGroup,
            contentVersion: '1.0.0.0',
            parameters: { collectorPrincipalId: { type: 'string' }, collectorRoleDefinitionId: { type: 'string' } },
            resources: [
              {
                type: 'Microsoft.Authorization/roleAssignments',
                apiVersion: ROLE_API,
                name: `[guid(resourceGroup().id, ${armString(staging.principalId, STAGING_NESTED_MAPPING).slice(1, -1)}, '${staging.role}')]`,
                properties: {
                  roleDefinitionId: "[parameters('collectorRoleDefinitionId')]",
                  principalId: armString(staging.principalId, STAGING_NESTED_MAPPING),
                  principalType: 'ServicePrincipal',
                  description: 'cloud-custody: case snapshots and restore points are made and exported in the staging resource group',
                },
              },
            ],
          },
        },
      },
    ],
  };
}

/** Every generated file, by its name in `infra/azure/`. */
export const AZURE_INFRA_TEMPLATES: Record<string, () => Template> = {
  'management-group.template.json': buildManagementGroupTemplate,
  'soc-subscription.template.json': buildSocSubscriptionTemplate,
  'target-subscription.template.json': buildTargetSubscriptionTemplate,
};

/** The exact text a template file must have. */
export function renderAzureTemplate(template: Template): string {
  return `${JSON.stringify(template, null, 2)}\n`;
}

/** The files whose text differs from what this script generates (the drift test's verdict). */
export function driftedAzureTemplates(read: (file: string) => string = (file) => readFileSync(join(AZURE_INFRA_DIR, file), 'utf8')): string[] {
  return Object.entries(AZURE_INFRA_TEMPLATES)
    .filter(([file, build]) => {
      try {
        return read(file) !== renderAzureTemplate(build());
      } catch {
        return true;
      }
    })
    .map(([file]) => file);
}

function main(): void {
  for (const [file, build] of Object.entries(AZURE_INFRA_TEMPLATES)) {
    writeFileSync(join(AZURE_INFRA_DIR, file), renderAzureTemplate(build()));
    console.log(`wrote infra/azure/${file}`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
