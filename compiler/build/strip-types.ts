// Types out of TypeScript text, everything else kept byte for byte: the runtime helpers that
// generated modules carry are written once, typed (for `--emit ts`), and their JavaScript
// (for `--emit js`) is this text with the annotations cut out. Not ts.transpileModule: its
// printer re-indents and re-wraps the code, and the JavaScript output must stay byte-identical.
// Build time only (it loads the `typescript` package): the compiler never imports this file.

import ts from 'typescript';

/** The JavaScript of TypeScript text that uses only erasable syntax (annotations, `as`, `!`, type declarations). */
export function stripTypes(text: string): string {
  const file = ts.createSourceFile('runtime.ts', text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const cuts: [number, number][] = [];
  /** From the `:` (or `?`) before a type to the type's end. */
  const annotation = (type: ts.TypeNode, from?: number) => {
    let start = from ?? type.pos;
    while (start > 0 && text[start - 1] !== ':') start--;
    cuts.push([from ?? start - 1, type.end]);
  };
  const visit = (node: ts.Node): void => {
    // a type's inside (a function type's parameters) goes with the type
    if (ts.isTypeNode(node)) return;
    if (ts.isTypeAliasDeclaration(node) || ts.isInterfaceDeclaration(node)) {
      // the declaration and its line
      const end = text[node.end] === '\n' ? node.end + 1 : node.end;
      cuts.push([node.getStart(file), end]);
      return;
    }
    if ((ts.isParameter(node) || ts.isVariableDeclaration(node) || ts.isPropertyDeclaration(node)) && node.type) {
      const q = ts.isParameter(node) ? node.questionToken : ts.isVariableDeclaration(node) ? node.exclamationToken : undefined;
      annotation(node.type, q ? q.getStart(file) : undefined);
    }
    if (ts.isFunctionLike(node) && node.type) annotation(node.type);
    if (ts.isFunctionLike(node) && node.typeParameters) cuts.push([node.typeParameters.pos - 1, node.typeParameters.end + 1]);
    if ((ts.isCallExpression(node) || ts.isNewExpression(node)) && node.typeArguments) cuts.push([node.typeArguments.pos - 1, node.typeArguments.end + 1]);
    if (ts.isAsExpression(node) || ts.isSatisfiesExpression(node)) {
      // `(x as T).y` and `(x as unknown as T).y` → `x.y`: parentheses that only held the casts go with them
      const p = node.parent;
      let inner: ts.Expression = node.expression;
      while (ts.isAsExpression(inner) || ts.isSatisfiesExpression(inner)) inner = inner.expression;
      const bare = ts.isIdentifier(inner) || ts.isPropertyAccessExpression(inner) || ts.isElementAccessExpression(inner) || ts.isCallExpression(inner);
      if (ts.isParenthesizedExpression(p) && bare) {
        cuts.push([p.getStart(file), inner.getStart(file)], [inner.end, p.end]);
        visit(inner);
        return;
      }
      cuts.push([node.expression.end, node.end]);
      visit(node.expression);
      return;
    }
    if (ts.isNonNullExpression(node)) cuts.push([node.end - 1, node.end]);
    if (ts.isParameter(node) && node.questionToken && !node.type) cuts.push([node.questionToken.getStart(file), node.questionToken.end]);
    ts.forEachChild(node, visit);
  };
  visit(file);
  cuts.sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  for (const [from, to] of cuts) {
    if (from < at) throw new Error(`phic internal error: overlapping type cuts at ${from}`);
    out += text.slice(at, from);
    at = to;
  }
  return out + text.slice(at);
}
