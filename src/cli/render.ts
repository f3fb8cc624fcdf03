// Human-readable rendering of results. JSON output is built by the commands directly.
import type { CollectionPlan } from '../core/plan.js';
import type { OutcomeSummary } from '../core/outcomes.js';
import type { TargetOutcome } from '../core/ports.js';
import { formatFingerprint, formatHead } from '../custody/expectations.js';
import { showGivenPath, showUntrusted } from '../custody/untrusted-text.js';
import type { AgainstOutcome, CopyOutcome, VerifyOutcome } from './deps.js';

export function renderOutcomes(outcomes: readonly TargetOutcome[]): string {
  const width = Math.max(9, ...outcomes.map((o) => o.status.length));
  return outcomes
    .map((o) => {
      const items = o.evidenceIds.length > 0 ? ` (${o.evidenceIds.length} evidence item${o.evidenceIds.length === 1 ? '' : 's'})` : '';
      const reason = o.reason && o.status !== 'collected' ? `\n      ${o.reason}` : '';
      return `  ${o.status.padEnd(width)} ${o.target}${items}${reason}`;
    })
    .join('\n');
}

export function renderSummary(summary: OutcomeSummary): string {
  return `${summary.total} target${summary.total === 1 ? '' : 's'}: ${summary.collected} collected, ${summary.partial} partial, ${summary.failed} failed, ${summary.skipped} skipped`;
}

/**
 * Where the first problem is: `ledger.jsonl entry 12 (line 13)` or `evidence/ev-…/x.json`. The
 * path is as found in the case folder or its ledger (`--json` keeps it so): shown as the
 * messages show it, escaped (untrusted-text.ts), for it reaches the terminal too.
 */
export function problemLocation(problem: VerifyOutcome['problems'][number]): string {
  const path = problem.path ? showUntrusted(problem.path) : undefined;
  if (path && problem.entrySeq === undefined && problem.line === undefined) return path;
  const parts: string[] = [];
  if (problem.entrySeq !== undefined) parts.push(`entry ${problem.entrySeq}`);
  if (problem.line !== undefined) parts.push(`line ${problem.line}`);
  const where = parts.length > 0 ? `ledger.jsonl ${parts.join(', ')}` : 'ledger.jsonl';
  return path && problem.path !== 'ledger.jsonl' ? `${path} (${where})` : where;
}

export function firstError(result: VerifyOutcome): VerifyOutcome['problems'][number] | undefined {
  return result.problems.find((p) => p.severity === 'error');
}

export function renderVerify(result: VerifyOutcome): string {
  const first = firstError(result);
  const counts = [
    result.entries === undefined ? undefined : `${result.entries} ledger entries`,
    result.files === undefined ? undefined : `${result.files} evidence files`,
  ].filter(Boolean);
  // Which ledger and key were examined, whatever the verdict (as far as the ledger can be read).
  const examined: string[] = [];
  // Not closed as such, not merely not proven closed (a manifest that cannot be checked).
  const notClosed = result.closed === false && (!first || result.problems.some((p) => p.kind === 'not-closed'));
  if (result.head) examined.push(`  ledger head: ${formatHead(result.head)}${notClosed ? ' (the case is not closed)' : ''}`);
  if (result.fingerprint) examined.push(`  signing key: ${formatFingerprint(result.fingerprint)}`);
  if (!first) {
    const warnings = result.problems.filter((p) => p.severity === 'warning');
    const lines = [`verified: ${showGivenPath(result.caseDir)}${counts.length ? ` (${counts.join(', ')})` : ''}`, ...examined];
    // With its kind, as an error's line has: what it means is looked up by it (docs/verify.md).
    for (const w of warnings) lines.push(`  warning: ${problemLocation(w)}: ${w.message} [${w.kind}]`);
    return lines.join('\n');
  }
  const lines = [`NOT verified: ${showGivenPath(result.caseDir)}`, ...examined, `  first problem: ${problemLocation(first)}: ${first.message} [${first.kind}]`];
  lines.push(...moreProblems(result.problems.filter((p) => p !== first)));
  return lines.join('\n');
}

/** How many problems after the first a human reads before the rest is counted, not listed. */
const LISTED_PROBLEMS = 20;

/** The problems after the first, one line each up to LISTED_PROBLEMS, then how many more: `--json` has them all. */
function moreProblems(rest: readonly VerifyOutcome['problems'][number][]): string[] {
  const lines = rest.slice(0, LISTED_PROBLEMS).map((p) => `  ${p.severity}: ${problemLocation(p)}: ${p.message} [${p.kind}]`);
  if (rest.length > LISTED_PROBLEMS) lines.push(`  … and ${rest.length - LISTED_PROBLEMS} more (--json lists every problem)`);
  return lines;
}

