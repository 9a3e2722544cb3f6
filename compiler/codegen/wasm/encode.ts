// A WebAssembly binary encoder for the few constructs the generated sweeps use (sweep-wasm.ts):
// i32 index arithmetic, f64 loads, stores and arithmetic (and their f64x2 forms), structured
// loops, calls of imported functions and memory.copy, in a module that imports its memory. The compiler writes these
// bytes itself at compile time: wabt, which assembles the fixed kernels, is only a development
// dependency. Opcodes are from the WebAssembly core specification (2.0, bulk memory included).

/** The instructions the sweeps use, by their text names. */
export const OP = {
  block: 0x02, loop: 0x03, if: 0x04, end: 0x0b, br: 0x0c, br_if: 0x0d, return: 0x0f, call: 0x10, select: 0x1b,
  'local.get': 0x20, 'local.set': 0x21, 'local.tee': 0x22,
  'f64.load': 0x2b, 'f64.store': 0x39, 'i32.const': 0x41, 'f64.const': 0x44,
  'i32.eqz': 0x45, 'i32.eq': 0x46, 'i32.lt_s': 0x48, 'i32.ge_s': 0x4e, 'i32.ge_u': 0x4f,
  'f64.eq': 0x61, 'f64.ne': 0x62, 'f64.lt': 0x63, 'f64.gt': 0x64, 'f64.le': 0x65, 'f64.ge': 0x66,
  'i32.add': 0x6a, 'i32.sub': 0x6b, 'i32.mul': 0x6c, 'i32.or': 0x72,
  'f64.abs': 0x99, 'f64.neg': 0x9a, 'f64.sqrt': 0x9f, 'f64.add': 0xa0, 'f64.sub': 0xa1, 'f64.mul': 0xa2, 'f64.div': 0xa3,
  'f64.convert_i32_s': 0xb7,
} as const;
export type OpName = keyof typeof OP;

/** The SIMD instructions the sweeps' elementwise loops use (vector-wasm.ts), by their opcodes after the 0xfd prefix. */
export const SIMD = {
  'v128.load': 0x00, 'v128.load64_splat': 0x0a, 'v128.store': 0x0b, 'f64x2.splat': 0x14,
  'f64x2.abs': 0xec, 'f64x2.neg': 0xed, 'f64x2.sqrt': 0xef, 'f64x2.add': 0xf0, 'f64x2.sub': 0xf1, 'f64x2.mul': 0xf2, 'f64x2.div': 0xf3,
} as const;
export type SimdName = keyof typeof SIMD;

export const I32 = 0x7f;
export const F64 = 0x7c;
export type ValueType = typeof I32 | typeof F64;
const EMPTY_BLOCK = 0x40;

