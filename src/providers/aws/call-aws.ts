/**
 * The one door every AWS SDK call of the provider goes through: it checks the command belongs to
 * the declared operation (so `AWS_OPERATIONS` stays the truth about what we call), pulls out the
 * request id, and turns SDK errors into `CustodyError`s that name the action and the resource.
 */
import { CustodyError, isCustodyError } from '../../core/errors.js';
import { AWS_OPERATIONS, commandNameOf, type AwsOperationName } from './operations.js';

/** The output type of an SDK v3 command, read from its middleware handler. */
export type OutputOf<C> = C extends { resolveMiddleware(...args: never[]): (args: never) => Promise<{ output: infer O }> }
  ? O
  : never;

export interface SendsCommands {
  send(command: never, options?: { abortSignal?: AbortSignal }): Promise<unknown>;
}

export interface CallContext {
  /** The ARN (or id) the call acts on: named in errors when AWS does not name one itself. */
  resource: string;
  /**
   * Called once when AWS answers that the credentials expired; the call is then retried once.
   * Without it an expired token is `E_CREDENTIALS` straight away.
   */
  refreshCredentials?: () => Promise<void>;
  signal?: AbortSignal;
}

export interface AwsResult<O> {
  output: O;
  /** `$metadata.requestId`: what CloudTrail and AWS support know the call by. */
  requestId: string | undefined;
}

const ACCESS_DENIED = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'UnauthorizedOperation',
  'UnauthorizedAccess',
  'AuthorizationError',
  'Client.UnauthorizedOperation',
]);
const THROTTLED = new Set([
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'SlowDown',
  // EC2's limits on work in flight (pending snapshots, concurrent copies): try again later.
  'ResourceLimitExceeded',
  'SnapshotCreationPerVolumeRateExceeded',
]);
const EXPIRED = new Set(['ExpiredToken', 'ExpiredTokenException', 'RequestExpired', 'TokenRefreshRequired']);
const BAD_CREDENTIALS = new Set(['InvalidClientTokenId', 'AuthFailure', 'SignatureDoesNotMatch', 'UnrecognizedClientException', 'InvalidToken']);
const NOT_FOUND = /\.NotFound$|^NotFoundException$|^InvalidInstanceID\.Malformed$|^InvalidVolumeID\.Malformed$/;

interface SdkErrorLike {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { requestId?: string; httpStatusCode?: number };
}

/** The SDK's credential chain found nothing usable (no profile, an expired SSO session, …). */
const NO_CREDENTIALS = new Set(['CredentialsProviderError', 'TokenProviderError']);

/** Where the orchestrator's credentials come from, for the error that says there are none. */
export const NO_CREDENTIALS_HINT =
  'Set AWS_PROFILE to a profile of the forensics account (for IAM Identity Center: aws sso login --profile NAME), or export AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, then run the command again.';

function errorName(error: SdkErrorLike): string {
  return error.name && error.name !== 'Error' ? error.name : (error.Code ?? error.code ?? 'Error');
}

/** AWS names what it refused in the message: "... not authorized to perform: ec2:X on resource: arn:..." */
export function parseDenial(message: string): { action?: string; resource?: string } {
  const action = /perform:\s*([a-z0-9-]+:[A-Za-z0-9*]+)/.exec(message)?.[1];
  const resource = /on resource:\s*(\S+?)(?:[.,;]?\s|[.,;]?$)/.exec(message)?.[1];
  const out: { action?: string; resource?: string } = {};
  if (action) out.action = action;
  if (resource) out.resource = resource;
  return out;
}

/** Where AWS starts quoting the request it computed, after a signature it could not match. */
const SIGNING_QUOTE = /\s*The (?:Canonical String|String-to-Sign) for this request should have been[\s\S]*$/i;

/**
 * `message` without what a refused signature makes AWS quote: the canonical request and string to
 * sign it computed, whose headers hold the session token (`x-amz-security-token:…`). The quote
 * is cut and any token left is masked, so a refused request never carries a credential into an
 * error, a log or the ledger.
 */
