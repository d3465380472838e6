/** A `lockstep worker` child process whose output lines a test can wait for. */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI } from './cli.js';

export interface WorkerProcess {
  child: ChildProcess;
  log: string[];
  /** Resolves with the first line (seen or still to come) matching `re`; rejects if the worker exits first. */
  waitFor(re: RegExp): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

/** Starts `lockstep worker` with `args`; the caller kills it (every child is in `children`). */
export function startWorkerProcess(
  args: string[],
  children: ChildProcess[],
  env: Record<string, string> = {},
): WorkerProcess {
  const child = spawn(process.execPath, [CLI, 'worker', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const log: string[] = [];
  const waiters: { re: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  let buffered = '';
  const onText = (b: Buffer) => {
    buffered += b.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      log.push(line);
      for (const w of [...waiters]) {
        const m = line.match(w.re);
        if (m) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(m);
        }
      }
    }
  };
  child.stdout!.on('data', onText);
  child.stderr!.on('data', onText);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    log,
    exited,
    waitFor(re) {
      const seen = log.map((l) => l.match(re)).find((m) => m);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ re, resolve });
        void exited.then((code) =>
          reject(new Error(`the worker exited (${code}) before printing ${re}:\n${log.join('\n')}`)),
        );
      });
    },
  };
}
