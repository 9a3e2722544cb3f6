// What a CLI command sees of the world: the folder relative paths are resolved against and
// the two output streams. `runCli` passes one in, so a command never reads process.cwd()
// and tests can run it in-process; the bin passes the process's own.

import { resolve } from 'node:path';

export interface CliIo {
  /** Folder that relative paths given on the command line are resolved against. */
  readonly cwd: string;
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** True when stderr is a terminal (progress bars instead of plain lines). */
  readonly stderrIsTTY?: boolean;
  /** Stops a command that runs until stopped (`generate --watch`); without it, SIGINT and SIGTERM do. */
  readonly signal?: AbortSignal;
}

/** The process's own working folder and streams. */
export function processIo(): CliIo {
  return {
    cwd: process.cwd(),
    stdout: (text) => void process.stdout.write(text),
    stderr: (text) => void process.stderr.write(text),
    stderrIsTTY: !!process.stderr.isTTY,
  };
}

/** A path as the user typed it, made absolute against the command's folder. */
export const atCwd = (io: Pick<CliIo, 'cwd'>, path: string): string => resolve(io.cwd, path);

/** What stops a command that runs until stopped: the caller's signal, or SIGINT/SIGTERM for the process. */
export function stopSignal(io: CliIo): { signal: AbortSignal; dispose(): void } {
  if (io.signal) return { signal: io.signal, dispose() {} };
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return { signal: controller.signal, dispose: () => void (process.off('SIGINT', stop), process.off('SIGTERM', stop)) };
}
