// Reads a `.ts` spec statically with ts-morph (the file is never executed): finds the
// `export default defineMap({...})` (or the `defineMap` calls) and converts the literal to a
// plain value, remembering where every value sits so errors can point into the file. Config
// files (`export default defineConfig({...})`) are read the same way, with their own callee.

import {
  Node,
  Project,
  SyntaxKind,
  ts,
  type CallExpression,
  type NoSubstitutionTemplateLiteral,
  type PrefixUnaryExpression,
  type SourceFile,
  type StringLiteral,
} from 'ts-morph';
import { specError, type SourceLocation } from '../errors.js';
import { lineLocator } from './read-json.js';
import type { SpecSource } from './source.js';

/** Where converted values start: every value by path, and strings whose text is their value. */
interface Positions {
  values: Map<string, number>;
  exactStrings: Map<string, { start: number; length: number }>;
}

type Locator = (offset: number) => SourceLocation;

const join = (path: string, key: string | number) => (path === '' ? String(key) : `${path}.${key}`);

/** Readable names for the constructs people are most likely to try. */
const KIND_NAMES: Partial<Record<SyntaxKind, string>> = {
  [SyntaxKind.CallExpression]: 'a function call',
  [SyntaxKind.NewExpression]: "a 'new' expression",
  [SyntaxKind.SpreadElement]: 'a spread',
  [SyntaxKind.SpreadAssignment]: 'a spread',
  [SyntaxKind.TemplateExpression]: 'a template literal with substitutions',
  [SyntaxKind.ArrowFunction]: 'an arrow function',
  [SyntaxKind.FunctionExpression]: 'a function',
  [SyntaxKind.ComputedPropertyName]: 'a computed property name',
  [SyntaxKind.ShorthandPropertyAssignment]: 'a shorthand property',
  [SyntaxKind.MethodDeclaration]: 'a method',
  [SyntaxKind.GetAccessor]: 'an accessor',
  [SyntaxKind.SetAccessor]: 'an accessor',
  [SyntaxKind.OmittedExpression]: 'an array hole',
  [SyntaxKind.PropertyAccessExpression]: 'a property access',
  [SyntaxKind.ElementAccessExpression]: 'an element access',
  [SyntaxKind.BinaryExpression]: 'an operator expression',
  [SyntaxKind.BigIntLiteral]: 'a bigint literal',
};

function describe(node: Node): string {
  if (Node.isIdentifier(node)) return `identifier '${node.getText()}'`;
  const known = KIND_NAMES[node.getKind()];
  if (known) return known;
  return node.getKindName().replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
}

/** Converts spec literals to plain values; anything that would need running code is rejected. */
class Converter {
  readonly positions: Positions = { values: new Map(), exactStrings: new Map() };
  constructor(private readonly at: Locator) {}

  reject(node: Node, path: string): never {
    const message = `only literal values are allowed in a spec (compiling never executes user code): found ${describe(node)}`;
    throw specError(message, { ...(path === '' ? {} : { field: path }), location: this.at(node.getStart()) });
  }

  convert(wrapped: Node, path: string): unknown {
    const node = unwrap(wrapped);
    this.positions.values.set(path, node.getStart());
    this.positions.exactStrings.delete(path); // a repeated key: the last value wins
    if (Node.isObjectLiteralExpression(node)) return this.object(node.getProperties(), path);
    if (Node.isArrayLiteralExpression(node)) return node.getElements().map((e, i) => this.convert(e, join(path, i)));
    if (Node.isStringLiteral(node) || Node.isNoSubstitutionTemplateLiteral(node)) return this.string(node, path);
    if (Node.isNumericLiteral(node)) return Number(node.compilerNode.text);
    if (Node.isPrefixUnaryExpression(node)) return this.signed(node, path);
    if (Node.isTrueLiteral(node)) return true;
    if (Node.isFalseLiteral(node)) return false;
    if (Node.isNullLiteral(node)) return null;
    return this.reject(node, path);
  }

