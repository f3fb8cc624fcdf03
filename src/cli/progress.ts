import type { ProgressEvent, ProgressSink } from '../core/ports.js';
import type { CliIo } from './io.js';

/**
 * A progress sink for a terminal: one line per target step on stderr. Silent when stderr is
 * not a terminal or when JSON output was asked for, so pipes and scripts see only results.
 */
export function createProgress(io: CliIo, json: boolean): ProgressSink {
  if (json || !io.stderrIsTTY) return () => {};
  return (event: ProgressEvent) => io.stderr(`${formatProgress(event)}\n`);
}

export function formatProgress(event: ProgressEvent): string {
  const who = event.target ? shortTarget(event.target) : 'case';
  const pct = event.fraction === undefined ? '' : ` ${Math.round(event.fraction * 100)}%`;
  const detail = event.detail ? `  ${event.detail}` : '';
  return `  ${who}  ${event.step} ${event.state}${pct}${detail}`;
}

/** `arn:aws:ec2:us-east-1:222222222222:instance/i-0abc` → `222222222222/i-0abc`. */
export function shortTarget(target: string): string {
  const arn = /^arn:[^:]+:ec2:[^:]+:(\d{12}):[a-z]+\/(.+)$/.exec(target);
  return arn ? `${arn[1]}/${arn[2]}` : target;
}

/** The closing progress line on a terminal: counts and where the case is. */
export function writeProgressSummary(io: CliIo, json: boolean, text: string): void {
  if (json || !io.stderrIsTTY) return;
  io.stderr(`  done: ${text}\n`);
}
