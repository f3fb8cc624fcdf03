/**
 * KMS over JSON 1.1 (`X-Amz-Target: TrentService.<Action>`): DescribeKey by key id, key ARN,
 * alias name or alias ARN. Another account's key is visible only when its key policy allows the
 * caller's account.
 */
import { authorize, type CallContext, type HandlerResult } from './context.js';
import { LabAwsError } from './errors.js';
import type { LabKey } from './state.js';

function keyMetadata(key: LabKey): Record<string, unknown> {
  return {
    AWSAccountId: key.account,
    KeyId: key.id,
    Arn: key.arn,
    // JSON protocols carry timestamps as epoch seconds.
    CreationDate: key.creationDate.getTime() / 1000,
    Enabled: true,
    Description: key.description,
    KeyUsage: 'ENCRYPT_DECRYPT',
    KeyState: 'Enabled',
    Origin: 'AWS_KMS',
    KeyManager: key.keyManager,
    CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT',
    KeySpec: 'SYMMETRIC_DEFAULT',
    EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    MultiRegion: false,
  };
}

function notFound(call: CallContext, ref: string): LabAwsError {
  if (ref.startsWith('alias/') || ref.includes(':alias/')) {
    const arn = ref.startsWith('arn:') ? ref : `arn:aws:kms:${call.region}:${call.account}:${ref}`;
    return new LabAwsError('NotFoundException', `Alias ${arn} is not found.`, 400);
  }
  const arn = ref.startsWith('arn:') ? ref : `arn:aws:kms:${call.region}:${call.account}:key/${ref}`;
  return new LabAwsError('NotFoundException', `Key '${arn}' does not exist`, 400);
}

async function describeKey(call: CallContext, input: Record<string, unknown>): Promise<HandlerResult> {
  const ref = input.KeyId;
  if (typeof ref !== 'string' || ref.length === 0) {
    throw new LabAwsError('ValidationException', "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null", 400);
  }
  const key = call.lab.state.resolveKey(call.account, call.region, ref);
  if (!key) throw notFound(call, ref);
  if (!call.lab.state.mayUseKey(key, call.account)) {
    // The key policy does not name the caller's account: KMS says so in its own words.
    throw new LabAwsError(
      'AccessDeniedException',
      `User: ${call.principal.arn} is not authorized to perform: kms:DescribeKey on resource: ${key.arn} because no resource-based policy allows the kms:DescribeKey action`,
      400,
    );
  }
  await authorize(call, 'kms:DescribeKey', [{ resource: key.arn }]);
  return { contentType: 'application/x-amz-json-1.1', body: JSON.stringify({ KeyMetadata: keyMetadata(key) }) };
}

/** Serves one KMS action. */
export async function handleKms(call: CallContext, action: string, body: string): Promise<HandlerResult> {
  let input: Record<string, unknown>;
  try {
    input = body.length > 0 ? (JSON.parse(body) as Record<string, unknown>) : {};
  } catch {
    throw new LabAwsError('SerializationException', 'Start of structure or map found where not expected.', 400);
  }
  switch (action) {
    case 'DescribeKey':
      return describeKey(call, input);
    default:
      throw new LabAwsError('UnknownOperationException', '', 400);
  }
}