export function withoutSigningQuote(message: string): string {
  const cut = message.replace(SIGNING_QUOTE, ' (AWS quoted the request it computed; not kept: it holds the session token)');
  return cut.replace(/(x-amz-security-token\s*[:=]\s*)[^\s'"&]+/gi, '$1[not kept]');
}

/** What an error from an AWS call says, without what `withoutSigningQuote` removes: for every place one is written down. */
export function awsErrorText(error: unknown): string {
  return withoutSigningQuote(String((error as Error | undefined)?.message ?? error));
}

/**
 * Where a refusal of `op` is decided: the collector role (calls in the target account, held to
 * the collection tag), the collector's trust policy (assuming it), or the orchestrator role's
 * policies (the forensics account's own calls).
 */
function whatToCheck(op: AwsOperationName): string {
  const { account, api } = AWS_OPERATIONS[op];
  if (account === 'target') return 'Check that the collector role allows it and that the resource carries the collection tag';
  if (api === 'sts:AssumeRole') return "Check that the collector StackSet reached that account and that the role's trust policy admits this orchestrator role (aws.externalId, a source identity)";
  const file = api.startsWith('s3:') ? 'orchestrator-evidence-bucket-policy.json' : 'orchestrator-policy.json';
  return `Check that the orchestrator role allows it (policies/aws/${file})`;
}

/** Maps an SDK error to a `CustodyError`; exported for the paths that do not go through `callAws`. */
export function toCustodyError(op: AwsOperationName, error: unknown, resource: string): CustodyError {
  if (isCustodyError(error)) return error;
  const api = AWS_OPERATIONS[op].api;
  const e = (error ?? {}) as SdkErrorLike;
  const name = errorName(e);
  const message = awsErrorText(error);
  const requestId = e.$metadata?.requestId;
  const base = { cause: error, requestId };
  if (NO_CREDENTIALS.has(name)) {
    // Nothing was sent: the orchestrator's own environment has no usable credentials. That is
    // configuration, not a cloud failure.
    return new CustodyError('E_CONFIG', `no AWS credentials for the forensics account to call ${api} (${name}: ${message}). ${NO_CREDENTIALS_HINT}`, {
      ...base,
      action: api,
      resource,
    });
  }
  if (ACCESS_DENIED.has(name)) {
    const parsed = parseDenial(message);
    const action = parsed.action ?? api;
    const on = parsed.resource ?? resource;
    return new CustodyError('E_ACCESS_DENIED', `AWS refused ${action} on ${on} (${name}). ${whatToCheck(op)} (docs/deploy-aws.md).`, { ...base, action, resource: on });
  }
  if (THROTTLED.has(name)) {
    return new CustodyError('E_THROTTLED', `${api} on ${resource} was still throttled after the SDK's retries (${name}): try again later or lower the concurrency.`, {
      ...base,
      action: api,
      resource,
      retryable: true,
    });
  }
  if (NOT_FOUND.test(name)) {
    return new CustodyError('E_NOT_FOUND', `${resource} was not found by ${api} (${name}: ${message})`, { ...base, action: api, resource });
  }
  if (EXPIRED.has(name) || BAD_CREDENTIALS.has(name)) {
    return new CustodyError('E_CREDENTIALS', `the credentials for ${api} on ${resource} were refused (${name}: ${message})`, {
      ...base,
      action: api,
      resource,
    });
  }
  if (name === 'AbortError') {
    return new CustodyError('E_CLOUD', `${api} on ${resource} was cancelled`, { ...base, action: api, resource });
  }
  const status = e.$metadata?.httpStatusCode;
  return new CustodyError('E_CLOUD', `${api} on ${resource} failed (${name}: ${message})`, {
    ...base,
    action: api,
    resource,
    retryable: status !== undefined && status >= 500,
  });
}

function assertBelongs(op: AwsOperationName, command: object): void {
  const expected = commandNameOf(op);
  const actual = command.constructor.name;
  if (actual !== expected) {
    throw new CustodyError('E_INTERNAL', `operation ${op} declares ${AWS_OPERATIONS[op].api} but was called with ${actual}`);
  }
}

/**
 * Sends one SDK command for a declared operation.
 *
 * @example
 * const { output, requestId } = await callAws('describeInstances', ec2, new DescribeInstancesCommand({ InstanceIds: [id] }), { resource: arn });
 */
export async function callAws<C extends object>(
  op: AwsOperationName,
  client: SendsCommands,
  command: C,
  context: CallContext,
): Promise<AwsResult<OutputOf<C>>> {
  assertBelongs(op, command);
  const send = async () => {
    const output = (await (client.send as (c: C, o?: { abortSignal?: AbortSignal }) => Promise<unknown>)(
      command,
      context.signal ? { abortSignal: context.signal } : undefined,
    )) as OutputOf<C>;
    const requestId = (output as { $metadata?: { requestId?: string } } | undefined)?.$metadata?.requestId;
    return { output, requestId };
  };
  try {
    return await send();
  } catch (error) {
    const name = errorName((error ?? {}) as SdkErrorLike);
    if (EXPIRED.has(name) && context.refreshCredentials) {
      try {
        await context.refreshCredentials();
      } catch (refreshError) {
        if (isCustodyError(refreshError)) throw refreshError;
        throw new CustodyError('E_CREDENTIALS', `could not refresh expired credentials for ${AWS_OPERATIONS[op].api} on ${context.resource}`, {
          cause: refreshError,
          resource: context.resource,
        });
      }
      try {
        return await send();
      } catch (retryError) {
        throw toCustodyError(op, retryError, context.resource);
      }
    }
    throw toCustodyError(op, error, context.resource);
  }
}