/** One paragraph on the immutable copy: where, how many objects, until when — or why not and how to retry. */
export function renderCopy(copy: CopyOutcome): string {
  if (!copy.ok) {
    const failed = `NOT copied to ${copy.url}: ${copy.error?.message ?? 'unknown failure'} [${copy.error?.code ?? 'E_INTERNAL'}]`;
    // Only a failed upload (E_COPY) is of a closed case and recorded (copy.failed); a refusal
    // (an open case, one that does not verify, a run holding the lock) recorded nothing.
    return copy.error?.code === 'E_COPY' ? `${failed}\n  The case is closed and intact here; the failure is recorded in its ledger.` : failed;
  }
  const retention = copy.retention ? `, locked ${copy.retention.mode} for ${copy.retention.days} days` : '';
  const earlier = copy.alreadyCopied ? ` (${copy.alreadyCopied} already there from an earlier run)` : '';
  const head = copy.head ? `\n  Ledger head after the copy records: ${copy.head.seq}:${copy.head.hash}` : '';
  return `copied: ${copy.url} (${copy.copied ?? 0} objects now${earlier}${retention}; each recorded in the ledger after case.closed)${head}`;
}

/** verify --against: the first object that does not match its copy, or how many matched. */
export function renderAgainst(result: AgainstOutcome): string {
  const first = result.problems.find((p) => p.severity === 'error');
  const warnings = result.problems.filter((p) => p.severity === 'warning').map((w) => `  warning: ${problemLocation(w)}: ${w.message} [${w.kind}]`);
  if (!first) return [`matches its copy: ${result.url} (${result.checked} objects: version, SHA-256 and retention as recorded)`, ...warnings].join('\n');
  // Not one object there (a mistyped URL, another case's copy): one line says so, not one per object.
  if (result.summary) return [`does NOT match its copy: ${result.url}`, `  ${result.summary} (--json lists each object's problem)`, ...warnings].join('\n');
  // Errors before warnings, as `problems` orders them; a long list is cut as plain verify cuts it.
  const rest = result.problems.filter((p) => p !== first);
  return [`does NOT match its copy: ${result.url}`, `  first problem: ${problemLocation(first)}: ${first.message} [${first.kind}]`, ...moreProblems(rest)].join('\n');
}

export function renderPlan(plan: CollectionPlan): string {
  const lines: string[] = [];
  for (const target of plan.targets) {
    lines.push(target.target);
    // Named targets collect takes in this one's run: listed, or the plan would seem to drop them.
    for (const also of target.alsoCollects ?? []) lines.push(`  also collects ${also.target}: ${also.reason}`);
    if (target.refused) {
      lines.push(`  refused before any cloud call: ${target.refused.reason} [${target.refused.code}]`, '');
      continue;
    }
    lines.push(`  provider ${target.provider}, concurrency scope ${target.scope}`);
    target.steps.forEach((step, i) => {
      lines.push(`  ${i + 1}. ${step.step}: ${step.description}`);
      for (const call of step.calls) {
        lines.push(`       ${call.mutates ? 'changes' : 'reads  '} ${call.api}  (${call.where})`);
      }
    });
    lines.push('  permissions:');
    for (const p of target.permissions) lines.push(`    ${permissionLine(p)}`);
    lines.push('');
  }
  for (const selector of plan.selectors) {
    const said = selector.refused ? `refused before any cloud call: ${selector.refused.reason} [${selector.refused.code}]` : selector.note;
    lines.push(`${selector.selector}`, `  ${selector.provider ? `provider ${selector.provider}: ` : ''}${said}`, '');
  }
  if (plan.permissions.length > 0) {
    lines.push('All permissions needed:');
    for (const p of plan.permissions) lines.push(`  ${permissionLine(p)}`);
  }
  lines.push('', 'Nothing was called or written.');
  return lines.join('\n');
}

function permissionLine(p: CollectionPlan['permissions'][number]): string {
  const context = p.context && Object.keys(p.context).length > 0 ? `  when ${JSON.stringify(p.context)}` : '';
  return `${p.action}  on ${p.resource}${context}`;
}

/**
 * The two values to keep apart from the case folder (in the ticket, with counsel): later,
 * `custody verify --expect-key K --expect-head H` proves the folder is the one collected.
 */
export function renderKeepApart(fingerprint: string | undefined, head: { seq: number; hash: string } | undefined): string[] {
  const lines: string[] = [];
  if (fingerprint) lines.push(`Signing key fingerprint: ${formatFingerprint(fingerprint)}`);
  if (head) lines.push(`Ledger head:             ${formatHead(head)}`);
  if (fingerprint && head) {
    lines.push(`Keep both apart from the case folder; custody verify --expect-key ${formatFingerprint(fingerprint)} --expect-head ${formatHead(head)} checks them.`);
  }
  return lines;
}
