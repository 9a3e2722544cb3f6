// Unit tests of src/run-size.ts: the memory `phic run` would ask for, estimated from the
// sizes alone, and the limits (one typed array; the 4 GiB WebAssembly memory) it refuses above.

import { describe, expect, it } from 'vitest';
import { WASM_MEMORY_BYTES, defaultRunLimits, formatBytes, runBuffers, runSizeProblem, type RunSize } from '../src/run-size.js';

const LIMITS = defaultRunLimits(2 ** 32);
const base: RunSize = { state: [2], params: [2], data: [], K: 10, truncate: 0, mode: 'reverse', jacobian: false };
const entries = (s: RunSize) => runBuffers(s).reduce((a, p) => a + p.entries, 0);

describe('runBuffers', () => {
  it('counts inputs, state, one tape per state component (K − t steps) and one adjoint in reverse mode', () => {
    const s: RunSize = { state: [3, 5], stateNames: ['x', 'v'], params: [4], data: [12, 3], K: 50, truncate: 20, mode: 'reverse', jacobian: false };
    const parts = Object.fromEntries(runBuffers(s).map((p) => [p.what.split(' (')[0], [p.entries, p.single]]));
    expect(parts).toEqual({
      'the inputs': [4 + 15, false],
      'the state': [16, false],
      'the reverse-mode tape of x': [30 * 3, true],
      'the reverse-mode tape of v': [30 * 5, true],
      'the adjoints': [16, false],
      'the gradient': [4, false],
    });
  });

  it('a Jacobian adds one sweep per state entry (reverse) or per param entry (forward), and the result', () => {
    const rev = runBuffers({ ...base, state: [5], params: [7], jacobian: true });
    expect(rev.find((p) => p.what.startsWith('the adjoints'))!.entries).toBe(2 * 5 * 5);
    expect(rev.find((p) => p.what.startsWith('the gradients'))!.entries).toBe(5 * 7);
    expect(rev.find((p) => p.what.startsWith('the Jacobian'))!.entries).toBe(35);
    const fwd = runBuffers({ ...base, state: [5], params: [7], mode: 'forward', jacobian: true });
    expect(fwd.find((p) => p.what.startsWith('the tangents'))!.entries).toBe(2 * 7 * 5);
    expect(fwd.some((p) => p.what.includes('tape'))).toBe(false);
  });

  it('forward mode has no tape however large K is; parts come largest first', () => {
    const s: RunSize = { ...base, mode: 'forward', K: Number.MAX_SAFE_INTEGER };
    expect(entries(s)).toBe(2 + 4 + 4);
    const sorted = runBuffers({ ...base, K: 1000 }).map((p) => p.entries);
    expect(sorted).toEqual([...sorted].sort((a, b) => b - a));
  });
});

describe('runSizeProblem', () => {
  it('accepts ordinary runs', () => {
    expect(runSizeProblem(base, LIMITS)).toBeUndefined();
    expect(runSizeProblem({ ...base, state: [500], params: [500], data: [250_000, 500], K: 2000, jacobian: true }, LIMITS)).toBeUndefined();
  });

  it('refuses a tape larger than one buffer, naming K − t, the entries and the size', () => {
    const problem = runSizeProblem({ ...base, K: 1_000_000_000 }, LIMITS);
    expect(problem).toBe(
      'this run cannot be allocated: the reverse-mode tape (K − t = 1000000000 steps × 2 state entries) alone needs 14.9 GiB, more than one buffer can hold (4 GiB); use a smaller K, a larger --truncate, or forward mode',
    );
  });

  it('refuses a total over the WebAssembly memory even when every buffer fits', () => {
    // Tape just under 4 GiB, plus inputs that push the total over.
    const steps = Math.floor(WASM_MEMORY_BYTES / 8 / 2) - 8;
    const s: RunSize = { ...base, K: steps, data: [1_000_000] };
    expect(runBuffers(s)[0]!.entries * 8).toBeLessThanOrEqual(WASM_MEMORY_BYTES);
    expect(runSizeProblem(s, LIMITS)).toMatch(/^this run cannot be allocated: it needs at least 4 GiB .* more than the 4 GiB of the WebAssembly memory/);
    expect(runSizeProblem({ ...s, data: [] }, LIMITS)).toBeUndefined();
  });

  it('the boundaries are exact: at a limit passes, one step over fails', () => {
    // inputs 2, state 4, tape 2·K, adjoints 4, gradient 2: 12 + 2K entries in all.
    const total = { maxBufferBytes: 2 ** 40, maxTotalBytes: 8 * 200, totalLimitName: 'the test limit' };
    expect(entries({ ...base, K: 94 })).toBe(200);
    expect(runSizeProblem({ ...base, K: 94 }, total)).toBeUndefined();
    expect(runSizeProblem({ ...base, K: 95 }, total)).toMatch(/it needs at least 1.6 KiB .* more than the 1.6 KiB of the test limit/);
    const buffer = { maxBufferBytes: 8 * 128, maxTotalBytes: 2 ** 40, totalLimitName: 'the test limit' };
    expect(runSizeProblem({ ...base, K: 64 }, buffer)).toBeUndefined();
    expect(runSizeProblem({ ...base, K: 65 }, buffer)).toMatch(/alone needs 1 KiB, more than one buffer can hold \(1 KiB\)/);
  });

  it('a Jacobian over many params is refused with a hint to use a direction', () => {
    const problem = runSizeProblem({ ...base, mode: 'forward', state: [100_000], params: [100_000], jacobian: true }, LIMITS);
    expect(problem).toMatch(/the tangents \(100000 directions × 100000 state entries, twice\) alone needs 149 GiB/);
    expect(problem).toMatch(/use --direction or --cotangent instead of --jacobian/);
  });

  it('uses the smaller of the typed-array limit and the WebAssembly memory per buffer', () => {
    expect(defaultRunLimits(2 ** 53).maxBufferBytes).toBe(2 ** 32);
    expect(defaultRunLimits(2 ** 31).maxBufferBytes).toBe(2 ** 31);
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 bytes'],
    [1023, '1023 bytes'],
    [1536, '1.5 KiB'],
    [2 ** 32, '4 GiB'],
    [16e9, '14.9 GiB'],
    [150 * 2 ** 30, '150 GiB'],
  ])('%d → %s', (bytes, text) => expect(formatBytes(bytes)).toBe(text));
});
