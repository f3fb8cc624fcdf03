// Runs the CLI in this process with the real dependencies (custody, AWS provider, lab).
import { runCli } from '../../src/cli/app.js';
import { defaultDeps } from '../../src/cli/default-deps.js';

export interface InProcessRun {
  code: number;
  stdout: string;
  stderr: string;
}

export async function custody(argv: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv; tty?: boolean } = {}): Promise<InProcessRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(
    argv,
    {
      stdout: (t) => void (stdout += t),
      stderr: (t) => void (stderr += t),
      stderrIsTTY: options.tty ?? false,
      env: options.env ?? {},
      cwd: options.cwd ?? process.cwd(),
    },
    defaultDeps,
  );
  return { code, stdout, stderr };
}
