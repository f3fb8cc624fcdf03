/**
 * The clocks of the Azure services whose times the ledger records. The token entries hold Entra
 * ID's clock (identity.ts), but the times the ledger copies from answers are other services':
 * ARM's (a snapshot's or restore point's `timeCreated`, an operation's start and end, the Activity
 * Log) and Blob Storage's (a version's Last-Modified, the seal's expiry, which Storage enforces by
 * its own clock). Each answer of theirs carries a `Date` (RFC 7231; ARM and Storage send it on
 * every answer, errors too), so the first dated answer of a service, in each subscription for ARM,
 * gives its clock offset without a request of its own, with that answer's request id.
 */
import type { PipelinePolicy } from '@azure/core-rest-pipeline';
import { offsetFromAnswer } from '../../core/clock-offset.js';
import { redactUrl } from './arm-call.js';

/** What `clock.observed` records: one service's clock, from one answer. Never a header beyond these. */
export interface ClockObservation {
  service: 'arm' | 'storage';
  /** ARM: the subscription whose client got the answer. */
  subscriptionId?: string;
  /** ARM's clock minus this machine's (ms), whole seconds. */
  armClockOffsetMs?: number;
  /** Blob Storage's (the evidence account's) clock minus this machine's (ms), whole seconds. */
  storageClockOffsetMs?: number;
  /** The answer's `Date`, as the service sent it. */
  date: string;
  method: string;
  /** Host and path only (a query may hold a SAS). */
  url: string;
  status: number;
  requestId?: string;
  clientRequestId?: string;
}

export type ClockObserver = (observation: ClockObservation) => Promise<void> | void;

type Header = (name: string) => string | undefined | null;

/**
 * Takes one service's clock from the first answer that shows it (a `Date`, no `Age`, not stale),
 * and reports it once. Later answers are not looked at: the offset is a fact of the session, and
 * one entry per answer would bury the ledger.
 */
export class FirstDatedAnswer {
  private taken = false;

  constructor(
    private readonly where: Pick<ClockObservation, 'service' | 'subscriptionId'>,
    private readonly observe: ClockObserver,
  ) {}

  async sample(request: { method: string; url: string; header: Header }, response: { status: number; header: Header }, sentAt: number): Promise<void> {
    if (this.taken) return;
    const date = response.header('date') ?? undefined;
    const offset = offsetFromAnswer(date, response.header('age') ?? undefined, sentAt);
    if (offset === undefined || date === undefined) return;
    // Taken before the record is awaited: answers arriving meanwhile are not reported twice.
    this.taken = true;
    const field = this.where.service === 'arm' ? 'armClockOffsetMs' : 'storageClockOffsetMs';
    const requestId = response.header('x-ms-request-id') ?? undefined;
    const clientRequestId = request.header('x-ms-client-request-id') ?? undefined;
    await this.observe({
      ...this.where,
      [field]: Math.round(offset),
      date,
      method: request.method,
      url: redactUrl(request.url),
      status: response.status,
      ...(requestId ? { requestId } : {}),
      ...(clientRequestId ? { clientRequestId } : {}),
    });
  }
}

/** An ARM pipeline policy (per retry: every attempt's answer counts) feeding `sampler`. */
export function clockPolicy(sampler: FirstDatedAnswer): PipelinePolicy {
  return {
    name: 'custodyServiceClock',
    async sendRequest(request, next) {
      const sentAt = Date.now();
      const response = await next(request);
      await sampler.sample(
        { method: request.method, url: request.url, header: (name) => request.headers.get(name) },
        { status: response.status, header: (name) => response.headers.get(name) },
        sentAt,
      );
      return response;
    },
  };
}
