// Parsers for the CLI's option values (commander argument parsers): integers, which must be
// exact in a JavaScript number (at most 2^53 − 1), `--dims m=100,n=40`, where each dim may be
// given once, and the lab's numbers and lists.

import { InvalidArgumentError } from 'commander';

/** A parser for an integer option; `name` is how messages call it (`K`, `--truncate`). */
export const integerArg = (name: string) => (text: string): number => {
  if (!/^[+-]?\d+$/.test(text.trim())) throw new InvalidArgumentError(`${name} must be an integer, got '${text}'`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new InvalidArgumentError(`${name} ${text.trim()} is too large: integers must be at most 2^53 − 1 = ${Number.MAX_SAFE_INTEGER}`);
  }
  return value;
};

/** `m=100,n=40` → { m: 100, n: 40 }. */
export function parseDims(text: string): Record<string, number> {
  const dims: Record<string, number> = {};
  for (const part of text.split(',')) {
    const m = /^\s*([A-Za-z][A-Za-z0-9_]*)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m) throw new InvalidArgumentError(`expected name=size pairs like m=100,n=40, got '${part}'`);
    const [, name, size] = m as unknown as [string, string, string];
    if (Object.hasOwn(dims, name)) throw new InvalidArgumentError(`--dims gives ${name} twice (${name}=${dims[name]} and ${name}=${size})`);
    const value = Number(size);
    if (!Number.isSafeInteger(value)) throw new InvalidArgumentError(`--dims ${name}=${size} is too large: sizes must be at most 2^53 − 1 = ${Number.MAX_SAFE_INTEGER}`);
    dims[name] = value;
  }
  return dims;
}

/** A parser for a number option that must be positive (`--eta`). */
export const positiveArg = (name: string) => (text: string): number => {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got '${text}'`);
  return v;
};

/** A parser for a number option that must be zero or more (`--omega`). */
export const nonNegativeArg = (name: string) => (text: string): number => {
  const v = Number(text);
  if (text.trim() === '' || !Number.isFinite(v) || v < 0) throw new InvalidArgumentError(`${name} must be a non-negative number, got '${text}'`);
  return v;
};

/** A parser for `0,20,40`: distinct non-negative integers, sorted. */
export const integerListArg = (name: string) => (text: string): number[] => {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) throw new InvalidArgumentError(`${name} must be a comma-separated list of non-negative integers, e.g. 0,20,40, got '${text}'`);
  return [...new Set(parts.map(Number))].sort((a, b) => a - b);
};
