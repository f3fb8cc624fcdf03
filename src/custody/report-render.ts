/**
 * Lays out a report model as Markdown and as one self-contained HTML file (inline CSS, no
 * scripts, no external assets). The tool's own words are trusted Markdown; every value from the
 * ledger is untrusted (pod names, tags and error messages are attacker-controlled text) and is
 * escaped for the format it lands in: Markdown escapes for report.md, HTML entities for report.html.
 */
import type { ClockRow, RedactionRow, ReportModel } from './report-model.js';
import { countLeftInCloud, type LeftInCloudRow } from './left-in-cloud.js';
import { WHOLE_SELECTOR, type SelectorSearchRow } from './selector-searches.js';
import { clockOffsetWords, clockWithinASecond } from '../core/clock-offset.js';

/**
 * A line of report text: the tool's own prose (Markdown, written here, never escaped) with
 * untrusted values spliced in. Built with the {@link prose} tag.
 */
export interface Prose {
  readonly parts: ReadonlyArray<{ readonly prose: string } | { readonly value: string }>;
}

/** Report text: a bare string is an untrusted value; prose marks the tool's own words. */
type Content = string | Prose;

/**
 * Tags a template as the tool's own prose: the literal parts are trusted Markdown, every
 * interpolation is an untrusted value escaped when rendered.
 *
 * @example
 * prose`Case id: ${model.caseId}` // "Case id" stays as written, the id is escaped
 */
export function prose(strings: TemplateStringsArray, ...values: string[]): Prose {
  const parts: Array<{ prose: string } | { value: string }> = [];
  strings.forEach((text, i) => {
    if (text) parts.push({ prose: text });
    const value = values[i];
    if (value !== undefined) parts.push({ value });
  });
  return { parts };
}

interface Section {
  title: string;
  paragraphs?: Content[];
  list?: Content[];
  /** `narrow`: columns of short values (status, seq, size) that never wrap. */
  table?: { headers: string[]; rows: Content[][]; narrow?: number[] };
  /** Shown instead of an empty table. */
  empty?: string;
  /** Printing starts a new page after this section (the one-page summary ends here). */
  pageBreakAfter?: boolean;
}

export const REPORT_DISCLAIMER =
  'This report is generated from ledger.jsonl and is not part of the verified evidence: `custody verify` ignores report.md and report.html. The ledger, the files under evidence/ and the signed manifest.json are authoritative.';

