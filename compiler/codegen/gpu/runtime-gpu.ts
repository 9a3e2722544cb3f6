// The host runtime every generated GPU module carries at top level (it imports nothing, so it
// runs in Node and in a browser page alike), as text: the typed functions of host/*.ts, each
// embedded by its own source text (Function.prototype.toString), after two constants printed
// from their values. The module's create() hands instantiate() its tables (KERNELS, SEGMENTS,
// STATE, PARAMS, DATA, OUTER, HELPERS, ...) and the JS runtime's helpers (fail, toFlat, ...).
//
// So the text runs on its own, the host functions use only each other, their parameters and
// standard globals: no imports at run time (they declare each other by type only) and nothing
// of a module's scope. The text is what the compiler that runs was built into (tsc's output in
// dist/, or the test runner's transform), with its indentation brought to two spaces.

import { BACKEND_BY_CLASS, CPU_BACKENDS, backendOf, checkFloat32, requireGpuMessage } from './host/backend.js';
import { instantiate, newHost } from './host/instantiate.js';
import { destroyInstance, runHypergradient, runIterate, runJacobianForward, runJacobianReverse, runJvp, runVjp } from './host/entries.js';
import { checkFinite, flatVectors, loadInputs, loadSeeds, loadState, report, x0Vectors } from './host/inputs.js';
import { countingExecutor, execute, runKernels, runPipeline } from './host/execute.js';
import { checkSize, kernelFor, probe, utilityKernel } from './host/kernel-cache.js';
import { GPU_HOST_CONSTANTS_TS, GPU_HOST_FUNCTIONS_TS, GPU_HOST_TYPES_TS } from './runtime-gpu-typed.generated.js';
import { bound, keep, program, runIterations, runOuter, runSegment, runStep, runSteps, setBuffer } from './host/program.js';

/**
 * The host functions, in reading order: from the backend checks and the instance down to the
 * program. By name (object shorthand keeps the source name): a bundler may rename a function
 * (esbuild does, as the other host functions' free references use its name), and the text must
 * use the source names, which those references and generated code use.
 */
const HOST_FUNCTIONS: Readonly<Record<string, (...args: never[]) => unknown>> = {
  backendOf, requireGpuMessage, checkFloat32,
  instantiate, newHost,
  runIterate, runJvp, runJacobianForward, runVjp, runJacobianReverse, runHypergradient, destroyInstance,
  loadInputs, loadState, loadSeeds, checkFinite, report, flatVectors, x0Vectors,
  execute, runPipeline, runKernels, countingExecutor,
  checkSize, kernelFor, utilityKernel, probe,
  program, setBuffer, keep, runSteps, runStep, runIterations, bound, runSegment, runOuter,
};

/** The constants the host functions read, printed from their values. */
const HOST_CONSTANTS: readonly (readonly [string, readonly string[] | Readonly<Record<string, string>>])[] = [
  ['CPU_BACKENDS', CPU_BACKENDS],
  ['BACKEND_BY_CLASS', BACKEND_BY_CLASS],
];

/** Bundled (names differ from the source): each renamed host function by its source name again. */
const RENAMED = Object.entries(HOST_FUNCTIONS).flatMap(([name, f]) => (f.name === name ? [] : [[new RegExp(`(?<![\\w$.])${f.name.replace(/\$/g, '\\$')}(?![\\w$])`, 'g'), name] as const]));
const sourceNames = (text: string) => RENAMED.reduce((t, [pattern, name]) => t.replace(pattern, name), text);

export const GPU_RUNTIME = [
  '// The host runtime (compiled from phic\'s compiler/codegen/gpu/host/*.ts).',
  HOST_CONSTANTS.map(([name, value]) => `const ${name} = ${literal(value)};`).join('\n'),
  ...Object.entries(HOST_FUNCTIONS).map(([name, f]) => sourceNames(functionText(name, f))),
].join('\n\n');

/**
 * GPU_RUNTIME for `--emit ts`: the same declarations as written in host/*.ts, typed (the types
 * they use, the browser globals they check, the constants, the functions in the same order),
 * from runtime-gpu-typed.generated.ts, which `npm run runtimes` reads from the sources.
 */
export const GPU_RUNTIME_TS = [
  '// The host runtime (phic\'s compiler/codegen/gpu/host/*.ts).',
  GPU_HOST_TYPES_TS,
  GPU_HOST_CONSTANTS_TS,
  ...Object.keys(HOST_FUNCTIONS).map((name) => {
    const text = GPU_HOST_FUNCTIONS_TS[name];
    if (text === undefined) throw new Error(`phic internal error: the GPU host function ${name} has no typed text (run npm run runtimes)`);
    return text;
  }),
].join('\n\n');

/** A function's own source text, at column 0, indented by two spaces a level. */
function functionText(name: string, f: (...args: never[]) => unknown): string {
  const text = f.toString();
  // A template literal may span lines, and re-indenting would change its value.
  if (!/^(?:async )?function /.test(text) || text.includes('`')) throw new Error(`phic internal error: the GPU host function ${name} cannot be embedded as text`);
  // tsc indents by four spaces, other transforms by a tab: two spaces per level either way
  return text.replace(/^[\t ]+/gm, (lead) => ' '.repeat(Math.floor(lead.replace(/\t/g, '    ').length / 2)));
}

/** A list of strings or an object of strings as a JavaScript literal. */
function literal(value: readonly string[] | Readonly<Record<string, string>>): string {
  const quote = (s: string) => `'${s}'`;
  if (Array.isArray(value)) return `[${value.map(quote).join(', ')}]`;
  return `{ ${Object.entries(value).map(([k, v]) => `${k}: ${quote(v)}`).join(', ')} }`;
}
