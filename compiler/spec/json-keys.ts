// Checks on the keys of a parsed JSON tree (jsonc-parser nodes): a key given twice in one
// object, or a key the caller refuses (such as `__proto__` in a data file). Parsed values
// keep only the last of duplicate keys, so these are found on the tree, before conversion.

import type { Node } from 'jsonc-parser';

export interface KeyAt {
  readonly key: string;
  /** The key's string node (its offset is where the key starts). */
  readonly node: Node;
}

/** Every property key of every object in the tree, in document order. */
export function* objectKeys(root: Node): Generator<KeyAt & { readonly object: Node }> {
  const stack: { node: Node; parent?: Node }[] = [{ node: root }];
  while (stack.length) {
    const { node, parent } = stack.pop()!;
    const children = node.children ?? [];
    if (node.type === 'property') {
      const keyNode = children[0];
      if (parent && keyNode && typeof keyNode.value === 'string') yield { key: keyNode.value, node: keyNode, object: parent };
      if (children[1]) stack.push({ node: children[1] });
    } else {
      for (let i = children.length - 1; i >= 0; i--) stack.push({ node: children[i]!, parent: node });
    }
  }
}

/** The first key that repeats an earlier key of the same object, with that earlier one. */
export function duplicateKey(root: Node): { key: string; node: Node; first: Node } | undefined {
  const seen = new Map<Node, Map<string, Node>>();
  for (const { key, node, object } of objectKeys(root)) {
    let keys = seen.get(object);
    if (!keys) seen.set(object, (keys = new Map()));
    const first = keys.get(key);
    if (first) return { key, node, first };
    keys.set(key, node);
  }
  return undefined;
}