export function unsignedLeb(v: number): number[] {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`phic internal error: ${v} is not an unsigned 32-bit integer`);
  const out: number[] = [];
  do {
    let byte = v & 0x7f;
    v = Math.floor(v / 128);
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

export function signedLeb(v: number): number[] {
  if (!Number.isInteger(v) || v < -0x80000000 || v > 0x7fffffff) throw new Error(`phic internal error: ${v} is not a signed 32-bit integer`);
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

const utf8 = (s: string) => [...unsignedLeb(new TextEncoder().encode(s).length), ...new TextEncoder().encode(s)];

/** A function body under construction: its extra locals and its instructions. */
export class Code {
  readonly bytes: number[] = [];
  private readonly locals: ValueType[] = [];
  constructor(private readonly params: number) {}
  /** A new local of type `type`: its index. */
  local(type: ValueType): number {
    this.locals.push(type);
    return this.params + this.locals.length - 1;
  }
  op(name: OpName, ...immediates: number[]): this {
    this.bytes.push(OP[name], ...immediates.flatMap((v) => unsignedLeb(v)));
    return this;
  }
  i32(v: number): this {
    this.bytes.push(OP['i32.const'], ...signedLeb(v));
    return this;
  }
  f64(v: number): this {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setFloat64(0, v, true);
    this.bytes.push(OP['f64.const'], ...b);
    return this;
  }
  /** An f64 load or store at the address on the stack (8-byte aligned, no offset). */
  memory(name: 'f64.load' | 'f64.store'): this {
    return this.op(name, 3, 0);
  }
  /** A SIMD instruction (prefix 0xfd, its opcode as a LEB128) with its immediates. */
  simd(name: SimdName): this {
    this.bytes.push(0xfd, ...unsignedLeb(SIMD[name]));
    // loads and stores take a memarg: 8-byte alignment (the buffers' entries), no offset
    if (name === 'v128.load' || name === 'v128.store' || name === 'v128.load64_splat') this.bytes.push(3, 0);
    return this;
  }
  /** memory.copy (bulk memory): destination, source and length on the stack. */
  copy(): this {
    this.bytes.push(0xfc, ...unsignedLeb(10), 0, 0);
    return this;
  }
  /** memory.fill (bulk memory): destination, byte value and length on the stack. */
  fill(): this {
    this.bytes.push(0xfc, ...unsignedLeb(11), 0);
    return this;
  }
  /** `block`, `loop` or `if` (on the i32 on the stack) with no result, its body, `end`. */
  structured(kind: 'block' | 'loop' | 'if', body: () => void): this {
    this.bytes.push(OP[kind], EMPTY_BLOCK);
    body();
    this.bytes.push(OP.end);
    return this;
  }
  /** The function's code entry: its locals, run-length grouped, then the body and `end`. */
  encode(): number[] {
    const groups: [number, ValueType][] = [];
    for (const t of this.locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    const body = [...unsignedLeb(groups.length), ...groups.flatMap(([n, t]) => [...unsignedLeb(n), t]), ...this.bytes, OP.end];
    return [...unsignedLeb(body.length), ...body];
  }
}

export interface FunctionType {
  readonly params: readonly ValueType[];
  readonly results: readonly ValueType[];
}

export interface ModuleParts {
  /** Imported functions, in index order: module, name and type. */
  readonly imports: readonly { readonly module: string; readonly name: string; readonly type: FunctionType }[];
  /** The memory import `env.memory`: shared (for worker threads) or not. */
  readonly sharedMemory: boolean;
  /** Defined functions, exported by name; their indices follow the imports'. */
  readonly functions: readonly { readonly name: string; readonly type: FunctionType; readonly code: Code }[];
}

const section = (id: number, content: number[]) => [id, ...unsignedLeb(content.length), ...content];
const vector = (items: number[][]) => [...unsignedLeb(items.length), ...items.flat()];

/** The module's bytes. Function types are deduplicated in first-use order, so the bytes depend only on the parts. */
export function encodeModule(parts: ModuleParts): Uint8Array {
  const types: string[] = [];
  const typeIndex = (t: FunctionType) => {
    const key = `${t.params.join(',')}:${t.results.join(',')}`;
    if (!types.includes(key)) types.push(key);
    return types.indexOf(key);
  };
  const encodeType = (key: string) => {
    const [params, results] = key.split(':').map((s) => (s ? s.split(',').map(Number) : []));
    return [0x60, ...unsignedLeb(params!.length), ...params!, ...unsignedLeb(results!.length), ...results!];
  };
  // shared memory: flags 3 (a maximum, shared), the whole 32-bit space reserved; plain: flags 0, at least one page
  const memoryLimits = parts.sharedMemory ? [0x03, ...unsignedLeb(1), ...unsignedLeb(65536)] : [0x00, ...unsignedLeb(1)];
  const imports = [
    ...parts.imports.map((i) => [...utf8(i.module), ...utf8(i.name), 0x00, ...unsignedLeb(typeIndex(i.type))]),
    [...utf8('env'), ...utf8('memory'), 0x02, ...memoryLimits],
  ];
  const functions = parts.functions.map((f) => unsignedLeb(typeIndex(f.type)));
  const exports = parts.functions.map((f, i) => [...utf8(f.name), 0x00, ...unsignedLeb(parts.imports.length + i)]);
  const code = parts.functions.map((f) => f.code.encode());
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, vector(types.map(encodeType))),
    ...section(2, vector(imports)),
    ...section(3, vector(functions)),
    ...section(7, vector(exports)),
    ...section(10, vector(code)),
  ]);
}

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Bytes as base64 (what generated modules embed), without Node's Buffer: the compiler also runs in browsers. */
export function toBase64(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const [a, b, c] = [bytes[i]!, bytes[i + 1], bytes[i + 2]];
    const v = (a << 16) | ((b ?? 0) << 8) | (c ?? 0);
    out += BASE64[v >> 18]! + BASE64[(v >> 12) & 63]! + (b === undefined ? '=' : BASE64[(v >> 6) & 63]!) + (c === undefined ? '=' : BASE64[v & 63]!);
  }
  return out;
}
