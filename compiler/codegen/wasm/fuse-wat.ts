// Makes the relaxed-SIMD build of the kernels from kernels.wat, which stays plain WAT: every
// multiply-add written `(f64x2.add ACC (f64x2.mul A B))` becomes `(f64x2.relaxed_madd A B ACC)`,
// and every scalar `(f64.add ACC (f64.mul A B))` the same operation on lane 0 (WebAssembly has
// no scalar fused multiply-add). Rewriting all of them, the scalar tails included, is what
// keeps an output entry's steps the same whichever block or thread computes it.

/** A parenthesised expression at `at` (which holds '('): the index just past its ')'. */
function closing(text: string, at: number): number {
  let depth = 0;
  for (let i = at; i < text.length; i++) {
    if (text[i] === '(') depth++;
    else if (text[i] === ')' && --depth === 0) return i + 1;
  }
  throw new Error(`kernels.wat: unbalanced parentheses from offset ${at}`);
}

/** The top-level items of an expression's body (after its head word): sub-expressions and atoms. */
function items(body: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < body.length) {
    if (/\s/.test(body[i]!)) i++;
    else if (body[i] === '(') {
      const end = closing(body, i);
      out.push(body.slice(i, end));
      i = end;
    } else {
      const end = body.slice(i).search(/[\s()]/);
      const stop = end < 0 ? body.length : i + end;
      out.push(body.slice(i, stop));
      i = stop;
    }
  }
  return out;
}

const head = (expr: string) => /^\(([^\s()]+)/.exec(expr)?.[1];

/** One expression, rewritten bottom-up. */
function rewriteExpr(expr: string): string {
  const op = head(expr)!;
  const body = expr.slice(op.length + 1, -1);
  const args = items(body).map((a) => (a.startsWith('(') ? rewriteExpr(a) : a));
  if ((op === 'f64x2.add' || op === 'f64.add') && args.length === 2) {
    const [acc, product] = args as [string, string];
    const mul = op === 'f64x2.add' ? 'f64x2.mul' : 'f64.mul';
    if (head(product) === mul) {
      const factors = items(product.slice(mul.length + 1, -1));
      if (factors.length === 2) {
        const [a, b] = factors as [string, string];
        if (op === 'f64x2.add') return `(f64x2.relaxed_madd ${a} ${b} ${acc})`;
        return `(f64x2.extract_lane 0 (f64x2.relaxed_madd (f64x2.splat ${a}) (f64x2.splat ${b}) (f64x2.splat ${acc})))`;
      }
    }
  }
  return `(${op} ${args.join(' ')})`;
}

/** kernels.wat with every multiply-add fused (comments dropped; the bytes keep the names). */
export function fuseMultiplyAdds(wat: string): string {
  const text = wat.replace(/;;[^\n]*/g, '');
  const start = text.indexOf('(');
  return text.slice(0, start) + rewriteExpr(text.slice(start, closing(text, start))) + text.slice(closing(text, start));
}
