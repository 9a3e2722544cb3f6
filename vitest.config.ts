// Test configuration: every suite under test/, run in forked processes (one fresh process per
// file: no state is shared between files, whichever worker runs them in whichever order).
//
// Workers: vitest's default is one fewer than the cores, which on a 2-core machine is a single
// worker, leaving a core idle while a file waits on its own child processes or worker threads.
//
// Timeouts are generous, for a loaded machine (tests and hooks that take a second on an idle
// machine have taken over ten on a busy 2-core one): they only catch hangs, and no test
// asserts on wall-clock time. Hooks that do heavy work set their own timeout as well.
import { availableParallelism } from 'node:os';
import ts from 'typescript';
import { defineConfig, type Plugin } from 'vitest/config';

const GPU_HOST = /\/compiler\/codegen\/gpu\/host\/[\w-]+\.ts$/;

/**
 * The GPU module's host runtime (compiler/codegen/gpu/host/*.ts) reaches generated modules as
 * its functions' own source text (Function.prototype.toString). Under test, those files are
 * compiled by TypeScript as tsc compiles them into dist/, and each function's toString gives
 * tsc's text, not the text vite's module runner executes (it adds a ';' after every if and for
 * statement). Generated GPU modules, goldens included, are then the same under test as from
 * the built compiler; test/gpu-host.test.ts checks that against dist/.
 */
function gpuHostAsTscEmitsIt(): Plugin {
  return {
    name: 'phic-gpu-host-as-tsc-emits-it',
    enforce: 'pre',
    transform(code, id) {
      if (!GPU_HOST.test(id)) return null;
      const out = ts.transpileModule(code, {
        fileName: id,
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true, sourceMap: true },
      });
      const js = out.outputText.replace(/\n\/\/# sourceMappingURL=.*$/, '');
      const file = ts.createSourceFile(id, js, ts.ScriptTarget.ES2022);
      const texts = file.statements
        .filter((s): s is ts.FunctionDeclaration => ts.isFunctionDeclaration(s) && s.name !== undefined)
        .map((s) => `[${s.name!.text}, ${JSON.stringify(js.slice(s.getStart(file), s.end).replace(/^export\s+/, ''))}]`);
      const appendix = `\nfor (const [f, text] of [${texts.join(', ')}]) Object.defineProperty(f, 'toString', { value: () => text });\n`;
      return { code: js + appendix, map: out.sourceMapText };
    },
  };
}

export default defineConfig({
  plugins: [gpuHostAsTscEmitsIt()],
  oxc: { exclude: [GPU_HOST] },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    maxWorkers: Math.max(2, availableParallelism() - 1),
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
