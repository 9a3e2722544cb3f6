// Reads a JSON spec file into a SpecSource that knows where every value sits (line and
// column), and picks one map out of a multi-map file (`{ "maps": [...] }`). A key given
// twice in one object is an error (a parsed value would silently keep the last one). A
// top-level `$schema` string (for editors: the JSON Schema phic ships) is dropped, so it
// changes neither validation nor the spec hash.

import { getNodePath, getNodeValue, parseTree, printParseErrorCode, type Node, type ParseError } from 'jsonc-parser';
import { specError, usageError, type SourceLocation } from '../errors.js';
import { duplicateKey } from './json-keys.js';
import type { SpecSource } from './source.js';

/** Turns 0-based offsets into `text` into 1-based line/column locations in `file`. */
export function lineLocator(text: string, file: string): (offset: number) => SourceLocation {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\r' && text[i + 1] === '\n') i++;
    if (c === '\n' || c === '\r') starts.push(i + 1);
  }
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { file, line: lo + 1, column: offset - starts[lo]! + 1 };
  };
}

/** 'CommaExpected' → 'comma expected'. */
function readableParseError(error: ParseError): string {
  return printParseErrorCode(error.error)
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toLowerCase();
}

/** The node at a dotted path ('' is the root; array indices are numbers). */
function nodeAt(root: Node, field: string): Node | undefined {
  let node: Node | undefined = root;
  for (const key of field === '' ? [] : field.split('.')) {
    if (node?.type === 'object') {
      // The last property with this key wins, as in the parsed value.
      const props: Node[] = node.children!.filter((p) => p.children?.[0]?.value === key);
      node = props.at(-1)?.children?.[1];
    } else if (node?.type === 'array' && /^\d+$/.test(key)) {
      node = node.children![Number(key)];
    } else {
      return undefined;
    }
  }
  return node;
}

/** The value without a top-level `$schema` key, which must be a string (a schema's URL or path). */
export function withoutSchemaKey(value: unknown, at: (field: string) => SourceLocation): unknown {
  if (!isRecord(value) || !Object.hasOwn(value, '$schema')) return value;
  const { $schema, ...rest } = value;
  if (typeof $schema !== 'string') throw specError('$schema must be a string: the URL or path of a JSON Schema, for editors', { field: '$schema', location: at('$schema') });
  return rest;
}

export function readJsonSpec(text: string, file: string): SpecSource {
  const at = lineLocator(text, file);
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { allowTrailingComma: false, disallowComments: true });
  const first = errors[0];
  if (first) throw specError(`malformed JSON: ${readableParseError(first)}`, { location: at(first.offset) });
  if (!root) throw specError('malformed JSON: value expected', { location: at(0) });
  const dup = duplicateKey(root);
  if (dup) {
    const first = at(dup.first.offset);
    const object = dup.node.parent?.parent;
    const field = object ? getNodePath(object).join('.') : '';
    throw specError(`duplicate key '${dup.key}' (first given at line ${first.line}, column ${first.column}); each key may appear once per object`, {
      ...(field ? { field } : {}),
      location: at(dup.node.offset),
    });
  }

  return {
    value: withoutSchemaKey(getNodeValue(root), (field) => at(nodeAt(root, field)!.offset)),
    file,
    locate(field) {
      const node = nodeAt(root, field);
      return node ? at(node.offset) : undefined;
    },
    locateInString(field, offset) {
      const node = nodeAt(root, field);
      if (node?.type !== 'string' || offset < 0 || offset > node.value.length) return undefined;
      if (text.slice(node.offset, node.offset + node.length).includes('\\')) return undefined;
      return at(node.offset + 1 + offset);
    },
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The label a map goes by in messages: its name, or its position when it has none. */
const mapLabel = (map: unknown, index: number): string =>
  isRecord(map) && typeof map.name === 'string' ? map.name : `<unnamed #${index}>`;

/** The index of the map to use among `maps`, by name (or the only one). */
function chooseMap(maps: unknown[], mapName: string | undefined): number {
  const labels = maps.map(mapLabel);
  const listed = labels.join(', ');
  if (mapName === undefined) {
    if (maps.length === 1) return 0;
    throw usageError(`the spec file defines several maps (${listed}); choose one with --map <name>`);
  }
  const index = labels.indexOf(mapName);
  if (index < 0) throw usageError(`no map named '${mapName}' in the spec file (it defines ${listed}); choose one with --map <name>`);
  return index;
}

/** A view of one element of `maps`, with paths translated back into the whole file. */
function subSource(src: SpecSource, index: number, value: unknown): SpecSource {
  const prefix = (field: string) => (field === '' ? `maps.${index}` : `maps.${index}.${field}`);
  return {
    value,
    file: src.file,
    locate: (field) => src.locate(prefix(field)),
    locateInString: (field, offset) => src.locateInString?.(prefix(field), offset),
  };
}

/** The maps of a `{ maps: [...] }` spec; undefined for a single spec. */
function mapsOf(src: SpecSource): unknown[] | undefined {
  const v = src.value;
  if (!isRecord(v) || !('maps' in v)) return undefined;
  const maps = v.maps;
  if (!Array.isArray(maps) || maps.length === 0) {
    throw specError('maps must be a non-empty array of map specs', { field: 'maps', location: src.locate('maps') });
  }
  return maps;
}

/** Picks the map named `mapName` out of a `{ maps: [...] }` spec; a single spec is returned as is. */
export function selectMap(src: SpecSource, mapName?: string): SpecSource {
  const v = src.value;
  const maps = mapsOf(src);
  if (!maps) {
    if (mapName !== undefined && isRecord(v) && v.name !== mapName) {
      throw usageError(`no map named '${mapName}' in the spec file (it defines only ${mapLabel(v, 0)}); leave --map out`);
    }
    return src;
  }
  const index = chooseMap(maps, mapName);
  return subSource(src, index, maps[index]);
}

/** Every map of a spec: each of a `{ maps: [...] }` spec's, or the single spec. */
export function everyMap(src: SpecSource): SpecSource[] {
  const maps = mapsOf(src);
  return maps ? maps.map((map, index) => subSource(src, index, map)) : [src];
}
