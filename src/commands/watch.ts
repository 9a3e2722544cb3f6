// `phic generate --watch`: generates, then again after every change to the config or to a
// spec it lists, until stopped (io.signal, else SIGINT or SIGTERM; then exit 0). A bad config
// or spec is reported in the usual one-line form and the watch goes on; the files stay as the
// last good run left them. Changes that arrive during a run start one more run after it. Each
// run re-reads the config, so added or removed specs are watched from then on.

import { relative } from 'node:path';
import { loadConfig } from '../config/read-config.js';
import { stopSignal, type CliIo } from '../cli-io.js';
import { reportError } from '../report-error.js';
import { FileWatcher } from '../watch/file-watcher.js';
import { generateFrom } from './generate.js';

/** Bursts of events (an editor's save is several) are gathered for this long into one run. */
const SETTLE_MS = 50;

export async function watchConfig(configPath: string, io: CliIo): Promise<void> {
  const { signal, dispose } = stopSignal(io);
  let inputs: string[] = [];
  let running: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;

  const run = async (reason?: string): Promise<void> => {
    if (reason) io.stderr(`phic: ${relative(io.cwd, reason) || reason} changed: generating\n`);
    try {
      const config = await loadConfig(configPath, io.cwd);
      // The watch is updated before writing, so a change made once the output appears is seen.
      inputs = [configPath, ...new Set(config.targets.map((t) => t.specPath))];
      watcher.set(inputs);
      await generateFrom(config, io);
    } catch (e) {
      // A config that cannot be read: keep watching what the last good one listed.
      if (inputs.length === 0) inputs = [configPath];
      watcher.set(inputs);
      reportError(e, io);
    }
    io.stderr(`phic: watching ${inputs.length} files for changes (Ctrl-C to stop)\n`);
  };
  const start = (reason?: string) => {
    running = run(reason).finally(() => {
      running = undefined;
      if (again && !signal.aborted) {
        again = false;
        start();
      }
    });
  };
  const watcher = new FileWatcher((path) => {
    if (signal.aborted) return;
    clearTimeout(timer);
    timer = setTimeout(() => (running ? (again = true) : start(path)), SETTLE_MS);
  });

  start();
  await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
  clearTimeout(timer);
  watcher.close();
  dispose();
  await running; // a run that was under way finishes its writes
}
