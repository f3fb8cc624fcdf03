/**
 * Values read from a ledger or manifest that may have been tampered with, shown in a verify
 * message. The message reaches a terminal and a report that travels to counsel, so a value is
 * quoted with every control and invisible formatting character escaped (an escape sequence could
 * repaint the verdict, a right-to-left override could reverse a name), cut short (one field could
 * hold megabytes), and never shown at all when it looks like a credential.
 */
import { isAbsolute, relative, sep } from 'node:path';
import { credentialText } from '../core/credentials.js';

/** How many characters of a value are shown; the rest is counted, not printed. */
const SHOWN_CHARACTERS = 80;

// What JSON.stringify leaves as it is but a terminal or a reader should not be handed raw: DEL
// and the C1 controls, the soft hyphen, and the invisible marks, joiners, separators and
// direction overrides of Unicode.
const INVISIBLE = /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]/g;

/**
 * The text quoted for a message (`"evidence/ev-1/x\u001b"`, `"evidence/AAA…"… (100011
 * characters)`), or undefined when it looks like a credential: then the caller says what kind
 * ({@link credentialText}) and shows nothing of it.
 */
export function quoteUntrusted(text: string): string | undefined {
  if (credentialText(text) !== undefined) return undefined;
  // By code point, so a cut never splits a surrogate pair; sliced first, so a huge value is not
  // spread into an array whole.
  const shown = Array.from(text.slice(0, SHOWN_CHARACTERS * 2)).slice(0, SHOWN_CHARACTERS).join('');
  const quoted = JSON.stringify(shown).replace(INVISIBLE, escapeCharacter);
  return shown.length < text.length ? `${quoted}… (${text.length} characters)` : quoted;
}

// A value of these characters alone (case ids, evidence paths, ARNs, field names) cannot repaint
// a terminal or be misread, and cannot run into the words around it: shown as it is, so an
// ordinary message reads as it always did.
const PLAIN = new RegExp(`^[A-Za-z0-9._:@/+-]{1,${SHOWN_CHARACTERS}}$`);

/**
 * A value for the running text of a message: as it is when it is plain (`IR-2026-0042`,
 * `evidence/ev-1/a.json`), else quoted as {@link quoteUntrusted} quotes it, and in place of one
 * that looks like a credential, `(not shown: it looks like …)`.
 */
export function showUntrusted(text: string): string {
  const credential = credentialText(text);
  if (credential !== undefined) return notShown(credential);
  return PLAIN.test(text) ? text : quoteUntrusted(text)!;
}

/**
 * A value always shown quoted (`"not-a-key"`), as {@link quoteUntrusted} quotes it, and in place
 * of one that looks like a credential, `(not shown: it looks like …)`.
 */
export function quoteOrWithhold(text: string): string {
  return quoteUntrusted(text) ?? notShown(credentialText(text)!);
}

function notShown(credential: string): string {
  return `(not shown: it looks like ${credential})`;
}

// Every character a message must not carry raw: the C0 controls (newline, escape, …) besides the
// invisible ones above.
// eslint-disable-next-line no-control-regex
const UNSAFE = new RegExp(`[\\u0000-\\u001f]|${INVISIBLE.source}`, 'g');

/**
 * A filesystem error for a message about the case folder (`EACCES: permission denied, open
 * evidence/ev-1/x.log`). Node writes the path it failed on into its message as it stands, and a
 * name in the case folder may hold anything (an escape sequence, a newline, a direction
 * override): each path the error names is shown as untrusted text, relative to the case folder
 * as every path verify names, and whatever else the message holds has its control and invisible
 * characters escaped. Without `caseDir` (an error about a folder the configuration names, not
 * about a case) the paths stay where Node put them, whole, with only those characters escaped.
 */
export function showFsError(cause: unknown, caseDir?: string): string {
  const error = cause as { path?: unknown; dest?: unknown };
  let message = cause instanceof Error ? cause.message : String(cause);
  for (const path of [error.path, error.dest]) {
    if (caseDir !== undefined && typeof path === 'string' && path !== '') message = message.split(`'${path}'`).join(showCasePath(path, caseDir));
  }
  return message.replace(UNSAFE, escapeCharacter);
}

/**
 * A path this run was given or built from what it was given (casesDir, a case folder, `--out`)
 * for a message: whole, as the user wrote it, when it holds no control or invisible character (a
 * long path cut short would no longer say where), else quoted as {@link showUntrusted} quotes it,
 * for a folder's name may come from anywhere.
 */
export function showGivenPath(path: string): string {
  return new RegExp(UNSAFE.source).test(path) ? showUntrusted(path) : path;
}

/** `\u001b` for ESC: how JSON writes a character, as text that shows what it is. */
function escapeCharacter(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

/** `path` as {@link showUntrusted} shows it, relative to `caseDir` (`/`-separated) when it lies in it. */
function showCasePath(path: string, caseDir: string): string {
  const inCase = relative(caseDir, path);
  if (inCase === '' || inCase === '..' || inCase.startsWith(`..${sep}`) || isAbsolute(inCase)) return showUntrusted(path);
  return showUntrusted(inCase.split(sep).join('/'));
}

/** The type of a value that is not what was expected, for a message: 'missing', 'a number', 'an object'. */
export function typeOfUntrusted(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : `a ${type}`;
}
