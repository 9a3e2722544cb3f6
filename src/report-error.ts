// How a command's failure reaches the user: the exit code scripts rely on and one stderr line
// that starts with `phic: `. User mistakes never print a stack; internal errors (bugs) do,
// and ask to be reported. Exit codes: 0 success, 1 spec, data or numeric errors (and stale
// files for `generate --check`), 2 usage and config errors, 3 internal errors.

import { CommanderError } from 'commander';
import { PhicError } from '../compiler/errors.js';
import type { CliIo } from './cli-io.js';

/** Ends a command with an exit code, its messages already printed (`generate --check`). */
export class CommandExit {
  constructor(readonly code: number) {}
}

/** The exit code and the one stderr line for an error a command threw. */
export function reportError(e: unknown, io: Pick<CliIo, 'stderr'>): number {
  if (e instanceof CommandExit) return e.code;
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
  if (e instanceof PhicError) {
    io.stderr(`phic: ${e.format()}\n`);
    return e.exitCode;
  }
  const err = e as Error & { category?: string };
  if (err?.name === 'PhicError' && err.category) {
    // Raised by generated code: bad data, non-finite iterates, or an engine it cannot run in.
    io.stderr(`phic: ${err.category} error: ${err.message}\n`);
    return err.category === 'usage' ? 2 : 1;
  }
  if (err instanceof RangeError && /allocation failed|Invalid (typed )?array (buffer )?length|Out of memory|WebAssembly\.Memory/i.test(err.message)) {
    io.stderr(`phic: data error: cannot allocate the buffers this run needs (${err.message}): use smaller sizes\n`);
    return 1;
  }
  io.stderr(`phic: internal error (please report): ${err?.stack ?? String(e)}\n`);
  return 3;
}
