// Compiles every sample with the phic CLI into samples/<name>/generated/ (dims fit each data.json).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);
const cli = join(root, 'dist', 'src', 'cli.js');

/** Per sample: iterations K, truncation index t and the dims of its data.json. */
export const SAMPLES = [
  { name: 'ridge', K: 100, truncate: 0, dims: 'm=8,n=4' },
  { name: 'least_squares', K: 200, truncate: 0, dims: 'm=6,n=3' },
  { name: 'heavy_ball', K: 150, truncate: 0, dims: 'n=4' },
  { name: 'logistic', K: 300, truncate: 0, dims: 'm=12,n=3' },
  { name: 'pseudo_huber', K: 400, truncate: 0, dims: 'm=10,n=2' },
  { name: 'tanh_layer', K: 200, truncate: 120, dims: 'n=5,p=3' },
  { name: 'softmax_regression', K: 100, truncate: 0, dims: 'm=12,d=4,c=3,v=9' },
  { name: 'svm', K: 100, truncate: 0, dims: 'm=16,n=4' },
  { name: 'ista', K: 100, truncate: 0, dims: 'm=10,n=6' },
  { name: 'sinkhorn', K: 300, truncate: 0, dims: 'n=5,m=4' },
  { name: 'gd_schedule', K: 100, truncate: 0, dims: 'm=10,n=4' },
  { name: 'fista', K: 100, truncate: 0, dims: 'm=10,n=6' },
  { name: 'hyper_cleaning', K: 40, truncate: 0, dims: 'B=4,b=5,d=3,v=12' },
  { name: 'maml', K: 5, truncate: 0, dims: 'm=10,d=1,h=8,q=10' },
  { name: 'newton', K: 60, truncate: 0, dims: 'm=16,n=3' },
  { name: 'logistic_bilevel', K: 40, truncate: 0, dims: 'm=40,n=8,v=60' },
];

export function buildSamples() {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
  for (const s of SAMPLES) {
    const spec = join('samples', s.name, `${s.name}.phi.ts`);
    const out = join('samples', s.name, 'generated');
    const args = [cli, 'compile', spec, '--mode', 'both', '-K', String(s.K), '--truncate', String(s.truncate), '--dims', s.dims, '-o', out];
    const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`phic compile ${spec} failed (exit ${r.status}):\n${r.stderr}`);
    console.log(`compiled ${spec} -> ${out}/ (K=${s.K}, truncate=${s.truncate}, ${s.dims})`);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) buildSamples();
