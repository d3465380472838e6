/** Runs the built `lockstep` command (dist/src/cli/main.js) in a child process and collects what it printed. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function lockstep(...args: string[]): Promise<Run> {
  return lockstepIn(undefined, ...args);
}

/** `lockstep` run from the directory `cwd` (the default: this process's). */
export function lockstepIn(cwd: string | undefined, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { maxBuffer: 64 << 20, cwd }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}
