// Compiles one workload's phic spec in a fresh process, as `phic compile` would ahead of time:
//   node dist/samples/bench/peers/phic-compile.js <workload dir> <result file>
// Measures compile() cold (the first compile of the process, lazy loading of the compiler
// included) and warm (the same spec again), and writes the generated module to
// <workload dir>/phic-module.mjs, which the phic peer imports: so the phic child runs the
// generated code alone, without the compiler in its process (and in its peak memory). The
// same spec compiled with --kernels js goes to phic-module-js.mjs (the phicjs peer).

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile } from '../../../src/index.js';
import { PHIC_JS_MODULE, PHIC_MODULE } from './paths.js';
import { compileOptionsOf, readWorkload, specOf } from './workloads.js';

export interface CompileReport {
  /** The SIMD kernels the default module calls (gemv, gemvT, ger, gemm). */
  kernels: string[];
  compileMs: { cold: number; warm: number };
  generatedBytes: number;
  /** The module computes loop invariants once per call (its invariants() is not empty). */
  hoistedInvariants: boolean;
  /** Its one-direction forward sweep forms the tangents of the hoisted invariants once (a tangentInvariants() segment). */
  sweptTangent: boolean;
}

async function main(): Promise<void> {
  const [dir, outFile] = process.argv.slice(2);
  if (!dir || !outFile) throw new Error('usage: phic-compile.js <workload dir> <result file>');
  const { meta } = readWorkload(dir);
  const spec = specOf(meta);
  const options = { ...compileOptionsOf(meta), sourceName: `samples/bench/peers (${meta.id})` };
  let t0 = performance.now();
  await compile(spec, options);
  const cold = performance.now() - t0;
  t0 = performance.now();
  const compiled = await compile(spec, options);
  const warm = performance.now() - t0;
  const code = compiled.files.find((f) => f.name.endsWith('.js'))?.contents;
  if (!code) throw new Error(`compile() returned no .js file (files: ${compiled.files.map((f) => f.name).join(', ')})`);
  writeFileSync(join(dir, PHIC_MODULE), code);
  const plain = (await compile(spec, { ...options, kernels: 'js' })).files.find((f) => f.name.endsWith('.js'))!.contents;
  writeFileSync(join(dir, PHIC_JS_MODULE), plain);
  const kernels = [...new Set([...code.matchAll(/kernels\.(gemv|gemvT|ger|gemm)\(/g)].map((m) => m[1]!))].sort();
  const report: CompileReport = { kernels, compileMs: { cold, warm }, generatedBytes: code.length, hoistedInvariants: !/function invariants\([^)]*\) \{\s*\}/.test(code), sweptTangent: /function tangentInvariants\(/.test(code) };
  writeFileSync(outFile, JSON.stringify(report, null, 1));
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`phic compile failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