function sectionsOf(model: ReportModel): Section[] {
  const v = model.verification;
  const verdict = v.ok
    ? prose`PASSED: ${String(v.entries)} ledger entries, ${String(v.evidence.verified)} of ${String(v.evidence.files)} evidence files re-hashed and matching, every signature valid.`
    : prose`FAILED: ${String(v.problems.length)} problem(s); the first: ${v.firstProblem?.message ?? ''}`;
  const kv = (label: string, value: string): Prose => ({ parts: [{ prose: `${label}: ` }, { value }] });
  const ids = (record: Record<string, unknown> | undefined) =>
    Object.entries(record ?? {})
      .map(([k, value]) => `${k}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      .join(', ');
  // Line 1 holds case.opened, which pins the key: unreadable, neither is known, and the case did
  // not lack them.
  const firstUnreadable = model.unreadableLines[0] === 1 ? 'unknown: ledger.jsonl line 1 (case.opened, which pins the key) is unreadable; custody verify names the problem' : undefined;
  const fingerprint = v.fingerprint ? `sha256:${v.fingerprint}` : firstUnreadable ?? model.fingerprint;
  const byTarget = new Map<string, ReportModel['files']>();
  for (const f of model.files) {
    const key = f.target ?? '';
    byTarget.set(key, [...(byTarget.get(key) ?? []), f]);
  }
  const redactedByPath = new Map(model.redactions.map((r) => [r.path, r]));
  // A redacted file's hash is that of what was kept, not of the provider's answer: said beside it.
  const shaCell = (f: ReportModel['files'][number]): Content => {
    const redacted = redactedByPath.get(f.path);
    return redacted ? prose`${f.sha256} (REDACTED: ${valuesCut(redacted.cuts.length)} cut before storing; see Redacted descriptions)` : f.sha256;
  };
  const fileRow = (f: ReportModel['files'][number]): Content[] =>
    f.recovered
      ? [f.path, `RECOVERED (entry ${f.entrySeq}), not attested before the resume`, '(not recorded by the interrupted run)', f.sha256, String(f.size), '']
      : [f.path, f.kind ?? '', f.source ?? '', shaCell(f), String(f.size), ids(f.cloudIds)];
  const evidenceSections: Section[] = [...byTarget.entries()].map(([target, files], i) => ({
    title: `Evidence files: ${target || 'the case itself'}`,
    ...(i === 0
      ? {
          paragraphs: [
            prose`Every file under evidence/, grouped by the target it was collected from, with the SHA-256 and size recorded when it was written.${model.files.some((f) => f.recovered) ? ' Files marked RECOVERED were found in the case folder when the case was resumed after an interrupted run: that run wrote them but was stopped before recording them. Their hash is recorded and checked from the resume on; what they held before it is not attested.' : ''}${model.redactions.length > 0 ? ' Files marked REDACTED are descriptions with customer credentials cut out before they were written: their SHA-256 is that of the file as kept, not of the provider\'s answer (see Redacted descriptions).' : ''}`,
          ],
        }
      : {}),
    table: { headers: ['Path', 'Kind', 'Source', 'SHA-256', 'Size (bytes)', 'Cloud ids'], rows: files.map(fileRow), narrow: [4] },
  }));
  const head = model.head ?? '(no entries)';
  const unreadable = model.unreadableLines.length > 0
    ? [kv('Unreadable ledger lines (not shown in this report)', `${model.unreadableLines.slice(0, 20).join(', ')}${model.unreadableLines.length > 20 ? `, … (${model.unreadableLines.length} in all)` : ''}; custody verify names the problem with each`)]
    : [];
  return [
    {
      title: 'Summary',
      paragraphs: [verdict],
      list: [
        kv('Case id', model.caseId),
        kv('Opened (UTC)', model.openedAt ?? firstUnreadable ?? '(no case.opened entry)'),
        kv('Closed (UTC)', model.closedAt ?? (v.closed ? '(closed)' : 'not closed: the ledger does not end in case.closed')),
        { parts: [{ prose: 'Time zone: all times in this report are UTC (ISO 8601, ' }, { prose: '`Z`' }, { prose: '), as the ledger records them' }] },
        kv('Ledger head (last entry, SEQ:HASH)', head),
        kv('Signing key fingerprint (SHA-256 of the public key)', fingerprint),
        ...unreadable,
        kv('Signed manifest', manifestState(model)),
        ...model.clocks.map((clock) => kv(`Collector's clock against ${clock.cloud}'s`, clockText(clock))),
        ...leftInCloudSummary(model.leftInCloud),
        ...(model.redactions.length > 0
          ? [prose`Descriptions stored redacted: ${String(model.redactions.length)} file${model.redactions.length === 1 ? '' : 's'} with customer credentials cut out before storing (see Redacted descriptions)`]
          : []),
        kv('Analyst(s), as asserted', model.analysts.join(', ') || '(none recorded)'),
        kv('Tool version(s)', model.toolVersions.join(', ') || '(unknown)'),
        kv('Report generated (UTC)', model.generatedAt),
      ],
    },
    {
      title: 'Who ran the collection',
      paragraphs: [
        prose`The analyst is who the operator said they are (--analyst or the configuration); the authenticated principal is who the cloud's GetCallerIdentity said the tool's credentials belong to. Cases recorded before the principal was recorded show "not recorded".`,
      ],
      table: {
        headers: ['Entry', 'Time (UTC)', 'Run', 'Analyst (asserted)', 'Authenticated principal', 'Host', 'Tool'],
        narrow: [0, 2],
        rows: model.runs.map((r) => [String(r.seq), r.time, r.kind, r.analyst, r.principal, r.host, r.tool]),
      },
      empty: 'No case.opened or case.resumed entry is readable.',
    },
    {
      title: 'Targets',
      table: {
        headers: ['Target', 'Status', 'Snapshots: source → copies (KMS key, lock)', 'Files', 'Reason'],
        narrow: [1, 3],
        rows: model.targets.map((t) => [t.target, t.status, t.snapshots.join('\n') || '(none)', String(t.files), t.reason]),
      },
      empty: 'The ledger names no target.',
    },
    ...leftInCloudSections(model.leftInCloud),
    {
      title: 'Changes made to targets',
      paragraphs: [prose`The tool changes a target only when asked (--preserve, --isolate, or retrieving a checkpoint through a helper pod), and records each change before and after making it.`],
      table: {
        headers: ['Entry', 'Time (UTC)', 'Target', 'Change', 'Before', 'After', 'Result'],
        narrow: [0],
        rows: model.changes.map((c) => [String(c.seq), c.time, c.target, c.change, c.before, c.after, c.result]),
      },
      empty: 'No change was made to any target.',
      pageBreakAfter: true,
    },
    {
      title: 'How to verify this case yourself',
      paragraphs: [{ parts: [{ prose: REPORT_DISCLAIMER }] }],
      list: [
        prose`Get the signing key fingerprint and the ledger head from the collector's own record (the ticket, the handover note), not from this report: the report travels with the folder, so it proves nothing about it.`,
        prose`Install the tool from its source or its npm package (\`npm install -g cloud-custody\`; never \`npx\` with another package name), then run: \`custody verify --expect-key sha256:<fingerprint> --expect-head <SEQ:HASH> <case folder>\`. Exit 0 means every entry, signature and file matches, the case is closed, and it is the case that was collected; exit 4 names the first entry or file that does not match.`,
        prose`Without the tool: docs/ledger-format.md ("Verifying by hand") checks the same with jq, sha256sum and openssl.`,
        kv('This case, as the folder states it: fingerprint', fingerprint),
        kv('This case, as the folder states it: ledger head', head),
      ],
    },
    {
      title: 'Verification details',
      paragraphs: [verdict],
      list: [...v.problems, ...v.warnings].map(
        (p): Prose => ({
          parts: [
            { prose: `${p.severity.toUpperCase()} ${p.kind}${p.entrySeq !== undefined ? ` (entry ${p.entrySeq})` : ''}` },
            // The path comes from the ledger; the brackets around it are ours.
            ...(p.path ? [{ prose: ' [' }, { value: p.path }, { prose: ']' }] : []),
            { prose: ': ' },
            { value: p.message },
          ],
        }),
      ),
    },
    ...(evidenceSections.length > 0 ? evidenceSections : [{ title: 'Evidence files', table: { headers: ['Path'], rows: [] }, empty: 'No evidence files were recorded.' }]),
    ...redactionSections(model.redactions),
    {
      title: 'Cloud artefacts (snapshots and their copies)',
      table: {
        headers: ['Evidence id', 'Kind', 'Source', 'Target', 'Cloud ids'],
        rows: model.artifacts.map((a) => [a.evidenceId, a.kind, a.source, a.target ?? '', ids(a.cloudIds)]),
      },
      empty: 'No cloud artefacts were recorded.',
    },
    ...selectorSearchSections(model.selectorSearches),
    {
      title: 'Failures',
      table: {
        headers: ['Entry', 'Time (UTC)', 'Target', 'Step', 'Error'],
        narrow: [0],
        rows: model.failures.map((f) => [String(f.seq ?? ''), f.time ?? '', f.target, f.what, f.message]),
      },
      empty: 'No step failed.',
    },
    {
      title: 'Targets not collected',
      table: {
        headers: ['Target', 'Status', 'Reason'],
        narrow: [1],
        rows: model.notCollected.map((f) => [f.target, f.what, f.message]),
      },
      empty: 'Every target was collected (or the case was not closed with outcomes).',
    },
    {
      title: 'Role sessions',
      list: model.analysts.map((a) => prose`Actor: ${a}`),
      table: {
        headers: ['Entry', 'Time (UTC)', 'Target', 'Assumed role'],
        narrow: [0],
        rows: model.roles.map((r) => [String(r.seq), r.time, r.target, r.summary]),
      },
      empty: 'No role was assumed.',
    },
    {
      title: 'Timeline (every ledger entry)',
      table: {
        headers: ['Seq', 'Time (UTC)', 'Type', 'Actor', 'Target', 'Summary'],
        narrow: [0],
        rows: model.timeline.map((t) => [String(t.seq), t.time, t.type, t.actor, t.target, t.summary]),
      },
      empty: 'The ledger has no readable entries.',
    },
  ];
}

