// Watches a set of files for changes. It watches their folders, not the files: editors often
// save by writing a new file and renaming it over the old one, which a watch on the old file
// would miss. Events on other files of those folders (generated output written beside a
// spec, the temporaries of atomic writes) are ignored.

import { watch, type FSWatcher } from 'node:fs';
import { dirname, join } from 'node:path';

export class FileWatcher {
  private readonly folders = new Map<string, FSWatcher>();
  private files = new Set<string>();

  /** `onChange` gets the changed file (or the folder, when the system does not say which file). */
  constructor(private readonly onChange: (path: string) => void) {}

  /** Watches exactly `paths` (absolute) from now on. */
  set(paths: readonly string[]): void {
    this.files = new Set(paths);
    const wanted = new Set(paths.map((p) => dirname(p)));
    for (const [folder, watcher] of this.folders) {
      if (!wanted.has(folder)) {
        watcher.close();
        this.folders.delete(folder);
      }
    }
    for (const folder of wanted) if (!this.folders.has(folder)) this.watchFolder(folder);
  }

  close(): void {
    for (const watcher of this.folders.values()) watcher.close();
    this.folders.clear();
  }

  private watchFolder(folder: string): void {
    try {
      const watcher = watch(folder, (_event, name) => {
        const path = name ? join(folder, name.toString()) : folder;
        if (!name || this.files.has(path)) this.onChange(path);
      });
      // A folder that goes away ends its watcher; it is watched again at the next set().
      watcher.on('error', () => {
        watcher.close();
        if (this.folders.get(folder) === watcher) this.folders.delete(folder);
      });
      this.folders.set(folder, watcher);
    } catch {
      // A folder that does not exist (yet): the config names a spec that is missing, which
      // the run reports; the next set() tries again.
    }
  }
}
