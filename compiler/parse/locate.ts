// Source positions for mathjs nodes. mathjs' parse tree carries no positions, so we
// tokenize the formula and walk the tree in source order, matching its leaves (numbers,
// names) to tokens one by one; operators are found between their operands' spans.

import type { MathNode } from 'mathjs';

export interface Span {
  start: number;
  end: number;
  /** Where an error about this node should point (the operator for operator nodes). */
  at: number;
}

interface Token {
  kind: 'name' | 'number' | 'string';
  start: number;
  end: number;
}

// Quotes right after an operand are transposes, not strings.
const TOKEN = /([A-Za-z_][A-Za-z0-9_]*)|((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)|((?<![A-Za-z0-9_)\]'.][ \t]*)(?:"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'))/g;

function leafTokens(formula: string): Token[] {
  const out: Token[] = [];
  for (const m of formula.matchAll(TOKEN)) {
    out.push({ kind: m[1] ? 'name' : m[2] ? 'number' : 'string', start: m.index, end: m.index + m[0].length });
  }
  return out;
}

/** Positions for every node of `root`, a tree parsed from `formula`; best effort, never throws. */
export function locateNodes(formula: string, root: MathNode): Map<MathNode, Span> {
  const spans = new Map<MathNode, Span>();
  const tokens = leafTokens(formula);
  let next = 0;
  const take = (kind: Token['kind']): Token | undefined => {
    while (next < tokens.length && tokens[next]!.kind !== kind) next++;
    return tokens[next++];
  };
  const find = (text: string, from: number, to: number) => {
    const i = formula.indexOf(text, from);
    return i >= 0 && i <= to ? i : from;
  };

  const visit = (node: MathNode): Span => {
    let span: Span;
    const n = node as MathNode & {
      args?: MathNode[];
      op?: string;
      fn?: unknown;
      implicit?: boolean;
      content?: MathNode;
      condition?: MathNode;
      trueExpr?: MathNode;
      falseExpr?: MathNode;
    };
    switch (node.type) {
      case 'ConstantNode':
      case 'SymbolNode': {
        // Constants are numbers, strings, or names (Infinity, NaN, true, null).
        const value = (n as { value?: unknown }).value;
        const kind = node.type === 'SymbolNode' ? 'name' : typeof value === 'string' ? 'string' : typeof value === 'number' && Number.isFinite(value) ? 'number' : 'name';
        const t = take(kind);
        span = t ? { start: t.start, end: t.end, at: t.start } : { start: 0, end: 0, at: 0 };
        break;
      }
      case 'FunctionNode': {
        const t = take('name');
        const args = (n.args ?? []).map(visit);
        const start = t?.start ?? 0;
        const last = args.length ? args[args.length - 1]!.end : (t?.end ?? 0);
        span = { start, end: find(')', last, formula.length) + 1, at: start };
        break;
      }
      case 'ParenthesisNode': {
        const inner = visit(n.content!);
        const open = formula.lastIndexOf('(', inner.start);
        const close = formula.indexOf(')', inner.end);
        span = { start: open >= 0 ? open : inner.start, end: close >= 0 ? close + 1 : inner.end, at: inner.at };
        break;
      }
      case 'OperatorNode':
        span = operatorSpan(formula, n, (n.args ?? []).map(visit), find);
        break;
      case 'ConditionalNode': {
        // c ? a : b is reported at its '?'
        const [c, a, b] = [n.condition!, n.trueExpr!, n.falseExpr!].map(visit) as [Span, Span, Span];
        span = { start: c.start, end: b.end, at: find('?', c.end, a.start) };
        break;
      }
      default: {
        // Unsupported node kinds are reported at their first leaf.
        const children: MathNode[] = [];
        node.forEach((c: MathNode) => children.push(c));
        const spansOf = children.map(visit);
        const start = spansOf.length ? Math.min(...spansOf.map((s) => s.start)) : 0;
        const end = spansOf.length ? Math.max(...spansOf.map((s) => s.end)) : 0;
        span = { start, end, at: start };
      }
    }
    spans.set(node, span);
    return span;
  };
  visit(root);
  return spans;
}

/** An operator's span from its operands' spans: a binary one is reported at its operator, a transpose after its operand, a prefix before it. */
function operatorSpan(formula: string, n: { op?: string; implicit?: boolean }, args: readonly Span[], find: (text: string, from: number, to: number) => number): Span {
  const op = n.op ?? '';
  if (args.length === 2) {
    const [l, r] = args as [Span, Span];
    return { start: l.start, end: r.end, at: n.implicit ? r.start : find(op, l.end, r.start) };
  }
  if (op === "'") {
    const a = args[0]!;
    const at = find("'", a.end, formula.length);
    return { start: a.start, end: at + 1, at };
  }
  const a = args[0] ?? { start: 0, end: 0, at: 0 };
  const at = Math.max(0, formula.lastIndexOf(op, a.start));
  return { start: at, end: a.end, at };
}