/** The summary's line on what was left in the cloud; none when the ledger records nothing left. */
function leftInCloudSummary(rows: readonly LeftInCloudRow[]): Prose[] {
  const { total, stillLeft: left } = countLeftInCloud(rows);
  if (total === 0) return [];
  const taken = total - left;
  return [
    prose`Left in the cloud: ${String(left)} item${left === 1 ? '' : 's'} the case did not collect, as the ledger last records them${taken > 0 ? `; ${taken} taken up by later entries` : ''} (see Left in the cloud)`,
  ];
}

/**
 * Per target, what the cloud may still hold that the case did not collect, with the provider's
 * ids and the ledger's own sentence of what a resume does, and whether a later entry took it up.
 * No section when the ledger records nothing left.
 */
function leftInCloudSections(rows: readonly LeftInCloudRow[]): Section[] {
  if (rows.length === 0) return [];
  // Grouped by target, in the order of each target's first note; ledger order within a target.
  const order = [...new Set(rows.map((r) => r.target))];
  const sorted = [...rows].sort((a, b) => order.indexOf(a.target) - order.indexOf(b.target) || a.seq - b.seq);
  return [
    {
      title: 'Left in the cloud',
      paragraphs: [
        prose`What the cloud may still hold that the case did not collect, as the ledger records it: a snapshot or restore point asked for whose wait was cut (the run was stopped, the wait timed out, or its state could not be read; \`leftInAws\`, \`leftInGcp\`, \`leftInAzure\`), and a read grant that may still be open (\`export.left-open\`, or a failed revoke's \`grantStillOpen\`). Each is claimed neither made nor lost; "What the ledger says" is the entry's own sentence, with what a resume does. "Since then" names the later entry of the same target that adopted, completed, found FAILED (a GCP snapshot, kept; the resume took the next name) or revoked the very id the note's entry records; without one, the note stands as recorded in its entry. Nothing here is read from the cloud or inferred.`,
      ],
      table: {
        headers: ['Target', 'Entry', 'Time (UTC)', 'Step', 'Provider ids', 'What the ledger says', 'Since then'],
        narrow: [1],
        rows: sorted.map((r) => [r.target, String(r.seq), r.time, r.what, r.ids.join(', ') || '(none recorded)', r.note, sinceThen(r)]),
      },
    },
  ];
}

