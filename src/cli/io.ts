/** Where the CLI reads and writes; main.ts binds it to the process, tests to buffers. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Progress lines are shown only on a terminal. */
  stderrIsTTY: boolean;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Aborted on Ctrl-C or SIGTERM: no new target or upload starts, the case (or its copy) is left to be continued. */
  signal?: AbortSignal;
}
