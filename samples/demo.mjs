// The demo (`npm run demo`): builds phic if needed, compiles every sample, then runs each main.mjs.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);

const run = (args, what) => {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`demo: ${what} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
};

// `npm install` builds dist/ through the prepare script; build it here when it is missing.
if (!existsSync(join(root, 'dist', 'src', 'cli.js'))) {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  run([tsc, '-p', 'tsconfig.json'], 'building phic');
}

run([join(here, 'build.mjs')], 'compiling the samples');
const { SAMPLES } = await import('./build.mjs');
for (const s of SAMPLES) {
  console.log(`\n== ${s.name} ==`);
  run([join(here, s.name, 'main.mjs')], `samples/${s.name}/main.mjs`);
}
