// Assembles kernels.wat into the bytes every generated CPU module embeds, and (run as
// `npm run kernels`) rewrites kernels-binary.ts with them. wabt is a development dependency:
// the compiler itself only ships the bytes, and a test checks they match the text. The bytes
// keep the function names, so profiles show gemv, gemm, ... rather than wasm-function[n].

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../package-root.js';

export const KERNELS_WAT = 'compiler/codegen/wasm/kernels.wat';
const BINARY_TS = 'compiler/codegen/wasm/kernels-binary.ts';

export async function assembleKernels(): Promise<Uint8Array> {
  const { default: wabtInit } = await import('wabt');
  const wabt = await wabtInit();
  const module = wabt.parseWat(KERNELS_WAT, readFileSync(join(packageRoot(), KERNELS_WAT), 'utf8'), { simd: true });
  try {
    module.validate();
    return Uint8Array.from(module.toBinary({ write_debug_names: true }).buffer);
  } finally {
    module.destroy();
  }
}

/** The TypeScript file that carries the bytes, as base64 in lines of 100 characters. */
export function binaryModuleText(bytes: Uint8Array): string {
  const lines = Buffer.from(bytes).toString('base64').match(/.{1,100}/g) ?? [];
  return [
    `// Generated from ${KERNELS_WAT} by \`npm run kernels\`. DO NOT EDIT.`,
    '// The WebAssembly SIMD kernels every generated CPU module embeds, as base64.',
    '',
    'export const KERNELS_BASE64 =',
    lines.map((l) => `  '${l}'`).join(' +\n') + ';',
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bytes = await assembleKernels();
  writeFileSync(join(packageRoot(), BINARY_TS), binaryModuleText(bytes));
  process.stderr.write(`wrote ${BINARY_TS} (${bytes.length} bytes of WebAssembly)\n`);
}
