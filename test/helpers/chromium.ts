// Test helper: Debian's Chromium driven by playwright-core (headless, software rendering, no
// network but localhost), and a tiny static server for a folder or for in-memory files.
// Tests skip loudly where chromium is absent, except in CI (CI=true), where they must run.

import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
const inCi = process.env.CI === 'true';
export const chromiumAvailable = existsSync(CHROMIUM);
/** Whether a chromium suite is skipped here (chromium missing, not in CI). */
export const skipChromium = !chromiumAvailable && !inCi;

/** Chromium's start, a page load and a page's work: seconds when idle, far more on a loaded machine. */
export const BROWSER_TIMEOUT = 120_000;

export function warnIfSkipped(what: string): void {
  if (skipChromium) console.warn(`\n*** ${what} SKIPPED: ${CHROMIUM} is missing (apt-get install chromium). CI installs it and runs this test.\n`);
}

/** Flags for a quiet, sandbox-free headless chromium that talks to nothing but localhost. */
const FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  // With --disable-gpu, WebGL needs the software rasteriser allowed explicitly.
  '--enable-unsafe-swiftshader',
  // The playground is opened from file:// and loads its scripts next to it.
  '--allow-file-access-from-files',
];

export interface Browser {
  readonly page: Page;
  close(): Promise<void>;
}

/** Starts chromium with a fresh profile and one page; close() removes the profile. */
export async function launchChromium(): Promise<Browser> {
  if (!chromiumAvailable) throw new Error(`${CHROMIUM} is missing: CI must install chromium (apt-get install chromium)`);
  const userDataDir = mkdtempSync(join(tmpdir(), 'phic-chromium-'));
  const { chromium } = await import('playwright-core');
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: FLAGS, timeout: BROWSER_TIMEOUT, viewport: { width: 1200, height: 900 } });
  } catch (err) {
    rmSync(userDataDir, { recursive: true, force: true });
    throw err;
  }
  context.setDefaultTimeout(BROWSER_TIMEOUT);
  const page = await context.newPage();
  return {
    page,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.json': 'application/json', '.png': 'image/png' };

export interface Served {
  readonly url: string;
  close(): Promise<void>;
}

/** Serves in-memory files (by URL path, '/' for the page) or a folder on 127.0.0.1, an ephemeral port. */
export async function serve(files: Readonly<Record<string, string | Uint8Array>> | string): Promise<Served> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let body: string | Uint8Array | undefined;
    let type = TYPES[extname(path)] ?? (path === '/' ? 'text/html' : 'application/octet-stream');
    if (typeof files === 'string') {
      const file = join(files, normalize(path === '/' ? '/index.html' : path));
      if (file.startsWith(files) && existsSync(file) && statSync(file).isFile()) body = readFileSync(file);
      if (path === '/') type = 'text/html';
    } else body = files[path];
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { 'content-type': type }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