  private object(props: Node[], path: string): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const prop of props) {
      if (!Node.isPropertyAssignment(prop)) return this.reject(prop, path);
      const key = this.key(prop.getNameNode(), path);
      const value = this.convert(prop.getInitializerOrThrow(), join(path, key));
      // defineProperty, so that a key such as '__proto__' stays a plain key.
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  private key(name: Node, path: string): string {
    if (Node.isIdentifier(name) || Node.isStringLiteral(name)) return name.compilerNode.text;
    if (Node.isNumericLiteral(name)) return String(Number(name.compilerNode.text));
    return this.reject(name, path);
  }

  private string(node: StringLiteral | NoSubstitutionTemplateLiteral, path: string): string {
    const value = node.compilerNode.text;
    if (node.getText().slice(1, -1) === value) {
      this.positions.exactStrings.set(path, { start: node.getStart(), length: value.length });
    }
    return value;
  }

  private signed(node: PrefixUnaryExpression, path: string): number {
    const op = node.getOperatorToken();
    const operand = node.getOperand();
    if ((op !== SyntaxKind.MinusToken && op !== SyntaxKind.PlusToken) || !Node.isNumericLiteral(operand)) {
      return this.reject(node, path);
    }
    const magnitude = Number(operand.compilerNode.text);
    return op === SyntaxKind.MinusToken ? -magnitude : magnitude;
  }
}

/** Strips what has no runtime effect: parentheses, `as const` (and other `as`), `satisfies`, `!`. */
function unwrap(node: Node): Node {
  let current = node;
  while (
    Node.isParenthesizedExpression(current) ||
    Node.isAsExpression(current) ||
    Node.isSatisfiesExpression(current) ||
    Node.isNonNullExpression(current) ||
    Node.isTypeAssertion(current)
  ) {
    current = current.getExpression();
  }
  return current;
}

/** A test for calls to `name(...)` (or `x.name(...)`). */
const callsTo = (name: string) => (node: Node): node is CallExpression => {
  if (!Node.isCallExpression(node)) return false;
  const callee = node.getExpression();
  if (Node.isIdentifier(callee)) return callee.getText() === name;
  return Node.isPropertyAccessExpression(callee) && callee.getName() === name;
};

function callArgument(call: CallExpression, name: string, at: Locator): Node {
  const args = call.getArguments();
  if (args.length !== 1) throw specError(`${name} takes exactly one object literal`, { location: at(call.getStart()) });
  return args[0]!;
}

/** The spec nodes: the default export, else every outermost `callee(...)` call's argument. */
function findSpecs(sf: SourceFile, callee: string, at: Locator): Node[] {
  const isCall = callsTo(callee);
  const exported = sf.getExportAssignment((e) => !e.isExportEquals());
  if (exported) {
    const expr = unwrap(exported.getExpression());
    return [isCall(expr) ? callArgument(expr, callee, at) : expr];
  }
  const calls = sf
    .getDescendants()
    .filter(isCall)
    .filter((call) => !call.getAncestors().some(isCall));
  return calls.map((call) => callArgument(call, callee, at));
}

function checkSyntax(project: Project, sf: SourceFile, at: Locator): void {
  const diagnostics = project.getProgram().compilerObject.getSyntacticDiagnostics(sf.compilerNode);
  const first = diagnostics[0];
  if (!first) return;
  const message = ts.flattenDiagnosticMessageText(first.messageText, '\n');
  throw specError(`malformed TypeScript: ${message}`, { location: at(first.start ?? 0) });
}

function parse(text: string, file: string): SourceFile {
  const project = new Project({
    useInMemoryFileSystem: true,
    skipLoadingLibFiles: true,
    compilerOptions: { target: ts.ScriptTarget.ES2022, noLib: true, types: [] },
  });
  const sf = project.createSourceFile('/spec.ts', text);
  checkSyntax(project, sf, lineLocator(text, file));
  return sf;
}

/** The spec value: one map, or `{ maps: [...] }` when the file holds several defineMap calls. */
function convertSpecs(specs: Node[], converter: Converter): unknown {
  if (specs.length === 1) return converter.convert(specs[0]!, '');
  return { maps: specs.map((spec, i) => converter.convert(spec, join('maps', i))) };
}

/**
 * The spec (or, with `callee` 'defineConfig', the config) a `.ts` file defines, read without
 * running it.
 */
export function readTsSpec(text: string, file: string, callee = 'defineMap'): SpecSource {
  const at = lineLocator(text, file);
  const sf = parse(text, file);
  const specs = findSpecs(sf, callee, at);
  if (specs.length === 0) throw specError(`no ${callee === 'defineMap' ? 'spec' : 'config'} found: export default ${callee}({...})`, { location: at(0) });
  const converter = new Converter(at);
  const value = convertSpecs(specs, converter);
  const { values, exactStrings } = converter.positions;

  return {
    value,
    file,
    locate(field) {
      const start = values.get(field);
      return start === undefined ? undefined : at(start);
    },
    locateInString(field, offset) {
      const string = exactStrings.get(field);
      if (!string || offset < 0 || offset > string.length) return undefined;
      return at(string.start + 1 + offset);
    },
  };
}
