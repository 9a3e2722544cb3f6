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

/** The kernels, importing a plain memory (shareMemory makes the variant that worker threads share). */
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

/**
 * The same module importing a shared memory: the import's limits `min 1` become `shared, min 1,
 * max 65536` (a shared memory needs a maximum; this one is the whole 32-bit space, reserved,
 * not allocated). wabt's text parser does not take the threads feature, so the bytes are edited.
 */
export function shareMemory(bytes: Uint8Array): Uint8Array {
  const plainImport = [...Buffer.from('\x06memory'), 0x02, 0x00, 0x01];
  const sharedImport = [...Buffer.from('\x06memory'), 0x02, 0x03, 0x01, 0x80, 0x80, 0x04];
  const importSection = 2;
  let at = 8; // after the magic number and the version
  while (at < bytes.length) {
    const id = bytes[at]!;
    const [size, sizeBytes] = readLeb(bytes, at + 1);
    const body = at + 1 + sizeBytes;
    if (id === importSection) {
      const content = Buffer.from(bytes.subarray(body, body + size));
      const found = content.indexOf(Buffer.from(plainImport));
      if (found < 0 || content.indexOf(Buffer.from(plainImport), found + 1) >= 0) break;
      const edited = Buffer.concat([content.subarray(0, found), Buffer.from(sharedImport), content.subarray(found + plainImport.length)]);
      return Uint8Array.from([...bytes.subarray(0, at + 1), ...writeLeb(edited.length), ...edited, ...bytes.subarray(body + size)]);
    }
    at = body + size;
  }
  throw new Error(`${KERNELS_WAT}: no single import of a memory with limits "1" to make shared`);
}

function readLeb(bytes: Uint8Array, at: number): [value: number, length: number] {
  let value = 0;
  for (let i = 0; ; i++) {
    const byte = bytes[at + i]!;
    value |= (byte & 0x7f) << (7 * i);
    if (byte < 0x80) return [value, i + 1];
  }
}

function writeLeb(value: number): number[] {
  const out: number[] = [];
  do {
    const low = value & 0x7f;
    value >>>= 7;
    out.push(value ? low | 0x80 : low);
  } while (value);
  return out;
}

/** The TypeScript file that carries both variants' bytes, as base64 in lines of 100 characters. */
export function binaryModuleText(plain: Uint8Array, shared: Uint8Array): string {
  const constant = (name: string, bytes: Uint8Array) => {
    const lines = Buffer.from(bytes).toString('base64').match(/.{1,100}/g) ?? [];
    return [`export const ${name} =`, lines.map((l) => `  '${l}'`).join(' +\n') + ';'];
  };
  return [
    `// Generated from ${KERNELS_WAT} by \`npm run kernels\`. DO NOT EDIT.`,
    '// The WebAssembly SIMD kernels every generated CPU module embeds, as base64: importing a',
    '// plain memory, and importing a shared one (the same code, for worker threads).',
    '',
    ...constant('KERNELS_BASE64', plain),
    '',
    ...constant('KERNELS_SHARED_BASE64', shared),
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const plain = await assembleKernels();
  const shared = shareMemory(plain);
  writeFileSync(join(packageRoot(), BINARY_TS), binaryModuleText(plain, shared));
  process.stderr.write(`wrote ${BINARY_TS} (${plain.length} and ${shared.length} bytes of WebAssembly)\n`);
}
