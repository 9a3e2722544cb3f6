// Test configuration: every suite under test/, run in forked processes (one fresh process per
// file: no state is shared between files, whichever worker runs them in whichever order).
//
// Workers: vitest's default is one fewer than the cores, which on a 2-core machine is a single
// worker, leaving a core idle while a file waits on its own child processes or worker threads.
//
// Timeouts are generous, for a loaded machine (tests and hooks that take a second on an idle
// machine have taken over ten on a busy 2-core one): they only catch hangs, and no test
// asserts on wall-clock time. Hooks that do heavy work set their own timeout as well.
import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
