// Writes workloads' data and meta.json in a process of its own, so that the orchestrator's
// resident set stays small: Linux keeps a process's peak resident set across exec, so a child
// spawned by an orchestrator that once held the n = 4000 matrix would report that peak as its own.
//   node dist/samples/bench/peers/write-data.js <dir> <workload id>...

import { join } from 'node:path';
import { defById, generate, writeWorkload } from './workloads.js';

const [dir, ...ids] = process.argv.slice(2);
if (!dir || !ids.length) throw new Error('usage: write-data.js <dir> <workload id>...');
for (const id of ids) {
  const { meta, arrays } = generate(defById(id));
  writeWorkload(join(dir, id), meta, arrays);
}
