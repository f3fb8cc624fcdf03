/**
 * Errors the lab answers with, and how each protocol puts them on the wire. Handlers throw a
 * `LabAwsError`; the server renders it in the calling service's shape:
 * EC2 `<Response><Errors><Error><Code>`, STS `<ErrorResponse><Error><Type/><Code>`, KMS JSON
 * `{"__type": …, "message": …}`.
 */
import { escapeXml } from './xml.js';

export type ServiceName = 'ec2' | 'sts' | 'kms' | 's3' | 'ebs';

export class LabAwsError extends Error {
  readonly code: string;
  readonly status: number;
  /** STS distinguishes caller faults (`Sender`) from its own (`Receiver`). */
  readonly fault: 'Sender' | 'Receiver';

  constructor(code: string, message: string, status = 400, fault: 'Sender' | 'Receiver' = 'Sender') {
    super(message);
    this.name = 'LabAwsError';
    this.code = code;
    this.status = status;
    this.fault = fault;
  }
}

export interface RenderedError {
  status: number;
  contentType: string;
  body: string;
  headers?: Record<string, string>;
}

/** Renders an error the way the named service does. */
export function renderError(service: ServiceName, error: LabAwsError, requestId: string): RenderedError {
  if (service === 'kms') {
    return {
      status: error.status,
      contentType: 'application/x-amz-json-1.1',
      body: JSON.stringify({ __type: error.code, message: error.message }),
    };
  }
  if (service === 'sts') {
    return {
      status: error.status,
      contentType: 'text/xml',
      body:
        `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>${error.fault}</Type>` +
        `<Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message></Error>` +
        `<RequestId>${requestId}</RequestId></ErrorResponse>`,
    };
  }
  if (service === 'ebs') {
    // REST-JSON: the code in x-amzn-ErrorType, EBS's Reason beside the message.
    const reason = (error as LabAwsError & { reason?: string }).reason;
    return {
      status: error.status,
      contentType: 'application/json',
      body: JSON.stringify({ Message: error.message, ...(reason ? { Reason: reason } : {}) }),
      headers: { 'x-amzn-ErrorType': error.code },
    };
  }
  if (service === 's3') {
    return {
      status: error.status,
      contentType: 'application/xml',
      body:
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(error.code)}</Code><Message>${escapeXml(error.message)}</Message>` +
        `<RequestId>${requestId}</RequestId></Error>`,
    };
  }
  return {
    status: error.status,
    contentType: 'text/xml;charset=UTF-8',
    body:
      `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(error.code)}</Code>` +
      `<Message>${escapeXml(error.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
  };
}

/** An unknown access key, per service (EC2 says AuthFailure, STS/KMS name the token). */
export function invalidCredentials(service: ServiceName): LabAwsError {
  if (service === 'ec2') {
    return new LabAwsError('AuthFailure', 'AWS was not able to validate the provided access credentials', 401);
  }
  if (service === 'kms') {
    return new LabAwsError('UnrecognizedClientException', 'The security token included in the request is invalid.', 400);
  }
  return new LabAwsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
}

/**
 * An expired session, per service. EC2 answers `RequestExpired` (the same code it uses for a
 * stale signature date), STS `ExpiredToken`, KMS `ExpiredTokenException`.
 */
export function expiredCredentials(service: ServiceName): LabAwsError {
  if (service === 'ec2') return new LabAwsError('RequestExpired', 'Request has expired.', 400);
  if (service === 'kms' || service === 'ebs') {
    return new LabAwsError('ExpiredTokenException', 'The security token included in the request is expired', service === 'ebs' ? 403 : 400);
  }
  return new LabAwsError('ExpiredToken', 'The security token included in the request is expired', 403);
}

/** `YYYYMMDDTHHMMSSZ`, as SigV4 and AWS's messages write times. */
const amzTime = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/**
 * A request signed more than `windowMs` off AWS's time `now`, per service: EC2 `RequestExpired`,
 * S3 `RequestTimeTooSkewed`, STS `SignatureDoesNotMatch`, KMS and EBS `InvalidSignatureException`,
 * with AWS's "Signature expired" / "Signature not yet current" message.
 */
export function signingTimeRefused(service: ServiceName, signed: string, signedAt: number, now: number, windowMs: number): LabAwsError {
  if (service === 'ec2') return new LabAwsError('RequestExpired', 'Request has expired.', 400);
  if (service === 's3') return new LabAwsError('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', 403);
  const minutes = Math.round(windowMs / 60_000);
  const message =
    signedAt < now
      ? `Signature expired: ${signed} is now earlier than ${amzTime(now - windowMs)} (${amzTime(now)} - ${minutes} min.)`
      : `Signature not yet current: ${signed} is still later than ${amzTime(now + windowMs)} (${amzTime(now)} + ${minutes} min.)`;
  if (service === 'sts') return new LabAwsError('SignatureDoesNotMatch', message, 403);
  return new LabAwsError('InvalidSignatureException', message, service === 'ebs' ? 403 : 400);
}

/** A request with no SigV4 Authorization header at all. */
export function missingAuthentication(service: ServiceName): LabAwsError {
  if (service === 'kms') {
    return new LabAwsError('MissingAuthenticationTokenException', 'Missing Authentication Token', 400);
  }
  return new LabAwsError('MissingAuthenticationToken', 'Request is missing Authentication Token', service === 'ec2' ? 401 : 403);
}

/** EC2's throttling answer once the action's token bucket is empty. */
export function requestLimitExceeded(service: ServiceName): LabAwsError {
  if (service === 'kms') return new LabAwsError('ThrottlingException', 'Rate exceeded', 400);
  if (service === 'sts') return new LabAwsError('Throttling', 'Rate exceeded', 400);
  return new LabAwsError('RequestLimitExceeded', 'Request limit exceeded.', 503);
}

/** EC2's answer to a permitted DryRun. */
export function dryRunSucceeded(): LabAwsError {
  return new LabAwsError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412);
}

export function invalidParameterValue(message: string): LabAwsError {
  return new LabAwsError('InvalidParameterValue', message, 400);
}

export function missingParameter(name: string): LabAwsError {
  return new LabAwsError('MissingParameter', `The request must contain the parameter ${name}`, 400);
}
