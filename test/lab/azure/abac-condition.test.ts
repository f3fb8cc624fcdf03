/**
 * The lab's ABAC evaluator against the condition forms Azure documents, and the shipped SOC
 * conditions (policies/azure/soc-assignments.json) against the requests custody makes — and the
 * ones it must not be able to make.
 */
import { describe, expect, it } from 'vitest';
import { blobResourceAttributes, evaluateCondition, parseCondition, type ConditionRequest } from '../../../src/lab/azure/abac-condition.js';
import { fillAzurePlaceholders, readSocAssignments } from '../../../src/lab/azure/policy-files.js';
import { loadRoleDefinitions, RbacModel } from '../../../src/lab/azure/rbac.js';
import { AZURE_POLICIES_DIR } from '../../../src/lab/azure/policy-files.js';

const BLOBS = 'Microsoft.Storage/storageAccounts/blobServices/containers/blobs';
const CONTAINER_NAME = '@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name]';
const BLOB_PATH = '@Resource[Microsoft.Storage/storageAccounts/blobServices/containers/blobs:path]';
const ACCOUNT = '/subscriptions/aaaaaaaa-1111-4111-8111-000000000001/resourceGroups/soc-evidence/providers/Microsoft.Storage/storageAccounts/socevidence';
const CONTAINER = `${ACCOUNT}/blobServices/default/containers/evidence`;
const OTHER_CONTAINER = `${ACCOUNT}/blobServices/default/containers/scratch`;

const request = (action: string, attributes: Record<string, string>, subOperation?: string): ConditionRequest => ({ action, attributes, ...(subOperation ? { subOperation } : {}) });

