/**
 * Parses AWS query-protocol bodies (`Filter.1.Value.2=x`, `Tags.member.1.Key=k`) into nested
 * objects, and reads lists back out of them. EC2 and STS both use this form.
 */

export interface QueryTree {
  [key: string]: string | QueryTree;
}

/** `Action=X&A.1.B=y` → `{ Action: 'X', A: { '1': { B: 'y' } } }`. Later duplicates win. */
export function parseQuery(body: string): QueryTree {
  const root: QueryTree = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const parts = key.split('.');
    let node: QueryTree = root;
    parts.forEach((part, index) => {
      if (index === parts.length - 1) {
        node[part] = value;
        return;
      }
      const next = node[part];
      if (typeof next === 'object') {
        node = next;
      } else {
        const created: QueryTree = {};
        node[part] = created;
        node = created;
      }
    });
  }
  return root;
}

/** A scalar at `path` (`'InstanceSpecification.InstanceId'`), or undefined. */
export function getString(tree: QueryTree, path: string): string | undefined {
  let node: string | QueryTree | undefined = tree;
  for (const part of path.split('.')) {
    if (typeof node !== 'object') return undefined;
    node = node[part];
  }
  return typeof node === 'string' ? node : undefined;
}

/** A sub-tree at `path`, or undefined. */
export function getTree(tree: QueryTree, path: string): QueryTree | undefined {
  let node: string | QueryTree | undefined = tree;
  for (const part of path.split('.')) {
    if (typeof node !== 'object') return undefined;
    node = node[part];
  }
  return typeof node === 'object' ? node : undefined;
}

/**
 * The members of a numbered list at `path`, in index order. EC2 flattens lists (`InstanceId.1`);
 * STS wraps them in `member` (`Tags.member.1`): pass `member: true` for that form.
 */
export function getList(tree: QueryTree, path: string, options: { member?: boolean } = {}): Array<string | QueryTree> {
  let node = getTree(tree, path);
  if (node && options.member) node = typeof node.member === 'object' ? node.member : undefined;
  if (!node) return [];
  return Object.keys(node)
    .filter((k) => /^\d+$/.test(k))
    .sort((a, b) => Number(a) - Number(b))
    .map((k) => node[k] as string | QueryTree);
}

/** A list of scalars (`InstanceId.1`, `InstanceId.2`). */
export function getStrings(tree: QueryTree, path: string, options: { member?: boolean } = {}): string[] {
  return getList(tree, path, options).filter((v): v is string => typeof v === 'string');
}

/** A boolean flag as the SDK writes it (`true` / `false`). */
export function getBoolean(tree: QueryTree, path: string): boolean | undefined {
  const value = getString(tree, path);
  if (value === undefined) return undefined;
  return value.toLowerCase() === 'true';
}
