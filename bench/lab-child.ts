/**
 * A bench lab in its own process (so the cloud's CPU does not count against the collector), and
 * the one way to wait for its typed IPC replies: resolves on the first message of that type,
 * rejects if the process exits first.
 */
import { fork, type ChildProcess } from 'node:child_process';

export interface LabChild {
  child: ChildProcess;
  next<T>(type: string): Promise<T>;
}

export function forkLab(script: URL, args: string[]): LabChild {
  const child = fork(script, args, {
    execArgv: ['--import', 'tsx', '--no-warnings'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: { type: string }) => {
        if (message.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message as T);
      };
      const onExit = (code: number | null) => reject(new Error(`the lab process exited (${code}) before answering ${type}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  return { child, next };
}
