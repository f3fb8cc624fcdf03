/**
 * Google API error bodies as Compute Engine, IAM Credentials and Resource Manager send them:
 * `{"error": {code, message, errors: [{message, domain, reason}], status}}` (docs/research/gcp.md §3.4).
 */
export class LabGcpError extends Error {
  constructor(
    readonly httpStatus: number,
    message: string,
    readonly reason: string,
    readonly status: string,
    readonly details?: unknown[],
  ) {
    super(message);
  }

  body(): Record<string, unknown> {
    return {
      error: {
        code: this.httpStatus,
        message: this.message,
        errors: [{ message: this.message, domain: this.reason === 'authError' ? 'global' : this.reason === 'rateLimitExceeded' ? 'usageLimits' : 'global', reason: this.reason }],
        status: this.status,
        ...(this.details ? { details: this.details } : {}),
      },
    };
  }
}

export const notFound = (resource: string) => new LabGcpError(404, `The resource '${resource}' was not found`, 'notFound', 'NOT_FOUND');
export const alreadyExists = (resource: string) => new LabGcpError(409, `The resource '${resource}' already exists`, 'alreadyExists', 'ALREADY_EXISTS');
export const forbidden = (message: string) => new LabGcpError(403, message, 'forbidden', 'PERMISSION_DENIED');
export const badRequest = (message: string, reason = 'invalid') => new LabGcpError(400, message, reason, 'INVALID_ARGUMENT');
export const notReady = (resource: string) =>
  new LabGcpError(400, `The resource '${resource}' is not ready`, 'resourceNotReady', 'FAILED_PRECONDITION');
export const unauthenticated = (why: string) =>
  new LabGcpError(401, `Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. (${why})`, 'authError', 'UNAUTHENTICATED');
/** Compute's per-minute rate quota: a 403, not a 429 (docs/research/gcp.md §3.4). */
export const rateLimited = (api: string) =>
  new LabGcpError(403, `Quota exceeded for quota metric 'Queries' and limit 'Queries per minute' of service 'compute.googleapis.com' (${api}).`, 'rateLimitExceeded', 'PERMISSION_DENIED', [
    { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'RATE_LIMIT_EXCEEDED', domain: 'googleapis.com', metadata: { service: 'compute.googleapis.com' } },
  ]);
export const quotaExceeded = (metric: string) =>
  new LabGcpError(403, `Quota '${metric}' exceeded.`, 'quotaExceeded', 'PERMISSION_DENIED', [
    { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'QUOTA_EXCEEDED', domain: 'googleapis.com', metadata: { quota_metric: metric } },
  ]);
export const unavailable = () => new LabGcpError(503, 'The service is currently unavailable.', 'backendError', 'UNAVAILABLE');
