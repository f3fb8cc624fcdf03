/**
 * `parseXML` of `@aws-sdk/xml-builder`, faster on the answers EC2 actually sends.
 *
 * The SDK's parser builds every tag name and every text node one character at a time (a
 * `+=` and a `"…".includes(char)` per character); a 1,000-instance collection parses ~2 MB of
 * EC2 answers (the batched describes, the console outputs, the waiter's polls), and that parse
 * was ~0.3 ms of the collector's CPU per target. This one scans with `indexOf` and `charCodeAt`
 * and cuts text with `slice`, and gives the same value for the same document: one child as a
 * value, repeated children as an array in document order, `''` for an empty element or one
 * holding only whitespace with a line break, attributes after children, entities decoded.
 *
 * It takes only the plain shape of such answers: an XML declaration, elements, attributes and
 * text. Anything else in the document — a comment, CDATA, a processing instruction or DOCTYPE
 * after the declaration, `__proto__` or an Object member (`toString`) as a name, an attribute it would have to guess about, a
 * mismatched or missing end tag — goes to the SDK's parser, whole, so such a document parses (or
 * fails) exactly as the SDK's parser has it. A test holds the two equal on the lab's answers and
 * on documents written to reach every branch.
 */
import { AwsEc2QueryProtocol, XmlShapeDeserializer } from '@aws-sdk/core/protocols';
import { parseXML } from '@aws-sdk/xml-builder';
import { getValueFromTextNode } from '@smithy/core/client';

/** A parsed document as `parseXML` gives it: `{ [root tag]: value }`. */
export type ParsedXml = Record<string, unknown>;

export function parseAwsXml(xml: string): ParsedXml {
  const text = xml.includes('\r') ? xml.replace(/\r\n?/g, '\n') : xml;
  const parser = new FastParser(text);
  const parsed = parser.document();
  return parsed === undefined ? (parseXML(xml) as ParsedXml) : parsed;
}

/** Thrown inside the fast parser when the document needs the SDK's parser. */
const DECLINE = Symbol('decline');

const LT = 0x3c; // <
const GT = 0x3e; // >
const SLASH = 0x2f; // /
const EQ = 0x3d; // =
const QUOTE = 0x22; // "
const APOS = 0x27; // '
const BANG = 0x21; // !
const QUESTION = 0x3f; // ?

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

/** Ends a tag or attribute name, as the SDK's parser reads them. */
function endsName(c: number): boolean {
  return isSpace(c) || c === GT || c === SLASH || c === EQ || c === QUESTION;
}

class FastParser {
  private i = 0;
  /** The name of the element `element()` just read. */
  private tag = '';

  constructor(private readonly x: string) {}

  document(): ParsedXml | undefined {
    try {
      const { x } = this;
      this.skipSpace();
      if (x.startsWith('<?', this.i)) {
        const end = x.indexOf('?>', this.i);
        if (end === -1) return undefined;
        this.i = end + 2;
        this.skipSpace();
      }
      if (x.charCodeAt(this.i) !== LT) return undefined;
      const next = x.charCodeAt(this.i + 1);
      if (next === BANG || next === QUESTION) return undefined;
      const value = this.element();
      // What follows the root is not read, as by the SDK's parser.
      return { [this.tag]: value };
    } catch (error) {
      if (error === DECLINE) return undefined;
      throw error;
    }
  }

  private skipSpace(): void {
    const { x } = this;
    while (this.i < x.length && isSpace(x.charCodeAt(this.i))) this.i += 1;
  }

