/**
 * The fixed allow-list of read-only commands run in a container for volatile state. Nothing else
 * is ever executed: no shell, no arguments from the command line or the config. Each one only
 * reads (`/proc`, process and mount tables) so the container is disturbed as little as exec
 * allows; each is recorded in the ledger exactly as run before it runs.
 */

export interface VolatileCommand {
  /** Used in the evidence file name: `exec-<container>-<name>.out`. */
  name: string;
  argv: readonly string[];
  why: string;
}

export const VOLATILE_COMMANDS: readonly VolatileCommand[] = [
  { name: 'processes', argv: ['ps', '-o', 'pid,ppid,user,etime,args'], why: 'running processes with parents and elapsed time' },
  { name: 'net-tcp', argv: ['cat', '/proc/net/tcp'], why: 'IPv4 TCP sockets (listening and connected)' },
  { name: 'net-tcp6', argv: ['cat', '/proc/net/tcp6'], why: 'IPv6 TCP sockets' },
  { name: 'net-udp', argv: ['cat', '/proc/net/udp'], why: 'IPv4 UDP sockets' },
  { name: 'net-udp6', argv: ['cat', '/proc/net/udp6'], why: 'IPv6 UDP sockets' },
  { name: 'net-unix', argv: ['cat', '/proc/net/unix'], why: 'Unix domain sockets' },
  { name: 'mounts', argv: ['cat', '/proc/mounts'], why: 'mounted filesystems (volumes, host paths, secrets)' },
  { name: 'open-files-pid1', argv: ['ls', '-la', '/proc/1/fd'], why: "the main process's open files and sockets" },
  { name: 'cmdline-pid1', argv: ['cat', '/proc/1/cmdline'], why: "the main process's command line" },
  { name: 'identity', argv: ['id'], why: 'the user the container runs as' },
];

/**
 * Only with `--include-env`: the main process's environment often holds secrets (database
 * passwords, tokens), so it is collected only when the responder asks for it.
 */
export const ENVIRONMENT_COMMAND: VolatileCommand = {
  name: 'environ-pid1',
  argv: ['cat', '/proc/1/environ'],
  why: "the main process's environment variables (may hold secrets)",
};

/** The commands a run executes, in order. */
export function volatileCommands(includeEnv: boolean): readonly VolatileCommand[] {
  return includeEnv ? [...VOLATILE_COMMANDS, ENVIRONMENT_COMMAND] : VOLATILE_COMMANDS;
}
