/**
 * What an `evidence.stored` or `evidence.recovered` entry must say of its file for verify to check
 * it: a path `evidence/<id>/<name>` of safe names, a SHA-256 and a size. An entry of a tampered
 * ledger may say anything there, so what is wrong is described with its value quoted safely
 * (untrusted-text.ts), never printed as it stands. A `disk.imaged` entry is held to the same
 * fields (disk-images.ts) with its own rule for the path.
 */
import { credentialText } from './credential-guard.js';
import { EVIDENCE_DIR } from './layout.js';
import { segmentProblem } from './names.js';
import { quoteUntrusted, typeOfUntrusted } from './untrusted-text.js';

/** The file an evidence entry records, once {@link evidenceRecordProblem} found nothing wrong. */
export interface EvidenceRecord {
  path: string;
  sha256: string;
  size: number;
}

/**
 * Why `data` does not name a valid evidence file ("its path "…" is not evidence/<id>/<name> (its
 * name contains "..")", "its size is a string, not a number"), or undefined when it does.
 */
export function evidenceRecordProblem(data: Readonly<Record<string, unknown>>): string | undefined {
  return fileRecordProblem(data, `${EVIDENCE_DIR}/<id>/<name>`, pathProblem);
}

/**
 * Why `data` does not record a file by its path, SHA-256 and size (an evidence file, a disk
 * image), or undefined when it does: `expected` says what the path must be, `pathProblem` why it
 * is not ("it has 7 segments").
 */
export function fileRecordProblem(data: Readonly<Record<string, unknown>>, expected: string, pathProblem: (path: string) => string | undefined): string | undefined {
  const { path, sha256, size } = data;
  const problems: string[] = [];
  if (typeof path !== 'string') problems.push(`its path is ${notA(path, 'a string')}`);
  else {
    const why = pathProblem(path);
    if (why !== undefined) {
      const quoted = quoteUntrusted(path);
      problems.push(quoted === undefined ? `its path is not ${expected}, and is not shown: it looks like ${credentialText(path)}` : `its path ${quoted} is not ${expected} (${why})`);
    }
  }
  if (typeof sha256 !== 'string') problems.push(`its sha256 is ${notA(sha256, 'a string')}`);
  if (typeof size !== 'number') problems.push(`its size is ${notA(size, 'a number')}`);
  return problems.length > 0 ? problems.join('; ') : undefined;
}

/** Why `path` is not `evidence/<id>/<name>` of safe names, or undefined when it is. */
function pathProblem(path: string): string | undefined {
  const parts = path.split('/');
  if (parts.length !== 3) return `it has ${parts.length} segment${parts.length === 1 ? '' : 's'}`;
  if (parts[0] !== EVIDENCE_DIR) return `it is not under ${EVIDENCE_DIR}/`;
  for (const [which, part] of [['id', parts[1]!], ['name', parts[2]!]] as const) {
    const problem = segmentProblem(part);
    // segmentProblem says "it contains …" of the segment: named here, in a message about the path.
    if (problem !== undefined) return problem.replace(/^it /, `its ${which} `);
  }
  return undefined;
}

/** 'missing', or 'a number, not a string'. */
function notA(value: unknown, wanted: string): string {
  const type = typeOfUntrusted(value);
  return value === undefined ? type : `${type}, not ${wanted}`;
}