  /** One element from its `<`: returns its value and leaves its name in `tag`. */
  private element(): unknown {
    const { x } = this;
    const start = this.i + 1;
    let i = start;
    for (let c = x.charCodeAt(i); i < x.length && !isSpace(c) && c !== GT && c !== SLASH; c = x.charCodeAt(++i));
    const tag = x.slice(start, i);
    if (tag === '' || tag === '__proto__' || tag.includes('=') || tag.includes('?')) throw DECLINE;
    this.i = i;
    let attrs: Record<string, string> | undefined;
    if (x.charCodeAt(i) !== GT) {
      for (;;) {
        this.skipSpace();
        const c = x.charCodeAt(this.i);
        if (c === GT || c === SLASH) break;
        const nameStart = this.i;
        while (this.i < x.length && !endsName(x.charCodeAt(this.i))) this.i += 1;
        const name = x.slice(nameStart, this.i);
        this.skipSpace();
        if (name === '' || name === '__proto__' || x.charCodeAt(this.i) !== EQ) throw DECLINE;
        this.i += 1;
        this.skipSpace();
        const quote = x.charCodeAt(this.i);
        if (quote !== QUOTE && quote !== APOS) throw DECLINE;
        const end = x.indexOf(quote === QUOTE ? '"' : "'", this.i + 1);
        if (end === -1) throw DECLINE;
        (attrs ??= {})[name] = decodeEntities(x.slice(this.i + 1, end));
        this.i = end + 1;
      }
      if (this.i >= x.length) throw DECLINE;
      if (x.charCodeAt(this.i) === SLASH) {
        if (x.charCodeAt(this.i + 1) !== GT) throw DECLINE;
        this.i += 2;
        this.tag = tag;
        return attrs ?? '';
      }
    }
    this.i += 1; // past '>'

    // Most elements hold text only (or nothing): read those without building lists.
    let lt = x.indexOf('<', this.i);
    if (lt === -1) throw DECLINE; // no end tag
    if (attrs === undefined && x.charCodeAt(lt + 1) === SLASH) {
      const text = lt > this.i ? decodeEntities(x.slice(this.i, lt)) : '';
      this.closeTag(lt, tag);
      return text === '' || isBlankLine(text) ? '' : text;
    }

    let texts: string[] | undefined;
    let children: Array<string | unknown> | undefined; // name, value, name, value…
    for (;;) {
      if (lt > this.i) (texts ??= []).push(decodeEntities(x.slice(this.i, lt)));
      this.i = lt;
      const next = x.charCodeAt(lt + 1);
      if (next === SLASH) break;
      if (next === BANG || next === QUESTION) throw DECLINE; // comment, CDATA, processing instruction
      const value = this.element();
      (children ??= []).push(this.tag, value);
      lt = x.indexOf('<', this.i);
      if (lt === -1) throw DECLINE;
    }
    this.closeTag(lt, tag);

    if (attrs === undefined && children === undefined) {
      // Text in several runs: only possible with a comment or CDATA between them, declined above.
      const joined = texts === undefined ? '' : texts.join('');
      return joined === '' || isBlankLine(joined) ? '' : joined;
    }
    const obj: Record<string, unknown> = {};
    if (texts !== undefined) {
      for (const t of texts) {
        if (isBlankLine(t)) continue;
        obj['#text'] = '#text' in obj ? `${obj['#text'] as string}${t}` : t;
      }
    }
    if (children !== undefined) {
      for (let c = 0; c < children.length; c += 2) {
        const name = children[c] as string;
        const value = children[c + 1];
        if (!Object.hasOwn(obj, name)) {
          // The SDK's parser asks `name in obj`, so a child named like an Object member
          // (`toString`) gets an odd value there: its parser decides such a document.
          if (name in obj) throw DECLINE;
          obj[name] = value;
        }
        else if (Array.isArray(obj[name])) (obj[name] as unknown[]).push(value);
        else obj[name] = [obj[name], value];
      }
    }
    if (attrs !== undefined) for (const name of Object.keys(attrs)) obj[name] = attrs[name];
    this.tag = tag;
    return obj;
  }

  /** Reads the end tag at `lt` (`</tag>`, spaces allowed before `>`); sets `tag`. */
  private closeTag(lt: number, tag: string): void {
    const { x } = this;
    const after = lt + 2 + tag.length;
    if (x.startsWith(tag, lt + 2) && x.charCodeAt(after) === GT) {
      this.i = after + 1;
    } else {
      const close = x.indexOf('>', lt + 2);
      if (close === -1 || x.slice(lt + 2, close).trim() !== tag) throw DECLINE;
      this.i = close + 1;
    }
    this.tag = tag;
  }
}

/** Only whitespace, with a line break in it: the SDK's parser drops such text. */
function isBlankLine(text: string): boolean {
  if (!isSpace(text.charCodeAt(0)) || !isSpace(text.charCodeAt(text.length - 1))) return false;
  return text.trim() === '' && text.includes('\n');
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/**
 * Entities as the SDK's parser decodes them (numeric ones as UTF-16 code units); a name other
 * than the five XML defines sends the document to the SDK's parser, which has its own view of it.
 */
function decodeEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&(?:#x([0-9a-fA-F]{1,6})|#(\d{1,7})|([a-zA-Z][a-zA-Z0-9]{0,30}));/g, (_, hex: string | undefined, dec: string | undefined, named: string) => {
    if (hex) return String.fromCharCode(parseInt(hex, 16));
    if (dec) return String.fromCharCode(parseInt(dec, 10));
    if (!Object.hasOwn(NAMED, named)) throw DECLINE;
    return NAMED[named]!;
  });
}

/**
 * The SDK's XML shape reader with `parseAwsXml` in place of its parser: the rest (the root's
 * `#text`, `getValueFromTextNode`, the error's `$responseBodyText`) is what the SDK's own
 * `parseXml` does, so the answers are read into the same shapes by the same schema walk.
 */
class FastXmlShapeDeserializer extends XmlShapeDeserializer {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the SDK's signature
  protected override parseXml(xml: string): any {
    if (!xml.length) return {};
    let parsed: ParsedXml;
    try {
      parsed = parseAwsXml(xml);
    } catch (error) {
      if (error && typeof error === 'object') Object.defineProperty(error, '$responseBodyText', { value: xml });
      throw error;
    }
    const key = Object.keys(parsed)[0]!;
    const root = parsed[key] as Record<string, unknown>;
    if (root['#text']) {
      root[key] = root['#text'];
      delete root['#text'];
    }
    return getValueFromTextNode(root);
  }
}

/**
 * EC2's protocol as the SDK ships it (`AwsEc2QueryProtocol`), reading answers through
 * `parseAwsXml`: the batched DescribeInstances and DescribeVolumes answers (50 instances or 100
 * volumes each) were ~0.4 ms of the collector's CPU per target, half of it the SDK's parser.
 * Given to the EC2 client as its `protocol`; errors are still read by the SDK's own code.
 */
export class FastXmlEc2QueryProtocol extends AwsEc2QueryProtocol {
  constructor(options: ConstructorParameters<typeof AwsEc2QueryProtocol>[0]) {
    super(options);
    this.deserializer = new FastXmlShapeDeserializer(this.deserializer.settings);
  }
}
