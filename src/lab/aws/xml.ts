/**
 * A tiny XML writer for the query protocols' responses. Values are escaped here, once, so no
 * handler can emit a tag from scenario text (console output, tag values).
 */

/** A child element: `[name, value]`. Arrays of children nest; `undefined` values are left out. */
export type XmlValue = string | number | boolean | Date | XmlChild[] | undefined | null;
export type XmlChild = readonly [string, XmlValue];

/** Escapes text and attribute content. */
export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function renderValue(value: Exclude<XmlValue, undefined | null>): string {
  if (Array.isArray(value)) return value.map(([name, v]) => renderElement(name, v)).join('');
  if (value instanceof Date) return escapeXml(value.toISOString());
  return escapeXml(String(value));
}

/** Renders one element; an `undefined`/`null` value renders nothing (the SDK reads it as absent). */
export function renderElement(name: string, value: XmlValue): string {
  if (value === undefined || value === null) return '';
  return `<${name}>${renderValue(value)}</${name}>`;
}

/** Renders a whole document with the XML declaration and a namespaced root element. */
export function renderDocument(root: string, namespace: string, children: XmlChild[]): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root} xmlns="${escapeXml(namespace)}">${renderValue(children)}</${root}>`;
}

/** EC2 lists every member as `<item>`: `items(list, fn)` builds that wrapper's children. */
export function items<T>(list: readonly T[], render: (item: T) => XmlChild[]): XmlChild[] {
  return list.map((entry) => ['item', render(entry)] as const);
}

/** EC2 tag sets: `<tagSet><item><key/><value/></item></tagSet>`. */
export function tagSet(tags: Readonly<Record<string, string>>): XmlChild[] {
  return items(Object.entries(tags), ([key, value]) => [
    ['key', key],
    ['value', value],
  ]);
}
