/**
 * Help text layout shared by the CLI's own lines and the lines the providers declare: a terminal
 * or a ticket pasted from one is 100 columns wide, and help read there must not wrap mid-word.
 */

/** The widest a help line may be. */
export const HELP_WIDTH = 100;

/**
 * `TERM  description` rows with the descriptions in one column (`column`, counted from the line's
 * start), wrapped at word boundaries within `HELP_WIDTH`. A term too long for the column puts its
 * description on the next line, in the same column.
 *
 * @example helpRows([['--json', 'print one JSON document']], 2, 21)
 */
export function helpRows(rows: ReadonlyArray<readonly [string, string]>, indent: number, column: number): string {
  const pad = ' '.repeat(column);
  return rows
    .map(([term, description]) => {
      const head = `${' '.repeat(indent)}${term}`;
      const lines = wrapWords(description, HELP_WIDTH - column).map((line) => `${pad}${line}`);
      if (head.length + 2 <= column && lines[0] !== undefined) lines[0] = `${head.padEnd(column)}${lines[0].slice(column)}`;
      else lines.unshift(head);
      return lines.join('\n');
    })
    .join('\n');
}

/** Splits `text` into lines of at most `width` characters at spaces (a longer word stays whole). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const last = lines.length - 1;
    if (last >= 0 && lines[last]!.length + 1 + word.length <= width) lines[last] += ` ${word}`;
    else lines.push(word);
  }
  return lines;
}
