/**
 * What a command run through `pods/exec` prints in a lab container, and the status the kubelet
 * sends on the WebSocket's status channel (3) when it ends.
 */
import type { LabContainerSpec, LabExecResult } from './objects.js';

export interface LabExecOutcome {
  stdout: string;
  stderr: string;
  /** The `v1.Status` sent on channel 3. */
  status: Record<string, unknown>;
}

/** Executables a lab image has unless the scenario says otherwise (a busybox-like image). */
export const DEFAULT_BINARIES = ['sh', 'cat', 'ls', 'ps', 'env', 'id', 'uname', 'hostname', 'readlink', 'find'];

function statusFor(argv: readonly string[], exitCode: number): Record<string, unknown> {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${argv.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

/**
 * containerd (runc) refuses to start a binary the image lacks; the API server relays it as an
 * InternalError on the status channel rather than an exit code.
 */
function notFoundStatus(argv0: string, containerId: string): Record<string, unknown> {
  const message =
    `Internal error occurred: error executing command in container: failed to exec in container: failed to start exec "${containerId.slice(0, 64)}": ` +
    `OCI runtime exec failed: exec failed: unable to start container process: exec: "${argv0}": executable file not found in $PATH: unknown`;
  return { metadata: {}, status: 'Failure', message, reason: 'InternalError', details: { causes: [{ message }] }, code: 500 };
}

function simulate(container: LabContainerSpec, argv: readonly string[]): LabExecResult {
  const [cmd = '', ...args] = argv;
  const name = cmd.split('/').pop() ?? cmd;
  switch (name) {
    case 'cat': {
      let stdout = '';
      for (const path of args) {
        const content = container.files?.[path];
        if (content === undefined) return { stdout, stderr: `cat: can't open '${path}': No such file or directory\n`, exitCode: 1 };
        stdout += content;
      }
      return { stdout };
    }
    case 'env':
      return {
        stdout: Object.entries({ PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOSTNAME: 'lab', ...(container.env ?? {}) })
          .map(([k, v]) => `${k}=${v}\n`)
          .join(''),
      };
    case 'id':
      return { stdout: 'uid=0(root) gid=0(root) groups=0(root)\n' };
    case 'hostname':
      return { stdout: 'lab\n' };
    default:
      return { stdout: '' };
  }
}

/** Runs `argv` in a lab container. */
export function runLabCommand(container: LabContainerSpec, containerId: string, argv: readonly string[]): LabExecOutcome {
  const argv0 = argv[0] ?? '';
  const binary = argv0.split('/').pop() ?? argv0;
  const binaries = container.binaries ?? DEFAULT_BINARIES;
  if (!binaries.includes(binary)) return { stdout: '', stderr: '', status: notFoundStatus(argv0, containerId) };
  const result = container.outputs?.[argv.join(' ')] ?? simulate(container, argv);
  return { stdout: result.stdout ?? '', stderr: result.stderr ?? '', status: statusFor(argv, result.exitCode ?? 0) };
}
