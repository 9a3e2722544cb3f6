// `phic playground`: the playground page (docs/playground/ in the package: type a spec, see
// the generated code, run it, plot the curse, time CPU against GPU). Without --port it prints
// the page's path to open from a file; with --port it serves the folder on 127.0.0.1 (port 0:
// any free port) until stopped (io.signal, else SIGINT or SIGTERM; then exit 0), with gpu.js'
// browser build from the installed gpu.js when the folder has none (the package ships none).

import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../compiler/package-root.js';
import { usageError } from '../../compiler/errors.js';
import { stopSignal, type CliIo } from '../cli-io.js';

const TYPES: Readonly<Record<string, string>> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.png': 'image/png', '.css': 'text/css' };

/** The playground folder, built (its script is built by npm run playground:build, and shipped in the package). */
export function playgroundFolder(): string {
  const dir = join(packageRoot(), 'docs', 'playground');
  if (!existsSync(join(dir, 'build', 'playground.js'))) throw usageError(`the playground is not built (${join('docs', 'playground', 'build', 'playground.js')} is missing): run npm run playground:build in phic's folder`);
  return dir;
}

/** Where the page loads gpu.js' browser build from: built beside it in a checkout; the package does not ship a copy. */
const GPU_JS = '/build/gpu-browser.min.js';

/** gpu.js' browser build from the installed gpu.js (an optional peer), if any. */
function installedGpuJs(): string | undefined {
  try {
    const file = join(dirname(createRequire(import.meta.url).resolve('gpu.js/package.json')), 'dist', 'gpu-browser.min.js');
    return existsSync(file) ? file : undefined;
  } catch {
    return undefined;
  }
}

export async function playgroundCommand(options: { port?: number }, io: CliIo): Promise<void> {
  const dir = playgroundFolder();
  const page = join(dir, 'index.html');
  if (options.port === undefined) {
    io.stdout(`${pathToFileURL(page).href}\nopen it in a browser, or serve it with phic playground --port <n>\n`);
    return;
  }
  if (options.port < 0 || options.port > 65535) throw usageError(`--port must be between 0 and 65535, got ${options.port}`);
  const gpuJs = installedGpuJs();
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    let file = resolve(dir, `.${path === '/' ? '/index.html' : path}`);
    if (path === GPU_JS && !existsSync(file) && gpuJs) file = gpuJs;
    if ((file !== gpuJs && file !== dir && !file.startsWith(dir + sep)) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  const { signal, dispose } = stopSignal(io);
  try {
    await new Promise<void>((ok, fail) => {
      server.once('error', (err: NodeJS.ErrnoException) => fail(err.code === 'EADDRINUSE' ? usageError(`--port ${options.port} is in use`) : err));
      server.listen(options.port, '127.0.0.1', ok);
    });
    io.stdout(`serving the playground at http://127.0.0.1:${(server.address() as AddressInfo).port}/ (Ctrl-C stops)\n`);
    await new Promise<void>((ok) => (signal.aborted ? ok() : signal.addEventListener('abort', () => ok(), { once: true })));
  } finally {
    server.closeAllConnections();
    await new Promise<void>((ok) => (server.listening ? server.close(() => ok()) : ok()));
    dispose();
  }
}