function sinceThen(row: LeftInCloudRow): string {
  const taken = row.takenUp;
  if (taken) return `${taken.how} in entry ${taken.seq} (${[taken.type, ...taken.detail].join(', ')})`;
  if (row.awaits === undefined) return `as recorded in entry ${row.seq}: the report reads no later entry as taking this step up`;
  return `still left, as recorded in entry ${row.seq}: no later entry records it ${row.awaits}`;
}

/** How many ids of one scope's search a row lists; the rest are counted. */
const IDS_SHOWN = 20;

const idList = (ids: readonly string[], none: string) =>
  ids.length === 0 ? none : `${ids.slice(0, IDS_SHOWN).join(', ')}${ids.length > IDS_SHOWN ? `, … (${ids.length} in all; see entry)` : ''}`;

/**
 * Each selector's search, scope by scope, then what the whole selector came to: which scopes were
 * searched, what each found and under which request ids, and which could not be searched and why.
 * No section when the case searched no selector.
 */
function selectorSearchSections(rows: readonly SelectorSearchRow[]): Section[] {
  if (rows.length === 0) return [];
  return [
    {
      title: 'Selector searches',
      paragraphs: [
        prose`A selector is searched in each scope its provider is configured for (an AWS account in a region, an Azure subscription, a GCP project, a Kubernetes namespace). Each scope searched is listed with the provider's ids of what it found and the provider's request ids (GCP's Compute lists give none); a scope that could not be searched is listed with its error, and the other scopes still count. "${WHOLE_SELECTOR}" rows are the targets the selector came to, or why it failed as a whole. Entries marked "older form" were written by an earlier version of the tool, before every provider recorded its searches the same way.`,
      ],
      table: {
        headers: ['Entry', 'Time (UTC)', 'Selector', 'Scope', 'Result', 'Found', 'Request ids', 'Recorded as'],
        narrow: [0],
        rows: rows.map((r) => [String(r.seq), r.time, r.selector, r.where, r.result, idList(r.found, ''), idList(r.requestIds, r.searched ? '(none recorded)' : ''), r.recordedAs]),
      },
    },
  ];
}

