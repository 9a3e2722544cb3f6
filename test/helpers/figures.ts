// Assertions on the lab's rendered figures, shared by the report tests.

import { expect } from 'vitest';

/** An SVG document with the given legend/axis names and more than a handful of paths. */
export function expectSvg(svg: string, names: readonly string[]) {
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
  for (const name of names) expect(svg).toContain(`>${name}</text>`);
  expect((svg.match(/<path/g) ?? []).length).toBeGreaterThan(5);
}

/** A PNG (by its signature) of a real size. */
export function expectPng(png: Buffer) {
  expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
  expect(png.length).toBeGreaterThan(8_000);
}
