// The batched buffers a rewritten segment touches: those of the original it still reads or
// writes, and the new per-direction ones. A buffer the rewrite removed (a gradient the
// deferred step no longer updates) takes no offset local in the emitted function.

import { buffersOf, type Segment, type Stmt } from '../lower/loop-ir.js';

export function stillBatched(original: Segment, body: readonly Stmt[], added: readonly string[]): string[] {
  const used = buffersOf(body);
  return [...new Set([...original.batched.filter((b) => used.has(b)), ...added])].sort();
}