/** How many cut values a file's list shows; the rest are named by their entry. */
const CUTS_SHOWN = 20;

const valuesCut = (n: number) => `${n} value${n === 1 ? '' : 's'}`;

/**
 * The redacted files, beside the evidence tables: what was cut and where, and the hash before the
 * cut with what it proves and where that stops. No section when nothing was redacted.
 */
function redactionSections(rows: readonly RedactionRow[]): Section[] {
  if (rows.length === 0) return [];
  return [
    {
      title: 'Redacted descriptions',
      paragraphs: [
        prose`These JSON descriptions of the customer's resources held credentials of the customer's own (a signed URL's signature, a URL's password, a connection string's key, a token, a value named like a secret). Each such value was replaced by \`REDACTED\` before the file was written, so the file kept is not byte for byte the provider's answer: its SHA-256 in the evidence table, which \`custody verify\` re-hashes, is that of the file as kept. Everything else in the file is the provider's answer. Raw evidence (console output, logs, exec output, checkpoints, disks) is never redacted.`,
        prose`The SHA-256 before redaction is that of the provider's answer written the same way without the cut (2-space indented JSON and a newline). Fetching the resource again (if it has not changed since), writing it so and getting this hash proves what the original held and that only the listed values differ. Its limit: for a short or guessable secret (a password), anyone holding this hash and the file can test guesses offline; a signature or a key is out of reach.`,
      ],
      table: {
        headers: ['File', 'Target', 'Values cut', 'Where (JSON path in the file kept: kind)', 'SHA-256 before redaction', 'Entry'],
        narrow: [5],
        rows: rows.map((r) => [r.path, r.target, `${valuesCut(r.cuts.length)}: ${kindTally(r.cuts)}`, whereCut(r), r.originalSha256, String(r.entrySeq)]),
      },
    },
  ];
}