describe('ABAC condition grammar (conditions-format.md)', () => {
  // The documented "read blobs in named containers with a path" form.
  const readWithPath = `(
 (
  !(ActionMatches{'${BLOBS}/read'} AND NOT SubOperationMatches{'Blob.List'})
 )
 OR
 (
  ${CONTAINER_NAME} StringEquals 'blobs-example-container'
  AND
  ${BLOB_PATH} StringStartsWith 'readonly/'
 )
)`;

  it('parses the documented multi-line form', () => {
    expect(parseCondition(readWithPath).ok).toBe(true);
  });

  it('grants a read in the named container under the path, and refuses one outside it', () => {
    const attrs = (container: string, path: string) => ({ [CONTAINER_NAME]: container, [BLOB_PATH]: path });
    expect(evaluateCondition(readWithPath, request(`${BLOBS}/read`, attrs('blobs-example-container', 'readonly/a.txt')))).toEqual({ result: true });
    expect(evaluateCondition(readWithPath, request(`${BLOBS}/read`, attrs('blobs-example-container', 'secret/a.txt')))).toEqual({ result: false });
    expect(evaluateCondition(readWithPath, request(`${BLOBS}/read`, attrs('other', 'readonly/a.txt')))).toEqual({ result: false });
  });

  it('lets other actions and List Blobs through without reading attributes (short-circuit)', () => {
    expect(evaluateCondition(readWithPath, request(`${BLOBS}/write`, {}))).toEqual({ result: true });
    expect(evaluateCondition(readWithPath, request(`${BLOBS}/read`, {}, 'Blob.List'))).toEqual({ result: true });
  });

  it('an attribute the request lacks cannot be evaluated, and that is an error (Azure denies)', () => {
    expect(evaluateCondition(readWithPath, request(`${BLOBS}/read`, { [CONTAINER_NAME]: 'blobs-example-container' }))).toEqual({ error: expect.stringContaining('blobs:path') });
  });

  it('StringEquals and StringLike are case-sensitive; the IgnoreCase forms are not; attribute names are not', () => {
    const lower = { ['@resource[microsoft.storage/storageaccounts/blobservices/containers:NAME]']: 'Evidence' };
    expect(evaluateCondition(`${CONTAINER_NAME} StringEquals 'evidence'`, request('x', lower))).toEqual({ result: false });
    expect(evaluateCondition(`${CONTAINER_NAME} StringEqualsIgnoreCase 'evidence'`, request('x', lower))).toEqual({ result: true });
    expect(evaluateCondition(`${CONTAINER_NAME} StringLike 'E*e'`, request('x', lower))).toEqual({ result: true });
    expect(evaluateCondition(`${CONTAINER_NAME} StringLike 'e*e'`, request('x', lower))).toEqual({ result: false });
  });

  it('StringLike: * any run, ? one character, as the operator examples say', () => {
    const name = (v: string) => request('x', { [CONTAINER_NAME]: v });
    expect(evaluateCondition(`${CONTAINER_NAME} StringLike 'a*c?'`, name('abcd'))).toEqual({ result: true });
    expect(evaluateCondition(`${CONTAINER_NAME} StringLike 'A*C?'`, name('abcd'))).toEqual({ result: false });
    expect(evaluateCondition(`${CONTAINER_NAME} StringLike 'a*c'`, name('abcd'))).toEqual({ result: false });
  });

  it('the delegation form with GUID lists (ForAnyOfAnyValues:GuidEquals) evaluates', () => {
    const condition = "((!(ActionMatches{'Microsoft.Authorization/roleAssignments/write'})) OR (@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId] ForAnyOfAnyValues:GuidEquals {0f0f0f0f-1111-2222-3333-444444444444} AND @Request[Microsoft.Authorization/roleAssignments:PrincipalId] ForAnyOfAnyValues:GuidEquals {11111111-2222-3333-4444-555555555555, 66666666-7777-8888-9999-000000000000}))";
    const write = (role: string, principal: string) =>
      request('Microsoft.Authorization/roleAssignments/write', { '@Request[Microsoft.Authorization/roleAssignments:RoleDefinitionId]': role, '@Request[Microsoft.Authorization/roleAssignments:PrincipalId]': principal });
    expect(evaluateCondition(condition, write('0F0F0F0F-1111-2222-3333-444444444444', '66666666-7777-8888-9999-000000000000'))).toEqual({ result: true });
    expect(evaluateCondition(condition, write('8e3af657-a8ff-443c-a75c-2fe8c4bcb635', '66666666-7777-8888-9999-000000000000'))).toEqual({ result: false });
  });

  it.each([
    ['an unknown operator', `${CONTAINER_NAME} StringMatches 'x'`],
    ['an unclosed parenthesis', `((${CONTAINER_NAME} StringEquals 'x')`],
    ['an attribute without a value', `${CONTAINER_NAME} StringEquals`],
    ['an unterminated string', `${CONTAINER_NAME} StringEquals 'x`],
  ])('bad input is returned, not thrown: %s', (_name, text) => {
    const parsed = parseCondition(text);
    expect(parsed.ok).toBe(false);
    expect(evaluateCondition(text, request('x', { [CONTAINER_NAME]: 'x' }))).toEqual({ error: expect.stringContaining('does not parse') });
  });

  it('reads account, container and blob path (without the container) from a blob scope', () => {
    expect(blobResourceAttributes(`${CONTAINER}/blobs/INC-42/ev-1/disk.vhd`)).toEqual({
      '@Resource[Microsoft.Storage/storageAccounts:name]': 'socevidence',
      [CONTAINER_NAME]: 'evidence',
      [BLOB_PATH]: 'INC-42/ev-1/disk.vhd',
    });
    expect(blobResourceAttributes('/subscriptions/s/resourceGroups/rg')).toEqual({});
  });
});

