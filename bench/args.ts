/**
 * The benches' command lines: `--help` prints the bench's usage, and an option the bench does not
 * know is named with that usage (exit 2) rather than thrown as a stack trace.
 */
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

export function benchArgs<T extends ParseArgsOptionsConfig>(usage: string, options: T): ReturnType<typeof parseArgs<{ options: T }>>['values'] {
  if (process.argv.slice(2).some((arg) => arg === '--help' || arg === '-h')) {
    process.stdout.write(`${usage.trim()}\n`);
    process.exit(0);
  }
  try {
    return parseArgs({ options }).values;
  } catch (error) {
    return usageError(usage, (error as Error).message);
  }
}

/** A value the bench cannot use: named with the usage, exit 2 (not silently replaced by a default). */
export function usageError(usage: string, message: string): never {
  process.stderr.write(`${message}\n\n${usage.trim()}\n`);
  process.exit(2);
}
