// Reading the CLI's JSON input files (data, direction, cotangent): syntax errors in words at
// file:line:col, and keys refused before the value is built: a key given twice in one
// object, and keys that are properties of every JavaScript object (`__proto__`,
// `constructor`, ...), which would change the object instead of naming an input.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { getNodeValue, parseTree, printParseErrorCode, visit, type Node } from 'jsonc-parser';
import { dataError, usageError } from '../compiler/errors.js';
import { lineLocator } from '../compiler/spec/read-json.js';
import { duplicateKey, objectKeys } from '../compiler/spec/json-keys.js';

/** Keys no input can have: every object already has them (`__proto__` sets the prototype). */
export const refusedKey = (key: string): boolean => key === '__proto__' || key === 'prototype' || key in Object.prototype;

const WORDS: Readonly<Record<string, string>> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: "expected a colon after the property name",
  CloseBraceExpected: 'expected a closing brace',
  CloseBracketExpected: 'expected a closing bracket',
  EndOfFileExpected: 'expected the end of the file after the value',
  InvalidCommentToken: 'comments are not allowed in JSON',
  UnexpectedEndOfComment: 'unterminated comment',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'unterminated number',
  InvalidUnicode: 'invalid unicode escape',
  InvalidEscapeCharacter: 'invalid escape character',
  InvalidCharacter: 'invalid character in a string',
};

/** The first syntax error of `text` in words, with its 0-based offset; undefined when there is none. */
export function jsonSyntaxError(text: string): { message: string; offset: number } | undefined {
  const open: ('object' | 'array')[] = [];
  let first: { message: string; offset: number } | undefined;
  visit(
    text,
    {
      onObjectBegin: () => void open.push('object'),
      onArrayBegin: () => void open.push('array'),
      onObjectEnd: () => void open.pop(),
      onArrayEnd: () => void open.pop(),
      onError: (code, offset) => {
        if (first) return;
        const error = printParseErrorCode(code);
        const inside = open.at(-1);
        const closer = text[offset];
        const trailingComma = (closer === '}' || closer === ']') && /,\s*$/.test(text.slice(0, offset));
        let message = WORDS[error] ?? 'invalid JSON';
        if (error === 'CommaExpected') message = inside === 'array' ? 'expected a comma or closing bracket' : 'expected a comma or closing brace';
        else if (trailingComma) message = `a comma before the closing ${closer === '}' ? 'brace' : 'bracket'} (trailing commas are not allowed in JSON)`;
        else if (error === 'ValueExpected' && text.trim() === '') message = 'the file is empty: expected a JSON value';
        else if (error === 'InvalidSymbol' && inside === 'object' && /[{,]\s*$/.test(text.slice(0, offset))) message = 'expected a property name in double quotes';
        else if (error === 'InvalidSymbol' && closer !== undefined) message = `unexpected character '${closer}'`;
        first = { message, offset };
      },
    },
    { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false },
  );
  return first;
}

/**
 * Reads and parses a JSON input file. `file` is the path as the user gave it (messages name
 * it), resolved against `cwd`; `what` says which file it is ('data', 'direction', ...).
 */
export function readJsonFile(file: string, what: string, cwd?: string): unknown {
  let text: string;
  try {
    text = readFileSync(cwd === undefined ? file : resolve(cwd, file), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw usageError(`cannot read ${what} file ${file}: ${why}`);
  }
  if (text.startsWith('\uFEFF')) text = text.slice(1);
  const at = lineLocator(text, file);
  const syntax = jsonSyntaxError(text);
  if (syntax) throw dataError(`malformed JSON in ${what} file: ${syntax.message}`, { location: at(syntax.offset) });
  const root: Node = parseTree(text, [], { disallowComments: true, allowTrailingComma: false })!;
  const dup = duplicateKey(root);
  if (dup) {
    const first = at(dup.first.offset);
    throw dataError(`key '${dup.key}' appears twice in the ${what} file (first at line ${first.line}, column ${first.column})`, { location: at(dup.node.offset) });
  }
  for (const { key, node } of objectKeys(root)) {
    if (refusedKey(key)) throw dataError(`key '${key}' in the ${what} file is not allowed: it is a property of every JavaScript object, not an input name`, { location: at(node.offset) });
  }
  return getNodeValue(root);
}
