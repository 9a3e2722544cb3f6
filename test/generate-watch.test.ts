// `phic generate --watch`: regenerates after a change to a spec or to the config, reports a bad
// spec in one line and goes on watching (the files stay as the last good run left them), picks
// up the fix, and stops cleanly with exit 0 (in-process through an AbortSignal; in a child
// process on SIGINT) leaving no temporaries. The test waits for files and messages by polling
// with generous deadlines, never on timings.

import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, STACK_TRACE, removeTempDirs, requireBuiltCli, tempDir } from './helpers/cli.js';

afterAll(() => removeTempDirs());

const LSQ = readFileSync(join(ROOT, 'samples', 'curse', 'lsq.phi.json'), 'utf8');
const CONFIG = { K: 20, out: 'generated', generate: [{ spec: 'specs/lsq.phi.json' }] };

function project(): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'specs'));
  writeFileSync(join(dir, 'specs', 'lsq.phi.json'), LSQ);
  writeFileSync(join(dir, 'phic.config.json'), JSON.stringify(CONFIG));
  return dir;
}

const read = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
};

/** Polls until `ready()` is true; fails with `what` after the deadline (a hang, not a timing). */
async function until(what: string, ready: () => boolean, deadlineMs = 60_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!ready()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const temporaries = (dir: string) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.tmp'));

describe('phic generate --watch', () => {
  it('regenerates on change, survives a bad spec, picks up the fix, and stops with exit 0', async () => {
    const dir = project();
    const out = join(dir, 'generated', 'lsq.js');
    const { runCli } = await import('../src/cli.js');
    const stop = new AbortController();
    let stderr = '';
    const exit = runCli(['generate', '--watch'], { cwd: dir, stdout: () => {}, stderr: (t) => void (stderr += t), signal: stop.signal });
    try {
      await until('the first run', () => /watching 2 files/.test(stderr) && read(out) !== undefined);
      expect(read(out)).toContain('const K = 20;');

      writeFileSync(join(dir, 'phic.config.json'), JSON.stringify({ ...CONFIG, K: 30 }));
      await until('the config change', () => read(out)?.includes('const K = 30;') === true);

      const beforeBad = read(out);
      const marker = stderr.length;
      writeFileSync(join(dir, 'specs', 'lsq.phi.json'), LSQ.replace('"state"', '"stat"'));
      await until('the spec error', () => /spec error/.test(stderr.slice(marker)) && /watching/.test(stderr.slice(stderr.indexOf('spec error', marker))));
      const line = stderr.slice(marker).split('\n').find((l) => l.includes('spec error'))!;
      expect(line).toMatch(/^phic: specs\/lsq\.phi\.json:\d+:\d+: spec error/);
      expect(stderr).not.toMatch(STACK_TRACE);
      expect(read(out)).toBe(beforeBad);

      writeFileSync(join(dir, 'specs', 'lsq.phi.json'), LSQ.replace(/"name":\s*"lsq"/, '"name": "lsq2"'));
      await until('the fixed spec', () => read(join(dir, 'generated', 'lsq2.js')) !== undefined);
      expect(read(join(dir, 'generated', 'lsq2.js'))).toContain('const K = 30;');
    } finally {
      stop.abort();
    }
    expect(await exit).toBe(0);
    expect(temporaries(dir)).toEqual([]);
  });

  it('the built CLI stops on SIGINT with exit 0 and no temporaries', async () => {
    requireBuiltCli();
    const dir = project();
    const child = spawn(process.execPath, [CLI, 'generate', '--watch'], { cwd: dir, env: { ...process.env, NODE_OPTIONS: '' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await until('the first run', () => /watching 2 files/.test(stderr));
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited, stderr).toBe(0);
    expect(read(join(dir, 'generated', 'lsq.js'))).toContain('const K = 20;');
    expect(temporaries(dir)).toEqual([]);
  });
});
