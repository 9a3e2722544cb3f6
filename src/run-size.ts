// How much memory `phic run` would ask the generated module for, estimated from the sizes
// alone (before anything is compiled or allocated), and whether that can be allocated at
// all. The estimate counts only buffers every module has (inputs, state, the reverse-mode
// tape, per-direction tangents or adjoints, the result), so it never overstates; the
// generated create() checks the exact figure again.

/** Float64 entries. */
const BYTES = 8;

export interface RunSize {
  /** Entries of each state component, param, and data (and outer data) input. */
  readonly state: readonly number[];
  /** Names of the state components, for messages. */
  readonly stateNames?: readonly string[];
  readonly params: readonly number[];
  readonly data: readonly number[];
  readonly K: number;
  readonly truncate: number;
  readonly mode: 'forward' | 'reverse';
  readonly jacobian: boolean;
}

export interface RunLimits {
  /** Largest single buffer, in bytes (what one Float64Array can hold). */
  readonly maxBufferBytes: number;
  /** Largest total, in bytes (the WebAssembly memory the kernels keep every buffer in). */
  readonly maxTotalBytes: number;
  /** What the total limit is, for the message. */
  readonly totalLimitName: string;
}

/** WebAssembly memory (memory32) holds at most 65536 pages of 64 KiB: 4 GiB. */
export const WASM_MEMORY_BYTES = 2 ** 32;

/** The limits of the CPU module with its WebAssembly kernels on (what `phic run` builds). */
export const defaultRunLimits = (maxTypedArrayBytes: number): RunLimits => ({
  maxBufferBytes: Math.min(maxTypedArrayBytes, WASM_MEMORY_BYTES),
  maxTotalBytes: WASM_MEMORY_BYTES,
  totalLimitName: 'the WebAssembly memory the kernels keep every buffer in',
});

/** 17179869184 → '16 GiB'. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${Number(value.toFixed(digits))} ${units[unit]}`;
}

export interface SizePart {
  readonly what: string;
  readonly entries: number;
  /** True when the part is one buffer (then it must fit one typed array), false for a sum of several. */
  readonly single: boolean;
}

/** The buffers of one run that the estimate counts, largest first. */
export function runBuffers(s: RunSize): SizePart[] {
  const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0);
  const S = sum(s.state);
  const P = sum(s.params);
  const parts: SizePart[] = [
    { what: 'the inputs', entries: P + sum(s.data), single: false },
    { what: 'the state (x and its next value)', entries: 2 * S, single: false },
  ];
  if (s.mode === 'reverse') {
    const steps = s.K - s.truncate;
    s.state.forEach((n, i) => {
      const name = s.stateNames?.[i];
      parts.push({ what: `the reverse-mode tape${name ? ` of ${name}` : ''} (K − t = ${steps} steps × ${n} state entries)`, entries: steps * n, single: true });
    });
    const sweeps = s.jacobian ? S : 1;
    parts.push({ what: s.jacobian ? `the adjoints (${S} cotangents × ${S} state entries, twice)` : 'the adjoints', entries: 2 * sweeps * S, single: false });
    parts.push({ what: s.jacobian ? `the gradients (${S} cotangents × ${P} param entries)` : 'the gradient', entries: sweeps * P, single: false });
  } else {
    const directions = s.jacobian ? P : 1;
    parts.push({ what: s.jacobian ? `the tangents (${P} directions × ${S} state entries, twice)` : 'the tangents', entries: 2 * directions * S, single: false });
  }
  if (s.jacobian) parts.push({ what: `the Jacobian (${S} × ${P})`, entries: S * P, single: false });
  return parts.sort((a, b) => b.entries - a.entries);
}

/**
 * Why a run of these sizes cannot be allocated, in one sentence, or undefined when it can
 * (as far as the estimate sees).
 */
export function runSizeProblem(s: RunSize, limits: RunLimits): string | undefined {
  const parts = runBuffers(s);
  const total = parts.reduce((a, p) => a + p.entries, 0) * BYTES;
  const largest = parts[0]!;
  const tapeEntries = parts.filter((p) => p.what.startsWith('the reverse-mode tape')).reduce((a, p) => a + p.entries, 0);
  const hint =
    s.mode === 'reverse' && tapeEntries * 2 >= total / BYTES
      ? 'use a smaller K, a larger --truncate, or forward mode'
      : s.jacobian
        ? 'use --direction or --cotangent instead of --jacobian, or smaller data'
        : 'use smaller data';
  const largestText = `${largest.what} alone needs ${formatBytes(largest.entries * BYTES)}`;
  const tooBig = parts.find((p) => p.single && p.entries * BYTES > limits.maxBufferBytes);
  if (tooBig) {
    return `this run cannot be allocated: ${tooBig.what} alone needs ${formatBytes(tooBig.entries * BYTES)}, more than one buffer can hold (${formatBytes(limits.maxBufferBytes)}); ${hint}`;
  }
  if (total > limits.maxTotalBytes) {
    return `this run cannot be allocated: it needs at least ${formatBytes(total)} (${largestText}), more than the ${formatBytes(limits.maxTotalBytes)} of ${limits.totalLimitName}; ${hint}`;
  }
  return undefined;
}
