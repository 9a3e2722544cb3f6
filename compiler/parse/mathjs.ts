// mathjs' formula parser, loaded on first use. In Node it is required lazily (mathjs takes a
// while to load, and its number build parses the same syntax in half the time of the full
// one), through process.getBuiltinModule so that this file imports no node: module. A browser
// bundle has no require: its entry point (src/browser.ts) imports mathjs and provides the
// parser before compiling.

import type { MathNode } from 'mathjs';

type Parse = (text: string) => MathNode;
let parse: Parse | undefined;

/** Gives the compiler mathjs' parse (the browser entry point does, from its own import). */
export function provideMathParse(fn: Parse): void {
  parse = fn;
}

export function mathParse(text: string): MathNode {
  return (parse ??= requireMathjs().parse)(text);
}

function requireMathjs(): typeof import('mathjs') {
  const module = globalThis.process?.getBuiltinModule?.('node:module');
  if (!module) throw new Error('phic: mathjs is not loaded here (outside Node, compile through phic/browser, which provides it)');
  return module.createRequire(import.meta.url)('mathjs/number') as typeof import('mathjs');
}
