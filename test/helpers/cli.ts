// Test helper: runs the CLI in-process (`runCli` from src/cli.ts, fast, for most cases) or
// the built CLI (`node dist/src/cli.js`) in a child process (smoke tests), and makes temp folders.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The compiled CLI entry point (run `npm run build` first). */
export const CLI = join(ROOT, 'dist', 'src', 'cli.js');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Fails with a clear message when dist/ has not been built. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` before the CLI tests`);
}

/** Runs `node dist/src/cli.js ...args` synchronously (cwd defaults to the repository root). */
export function runCli(args: readonly string[], options: { cwd?: string; timeout?: number } = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: options.cwd ?? ROOT,
    encoding: 'utf8',
    timeout: options.timeout ?? 60_000,
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Runs `phic ...args` in this process through `runCli`, with stdout and stderr captured
 * (cwd defaults to the repository root; the process's own folder is never used or changed).
 */
export async function cli(args: readonly string[], options: { cwd?: string } = {}): Promise<CliResult> {
  // Loaded on first use, so test files that only need ROOT or tempDir do not load the CLI.
  const { runCli: runCliInProcess } = await import('../../src/cli.js');
  let stdout = '';
  let stderr = '';
  const status = await runCliInProcess(args, {
    cwd: options.cwd ?? ROOT,
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
  });
  return { status, stdout, stderr };
}

const created: string[] = [];

/** A fresh, empty folder under the OS temp folder (removed by `removeTempDirs`). */
export function tempDir(prefix = 'phic-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

/** Removes every folder `tempDir` made in this process (call it from afterAll). */
export function removeTempDirs(): void {
  for (const dir of created.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Every entry of a folder (empty when it does not exist). */
export function listDir(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** A stack-trace line such as `at foo (/x/y.js:12:3)`: user errors must never print one. */
export const STACK_TRACE = /at .*\.js:\d+/;
