// Writes data.json for the MAML sample (seeded, so reruns give the same file): one sine-wave
// regression task, y = amplitude · sin(t + phase), with m training points (X, y) for the inner
// loop and q validation points (Xv, yv) for the outer loss, the inner step size alpha, and x0: the meta-parameters the inner loop
// starts from (a 1-8-1 tanh MLP).
// Run: npm run build && node samples/maml/make-data.mjs
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomGenerator } from 'phic/runtime';

const rng = randomGenerator(20261204);
const [m, q, h] = [10, 10, 8];
const [amplitude, phase] = [1 + 2 * rng.uniform(), Math.PI * rng.uniform()];
const round = (v) => Math.round(v * 1e6) / 1e6;
const points = (count) => Array.from({ length: count }, () => round(-5 + 10 * rng.uniform()));
const task = (count) => {
  const t = points(count);
  return { X: t.map((v) => [v]), y: t.map((v) => round(amplitude * Math.sin(v + phase))) };
};
const train = task(m);
const valid = task(q);

const data = {
  alpha: 0.01,
  X: train.X, y: train.y,
  Xv: valid.X, yv: valid.y,
  x0: {
    W1: Array.from({ length: h }, () => [round(0.8 * rng.normal())]),
    b1: Array.from({ length: h }, () => round(2 * rng.uniform() - 1)),
    w2: Array.from({ length: h }, () => round(0.5 * rng.normal())),
    b2: 0,
  },
};
const out = join(dirname(fileURLToPath(import.meta.url)), 'data.json');
// one line per input, x0's components included, so the file reads as the inputs it holds
const lines = (o, pad) => Object.entries(o).map(([k, v]) => `${pad}${JSON.stringify(k)}: ${k === 'x0' ? `{\n${lines(v, pad + '  ')}\n${pad}}` : JSON.stringify(v)}`).join(',\n');
writeFileSync(out, `{\n${lines(data, '  ')}\n}\n`);
console.log(`wrote ${out}: amplitude ${amplitude.toFixed(3)}, phase ${phase.toFixed(3)}`);
