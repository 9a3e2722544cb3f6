// Assembles kernels.wat into the bytes every generated CPU module embeds, and kernels-paired.wat
// into those of the modules that call the paired kernel, and (run as `npm run kernels`)
// rewrites kernels-binary.ts with them: the plain SIMD build, and the relaxed-SIMD build with
// every multiply-add fused (fuse-wat.ts), each importing a plain and a shared memory. wabt is
// a development dependency:
// the compiler itself only ships the bytes, and a test checks they match the text. The bytes
// keep the function names, so profiles show gemv, gemm, ... rather than wasm-function[n], but
// not the local names, which would take each build past 4 kB (see runtime-kernels.ts).

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../package-root.js';
import { fuseMultiplyAdds } from './fuse-wat.js';

export const KERNELS_WAT = 'compiler/codegen/wasm/kernels.wat';
export const PAIRED_WAT = 'compiler/codegen/wasm/kernels-paired.wat';
const BINARY_TS = 'compiler/codegen/wasm/kernels-binary.ts';

/** Which build: plain SIMD (f64x2.add of f64x2.mul) or relaxed SIMD (f64x2.relaxed_madd). */
export type KernelBuild = 'simd' | 'relaxed';

/** The kernels of `file`, importing a plain memory (shareMemory makes the variant that worker threads share). */
export async function assembleKernels(build: KernelBuild = 'simd', file = KERNELS_WAT): Promise<Uint8Array> {
  const { default: wabtInit } = await import('wabt');
  const wabt = await wabtInit();
  const text = readFileSync(join(packageRoot(), file), 'utf8');
  const source = build === 'relaxed' ? fuseMultiplyAdds(text) : text;
  const module = wabt.parseWat(file, source, { simd: true, relaxed_simd: build === 'relaxed' });
  try {
    module.validate();
    return withoutLocalNames(Uint8Array.from(module.toBinary({ write_debug_names: true }).buffer));
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

/** The bytes with the local-names subsection (id 2) of the custom "name" section left out. */
export function withoutLocalNames(bytes: Uint8Array): Uint8Array {
  const title = [...Buffer.from('\x04name')];
  let at = 8;
  while (at < bytes.length) {
    const id = bytes[at]!;
    const [size, sizeBytes] = readLeb(bytes, at + 1);
    const body = at + 1 + sizeBytes;
    if (id === 0 && title.every((b, i) => bytes[body + i] === b)) {
      const kept: number[] = [...title];
      let sub = body + title.length;
      while (sub < body + size) {
        const [subSize, subSizeBytes] = readLeb(bytes, sub + 1);
        const end = sub + 1 + subSizeBytes + subSize;
        if (bytes[sub] !== 2) kept.push(...bytes.subarray(sub, end));
        sub = end;
      }
      return Uint8Array.from([...bytes.subarray(0, at + 1), ...writeLeb(kept.length), ...kept, ...bytes.subarray(body + size)]);
    }
    at = body + size;
  }
  return bytes;
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

/** A kernel file's four builds: plain and relaxed SIMD, each importing a plain and a shared memory. */
export interface KernelBuilds {
  readonly plain: Uint8Array;
  readonly shared: Uint8Array;
  readonly relaxed: Uint8Array;
  readonly relaxedShared: Uint8Array;
}

export async function assembleBuilds(file: string): Promise<KernelBuilds> {
  const [plain, relaxed] = [await assembleKernels('simd', file), await assembleKernels('relaxed', file)];
  return { plain, shared: shareMemory(plain), relaxed, relaxedShared: shareMemory(relaxed) };
}

/** The TypeScript file that carries both files' builds, as base64 in lines of 100 characters. */
export function binaryModuleText(kernels: KernelBuilds, paired: KernelBuilds): string {
  const constant = (name: string, bytes: Uint8Array) => {
    const lines = Buffer.from(bytes).toString('base64').match(/.{1,100}/g) ?? [];
    return [`export const ${name} =`, lines.map((l) => `  '${l}'`).join(' +\n') + ';', ''];
  };
  const builds = (prefix: string, b: KernelBuilds) => [
    ...constant(`${prefix}_BASE64`, b.plain),
    ...constant(`${prefix}_SHARED_BASE64`, b.shared),
    ...constant(`${prefix}_RELAXED_BASE64`, b.relaxed),
    ...constant(`${prefix}_RELAXED_SHARED_BASE64`, b.relaxedShared),
  ];
  return [
    `// Generated from ${KERNELS_WAT} and ${PAIRED_WAT} by \`npm run kernels\`. DO NOT EDIT.`,
    '// The WebAssembly SIMD kernels every generated CPU module embeds, as base64: importing a',
    '// plain memory, and importing a shared one (the same code, for worker threads); then the',
    '// same two with every multiply-add fused (relaxed SIMD, used where the engine has it).',
    '',
    ...builds('KERNELS', kernels),
    '// The paired kernel (kernels-paired.wat), the same four builds: embedded only in the modules that call it.',
    '',
    ...builds('PAIRED', paired),
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [kernels, paired] = [await assembleBuilds(KERNELS_WAT), await assembleBuilds(PAIRED_WAT)];
  writeFileSync(join(packageRoot(), BINARY_TS), binaryModuleText(kernels, paired));
  const sizes = (b: KernelBuilds) => `${b.plain.length} bytes of WebAssembly SIMD, ${b.relaxed.length} of relaxed SIMD, each twice`;
  process.stderr.write(`wrote ${BINARY_TS} (kernels: ${sizes(kernels)}; paired: ${sizes(paired)})\n`);
}
