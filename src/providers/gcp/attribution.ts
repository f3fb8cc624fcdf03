/**
 * The request metadata GCP records for a call (docs/research/gcp.md §2.3): the User-Agent lands
 * in Cloud Audit Logs' `requestMetadata.callerSuppliedUserAgent`; `x-goog-request-reason` is
 * shown for some services as `requestMetadata.requestAttributes.reason` (not confirmed for
 * Compute Engine, so it is sent but never relied on alone). Both carry the case and evidence id
 * and are recorded in the ledger, so a log line can be matched to the case either way.
 */
export interface Attribution {
  caseId: string;
  /** The product's version, for the User-Agent. */
  version: string;
}

export function userAgentOf(attribution: Attribution, evidenceId?: string): string {
  return `cloud-custody/${attribution.version} case/${attribution.caseId}${evidenceId ? ` evidence/${evidenceId}` : ''}`;
}

export function requestReasonOf(attribution: Attribution, evidenceId?: string): string {
  return `cloud-custody case ${attribution.caseId}${evidenceId ? ` evidence ${evidenceId}` : ''}`;
}

export function attributionHeaders(attribution: Attribution, evidenceId: string | undefined): Record<string, string> {
  return { 'user-agent': userAgentOf(attribution, evidenceId), 'x-goog-request-reason': requestReasonOf(attribution, evidenceId) };
}
