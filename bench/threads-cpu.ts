/**
 * CPU time by thread of a process, for the benchmarks' "by thread" figures (Linux
 * `/proc/<pid>/task/<tid>/stat`: utime + stime, in 10 ms ticks; elsewhere undefined).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Each thread's CPU time so far, ms, keyed `tid:name`. `pid` defaults to this process. */
export function threadsCpu(pid: number | 'self' = 'self'): Map<string, number> | undefined {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const now = new Map<string, number>();
  for (const tid of tasks) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      // The fields after the parenthesised name start with the state (field 3); utime is 14, stime 15.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      now.set(`${tid}:${name}`, (Number(fields[11]) + Number(fields[12])) * 10);
    } catch {
      // The thread ended while we read.
    }
  }
  return now;
}

/** Node's thread names: the main thread, V8's helper threads, libuv's pool, worker threads. */
const KIND_OF: Record<string, string> = { 'node-MainThread': 'main', 'node-V8Worker': 'V8 helpers', 'libuv-worker': 'libuv pool', WorkerThread: 'worker threads' };

/**
 * The CPU spent between two readings by thread kind, ms (a thread that ended before `after` was
 * read is lost: read often when threads end). `kinds` names the kinds listed, in order.
 */
export function byThreadKind(before: Map<string, number> | undefined, after: Map<string, number> | undefined, kinds = ['main', 'V8 helpers', 'libuv pool']): Record<string, number> | undefined {
  if (!before || !after) return undefined;
  const out: Record<string, number> = Object.fromEntries([...kinds, 'other'].map((k) => [k, 0]));
  for (const [key, ms] of after) {
    const named = KIND_OF[key.slice(key.indexOf(':') + 1)];
    const kind = named && kinds.includes(named) ? named : 'other';
    out[kind] = (out[kind] ?? 0) + ms - (before.get(key) ?? 0);
  }
  return out;
}