/** `a URL with a password: 2; a bearer token: 1`, in the order each kind was first cut. */
function kindTally(cuts: RedactionRow['cuts']): string {
  const counts = new Map<string, number>();
  for (const cut of cuts) counts.set(cut.kind, (counts.get(cut.kind) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `${kind}: ${n}`).join('; ') || '(none listed)';
}

/**
 * One cut a line (HTML; `; ` in Markdown, which folds the line breaks of a value); a long list
 * stops at {@link CUTS_SHOWN} and names the entry that holds the rest.
 */
function whereCut(row: RedactionRow): string {
  const shown = row.cuts.slice(0, CUTS_SHOWN).map((c) => `${c.path}: ${c.kind}`);
  const rest = row.cuts.length - shown.length;
  if (rest > 0) shown.push(`… and ${rest} more (every one in entry ${row.entrySeq}, redaction.redacted)`);
  return shown.join(';\n');
}

/**
 * Escapes an untrusted value for report.md, touching only what would change the Markdown's
 * structure, so the file stays readable as plain text (a URL keeps its `&`):
 * - newlines fold to a space (a value cannot end a table row or start a block);
 * - `|` cannot open a table column, `` ` `` cannot open a code span, `[`/`]` cannot form a link
 *   or image, `<` cannot open raw HTML or an autolink, `&` cannot spell an entity;
 * - a backslash that would escape the next character is itself escaped;
 * - a leading `#`, `>`, list marker, fence or thematic break cannot start a block.
 * HTML-entity escaping belongs to report.html ({@link escapeHtml}), not here.
 */
export function escapeMarkdown(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/\\(?=[!-/:-@[-`{-~]|$)/g, '\\\\')
    .replace(/[|`[\]<]/g, '\\$&')
    .replace(/&(?=#?[A-Za-z0-9]+;)/g, '\\&')
    // A digit cannot be backslash-escaped, so an ordered-list marker has its `.` or `)` escaped.
    .replace(BLOCK_START, (_all, indent: string, marker: string) =>
      /^\d/.test(marker) ? `${indent}${marker.slice(0, -1)}\\${marker.slice(-1)}` : `${indent}\\${marker}`,
    );
}

// Values never start a line in this report, but one that did must not open a heading, quote,
// list item, thematic break or fence (a backtick fence is already escaped above).
const BLOCK_START = /^(\s*)(#{1,6}(?=\s|$)|>|[-+*](?=\s|$)|\d{1,9}[.)](?=\s|$)|([-*_])\s*\3\s*\3|~~~)/;

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** The text as a reader sees it, unescaped (for choosing a paragraph's style). */
function plainText(content: Content): string {
  return typeof content === 'string' ? content : content.parts.map((p) => ('prose' in p ? p.prose : p.value)).join('');
}

function toMarkdown(content: Content): string {
  if (typeof content === 'string') return escapeMarkdown(content);
  return content.parts.map((p) => ('prose' in p ? p.prose : escapeMarkdown(p.value))).join('');
}

/** The tool's prose uses Markdown code spans; in HTML they become <code>. */
function toHtml(content: Content): string {
  if (typeof content === 'string') return escapeHtml(content);
  return content.parts
    .map((p) => ('prose' in p ? escapeHtml(p.prose).replace(/`([^`]+)`/g, '<code>$1</code>') : escapeHtml(p.value)))
    .join('');
}

export function renderMarkdown(model: ReportModel): string {
  const out: string[] = [`# Chain of custody report: ${escapeMarkdown(model.caseId)}`, ''];
  for (const section of sectionsOf(model)) {
    out.push(`## ${section.title}`, '');
    for (const p of section.paragraphs ?? []) out.push(toMarkdown(p), '');
    if (section.list?.length) out.push(...section.list.map((item) => `- ${toMarkdown(item)}`), '');
    if (section.table) {
      if (section.table.rows.length === 0) {
        out.push(`_${section.empty ?? 'None.'}_`, '');
      } else {
        const row = (cells: Content[]) => `| ${cells.map(toMarkdown).join(' | ')} |`;
        out.push(`| ${section.table.headers.join(' | ')} |`, `|${section.table.headers.map(() => ' --- |').join('')}`);
        out.push(...section.table.rows.map(row), '');
      }
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

// Screen and paper: the summary (up to the changes made to targets) fills the first printed
// page; long ids and hashes wrap inside their cells instead of widening the table; rows and
// headings never split across pages.
const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem;color:#1b1f24;line-height:1.35}
h1{font-size:1.4rem;margin:0 0 .5rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem;border-bottom:1px solid #d0d7de}
ul{margin:.25rem 0;padding-left:1.25rem}p{margin:.4rem 0}
table{border-collapse:collapse;width:100%;font-size:.8rem}
th,td{border:1px solid #d0d7de;padding:.2rem .4rem;text-align:left;vertical-align:top;overflow-wrap:anywhere;white-space:pre-line}
th{background:#f6f8fa}.n{white-space:nowrap;overflow-wrap:normal}.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}
.note{background:#fff8c5;padding:.5rem;border:1px solid #d4a72c}
code{font-size:.9em}
@page{size:A4;margin:10mm}
@media print{body{margin:0;font-size:8.5pt;line-height:1.25}h1{font-size:13pt}h2{font-size:10.5pt;margin:.6rem 0 .3rem;break-after:avoid}p{margin:.2rem 0}tr,li{break-inside:avoid}thead{display:table-header-group}.page-break{break-after:page}table{font-size:6.8pt}th,td{padding:.1rem .25rem}}
`;

export function renderHtml(model: ReportModel): string {
  const e = escapeHtml;
  const body: string[] = [`<h1>Chain of custody report: ${e(model.caseId)}</h1>`];
  for (const section of sectionsOf(model)) {
    body.push(`<section${section.pageBreakAfter ? ' class="page-break"' : ''}>`, `<h2>${e(section.title)}</h2>`);
    for (const p of section.paragraphs ?? []) {
      const text = plainText(p);
      const cls = text === REPORT_DISCLAIMER ? 'note' : text.startsWith('PASSED') ? 'ok' : text.startsWith('FAILED') ? 'bad' : '';
      body.push(`<p${cls ? ` class="${cls}"` : ''}>${toHtml(p)}</p>`);
    }
    if (section.list?.length) body.push(`<ul>${section.list.map((item) => `<li>${toHtml(item)}</li>`).join('')}</ul>`);
    if (section.table) {
      if (section.table.rows.length === 0) {
        body.push(`<p><em>${e(section.empty ?? 'None.')}</em></p>`);
      } else {
        const narrow = new Set(section.table.narrow ?? []);
        const cell = (tag: string, i: number, html: string) => `<${tag}${narrow.has(i) ? ' class="n"' : ''}>${html}</${tag}>`;
        const head = section.table.headers.map((h, i) => cell('th', i, e(h))).join('');
        const rows = section.table.rows.map((r) => `<tr>${r.map((c, i) => cell('td', i, toHtml(c))).join('')}</tr>`).join('\n');
        body.push(`<table><thead><tr>${head}</tr></thead><tbody>\n${rows}\n</tbody></table>`);
      }
    }
    body.push('</section>');
  }
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    `<title>Chain of custody report: ${e(model.caseId)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    ...body,
    '</body></html>',
    '',
  ].join('\n');
}

/**
 * How far the collector's clock — the ledger's times — was from a cloud's. The offsets come from
 * the Date of the answers that issued credentials (or, for ARM and Blob Storage, of their first
 * answers), which has whole seconds: within a second is as close as it can tell.
 */
export function clockText(clock: Pick<ClockRow, 'cloud' | 'answers' | 'credential' | 'minMs' | 'maxMs' | 'credentials'>): string {
  const from = `${clock.answers} to ${clock.credentials} ${clock.credential}${clock.credentials === 1 ? '' : 's'}; the ledger's times are the collector's`;
  const worst = Math.abs(clock.minMs) > Math.abs(clock.maxMs) ? clock.minMs : clock.maxMs;
  return `${clockWithinASecond(worst) ? '' : 'up to '}${clockOffsetWords(worst)} ${clock.cloud}'s (${from})`;
}

/** What the summary says of manifest.json: one that is there but does not verify is not "none". */
function manifestState(model: ReportModel): string {
  if (model.verification.closed) return 'present and matching the ledger head';
  if (model.manifestPresent) return 'present, but it does not verify (see Verification details)';
  if (model.verification.problems.some((p) => p.kind === 'manifest-missing')) return 'missing: the ledger ends in case.closed but manifest.json is not there (see Verification details)';
  return 'none (the case is not closed)';
}