describe('the shipped SOC conditions, decided by the lab RBAC', () => {
  const soc = 'soc-principal';
  const verifier = 'verifier-principal';
  const model = () => {
    const rbac = new RbacModel(loadRoleDefinitions(AZURE_POLICIES_DIR));
    const file = fillAzurePlaceholders(readSocAssignments(), {
      socSubscriptionId: 'aaaaaaaa-1111-4111-8111-000000000001',
      evidenceResourceGroup: 'soc-evidence',
      storageAccountName: 'socevidence',
      containerName: 'evidence',
      socPrincipalId: soc,
      verifierPrincipalId: verifier,
    });
    for (const a of file.assignments) rbac.assign(a.principalId, a.role, file.scope, a.condition);
    return { rbac, file };
  };
  const blob = (path: string, container = CONTAINER) => `${container}/blobs/${path}`;

  it('every shipped condition parses and is version 2.0', () => {
    for (const a of readSocAssignments().assignments) {
      expect(parseCondition(a.condition), a.name).toEqual(expect.objectContaining({ ok: true }));
      expect(a.conditionVersion).toBe('2.0');
    }
  });

  it('the writer copies into and reads back CASE/EVIDENCE-ID/NAME.vhd in the evidence container', () => {
    const { rbac } = model();
    for (const action of ['write', 'add/action', 'read']) expect(rbac.decide(soc, `${BLOBS}/${action}`, blob('INC-42/ev-1/snap.vhd'), true).allowed, action).toBe(true);
  });

  it('the writer cannot write outside the case layout, and no grant reaches another container even if the assignment is widened to the account', () => {
    const { rbac, file } = model();
    expect(rbac.decide(soc, `${BLOBS}/write`, blob('notes.txt'), true)).toEqual({ allowed: false, action: `${BLOBS}/write`, scope: blob('notes.txt') });
    expect(rbac.decide(soc, `${BLOBS}/add/action`, blob('INC-42/ev-1/snap.bin'), true).allowed).toBe(false);
    // Widen every assignment to the storage account: the conditions still hold them to the container.
    const wide = new RbacModel(loadRoleDefinitions(AZURE_POLICIES_DIR));
    for (const a of file.assignments) wide.assign(a.principalId, a.role, ACCOUNT, a.condition);
    expect(wide.decide(soc, `${BLOBS}/write`, blob('INC-42/ev-1/snap.vhd'), true).allowed).toBe(true);
    for (const action of ['write', 'add/action', 'read', 'immutableStorage/runAsSuperUser/action']) {
      expect(wide.decide(soc, `${BLOBS}/${action}`, blob('INC-42/ev-1/snap.vhd', OTHER_CONTAINER), true).allowed, action).toBe(false);
    }
    expect(wide.decide(verifier, `${BLOBS}/read`, blob('INC-42/ev-1/snap.vhd', OTHER_CONTAINER), true).allowed).toBe(false);
  });

  it('the sealer seals in the evidence container; the verifier only reads; neither writes', () => {
    const { rbac } = model();
    expect(rbac.decide(soc, `${BLOBS}/immutableStorage/runAsSuperUser/action`, blob('INC-42/ev-1/snap.vhd'), true).allowed).toBe(true);
    expect(rbac.decide(verifier, `${BLOBS}/read`, blob('INC-42/ev-1/snap.vhd'), true).allowed).toBe(true);
    expect(rbac.decide(verifier, `${BLOBS}/write`, blob('INC-42/ev-1/snap.vhd'), true).allowed).toBe(false);
    expect(rbac.decide(verifier, `${BLOBS}/immutableStorage/runAsSuperUser/action`, blob('INC-42/ev-1/snap.vhd'), true).allowed).toBe(false);
    expect(rbac.decide(soc, `${BLOBS}/delete`, blob('INC-42/ev-1/snap.vhd'), true).allowed).toBe(false);
  });

  it('List Blobs (read with Blob.List) is not gated by the read condition: it is decided by scope alone', () => {
    const { rbac } = model();
    expect(rbac.decide(verifier, `${BLOBS}/read`, CONTAINER, true, { subOperation: 'Blob.List' }).allowed).toBe(true);
  });

  it('a broken condition fails closed', () => {
    const rbac = new RbacModel(loadRoleDefinitions(AZURE_POLICIES_DIR));
    rbac.assign(soc, 'evidence-writer-role', CONTAINER, "(@Resource[Microsoft.Storage/storageAccounts/blobServices/containers:name] StringEquals 'evidence'");
    expect(rbac.decide(soc, `${BLOBS}/read`, blob('INC-42/ev-1/snap.vhd'), true).allowed).toBe(false);
  });
});
