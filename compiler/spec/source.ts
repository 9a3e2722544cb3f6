// A spec as read from somewhere: the plain value plus a way to find where each field sits
// in the file it came from, so errors can point at file:line:column.

import type { SourceLocation } from '../errors.js';

export interface SpecSource {
  /** The spec value (not yet validated). */
  readonly value: unknown;
  /** The file it came from, if any. */
  readonly file?: string;
  /** Where the value at a dotted field path (e.g. `update.x`) starts in the file. */
  locate(field: string): SourceLocation | undefined;
  /**
   * Where offset `offset` inside the string at `field` sits in the file; undefined when the
   * string's text in the file differs from its value (escapes), so the column would lie.
   */
  locateInString?(field: string, offset: number): SourceLocation | undefined;
}

/** A spec given as a value in-process: no file positions. */
export function inMemorySource(value: unknown): SpecSource {
  return { value, locate: () => undefined };
}
