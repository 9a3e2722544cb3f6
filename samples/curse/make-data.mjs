// Writes the data of the curse-of-unrolling demo: least squares 0.5‖Ax − b‖² with m = 20,
// n = 10, A ~ U[0,1), b ~ N(0,1) and a random start x0 ~ N(0,1), from phic's seeded
// generator (run `npm run build` first). Prints L, μ and the steps 2/(L+μ) and 1/L, and writes
// data.json plus two variants of lsq.phi.json: lsq-optimal.phi.json (alpha = 2/(L+μ), where
// the curse shows) and lsq-small-step.phi.json (alpha = 1/L, where it does not).
//
//   node samples/curse/make-data.mjs [seed]
//   node dist/src/cli.js curse samples/curse/lsq-optimal.phi.json --data samples/curse/data.json -K 400
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EigenvalueDecomposition, Matrix } from 'ml-matrix';
import { randomGenerator } from '../../dist/runtime/reference.js';

const here = dirname(fileURLToPath(import.meta.url));
const seed = Number(process.argv[2] ?? 3);
const m = 20;
const n = 10;

const rng = randomGenerator(seed);
const A = Array.from({ length: m }, () => Array.from({ length: n }, () => rng.uniform()));
const b = Array.from({ length: m }, () => rng.normal());
const x0 = Array.from({ length: n }, () => rng.normal());

const H = new Matrix(A).transpose().mmul(new Matrix(A));
const eigen = new EigenvalueDecomposition(H, { assumeSymmetric: true }).realEigenvalues;
const L = Math.max(...eigen);
const mu = Math.min(...eigen);
const optimal = 2 / (L + mu);
const small = 1 / L;

const row = (r) => JSON.stringify(r);
const text = `{\n "A": [\n  ${A.map(row).join(',\n  ')}\n ],\n "b": ${row(b)},\n "x0": { "x": ${row(x0)} }\n}\n`;
writeFileSync(join(here, 'data.json'), text);
const base = JSON.parse(readFileSync(join(here, 'lsq.phi.json'), 'utf8'));
const variant = (name, alpha) => writeFileSync(join(here, name), JSON.stringify({ ...base, constants: { ...base.constants, alpha } }, null, 2) + '\n');
variant('lsq-optimal.phi.json', optimal);
variant('lsq-small-step.phi.json', small);

console.log(`seed ${seed}: m = ${m}, n = ${n}, L = ${L}, mu = ${mu}, kappa = ${L / mu}`);
console.log(`optimal step 2/(L+mu) = ${optimal} (rate ${(L - mu) / (L + mu)})`);
console.log(`small step 1/L = ${small} (rate ${1 - mu / L})`);
console.log('wrote data.json, lsq-optimal.phi.json, lsq-small-step.phi.json');
