/**
 * `parseAwsXml` (src/providers/aws/xml-parse.ts) must give what `@aws-sdk/xml-builder`'s
 * `parseXML` gives, value for value, and fail where it fails; and the EC2 client the provider
 * makes (its protocol reads answers through `parseAwsXml`) must answer the describes exactly as
 * the SDK's stock client does, since those answers become evidence files.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import { DescribeInstancesCommand, DescribeSnapshotsCommand, DescribeVolumesCommand, EC2Client, GetConsoleOutputCommand } from '@aws-sdk/client-ec2';
import { parseXML } from '@aws-sdk/xml-builder';
import type { AccountClients, AwsClients } from '../../../src/providers/aws/clients.js';
import { parseAwsXml } from '../../../src/providers/aws/xml-parse.js';
import { demoScenario, startLab, type RunningLab } from '../../../src/lab/index.js';
import { collectorClients } from './lab-fixture.js';

/** Both parsers' outcome: the value, or the error message. */
function outcome(parse: (xml: string) => unknown, xml: string): { value: unknown } | { error: string } {
  try {
    return { value: parse(xml) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

function expectSameAsSdk(xml: string): void {
  const fast = outcome(parseAwsXml, xml);
  const sdk = outcome(parseXML, xml);
  // node's comparison, not vitest's: vitest reads an object's own `constructor` member (a child
  // element of that name) as its class.
  expect(isDeepStrictEqual(fast, sdk), `${JSON.stringify(fast)}\n${JSON.stringify(sdk)}`).toBe(true);
  // Key order too: the SDK's reader takes the root as the first key.
  if ('value' in fast && 'value' in sdk) expect(JSON.stringify(fast.value)).toBe(JSON.stringify(sdk.value));
}

describe('parseAwsXml gives what the SDK parser gives', () => {
  const documents: Array<[string, string]> = [
    ['compact EC2 answer', '<?xml version="1.0" encoding="UTF-8"?>\n<R xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r-1</requestId><set><item><id>a</id></item><item><id>b</id></item></set><one><item><id>c</id></item></one><empty></empty><self/></R>'],
    ['pretty-printed with CRLF', '<?xml version="1.0"?>\r\n<R>\r\n  <a>1</a>\r\n  <b>\r\n    <item>x</item>\r\n  </b>\r\n  <blank>\r\n  </blank>\r\n  <spaces>   </spaces>\r\n</R>\r\n'],
    ['lone CR', '<R>\r<a>x\ry</a>\r</R>'],
    ['no declaration, leading space', '   \n<R><a>1</a></R>'],
    ['entities', '<R><a>&lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; &#65;&#x42;&#x1F600;</a><b x="&amp;1" y=\'2\'>t</b></R>'],
    ['unknown and odd entities', '<R><a>&nbsp;x&constructor;y&#xZZ;&amp</a></R>'],
    ['attributes and text', '<R a="1" b="2"><c d="3"/><e f="4">text</e><g h="5"><i>j</i>tail</g></R>'],
    ['attribute overrides a child of its name', '<R id="attr"><id>child</id></R>'],
    ['spaces inside tags', '<R  a = "1" ><b >x</b ><c/ ></R>'],
    ['attribute without value', '<R><a b>x</a></R>'],
    ['unquoted attribute', '<R><a b=1>x</a></R>'],
    ['mixed content', '<R>one<a>x</a>two\n<b/>  three</R>'],
    ['repeated children, three and more', '<R><a>1</a><b>x</b><a>2</a><a>3</a></R>'],
    ['children named like Object members', '<R><toString>a</toString><constructor>b</constructor><hasOwnProperty>c</hasOwnProperty></R>'],
    ['__proto__ as a tag and attribute', '<R><__proto__>x</__proto__><a __proto__="y">z</a></R>'],
    ['comment, CDATA and processing instruction', '<?xml version="1.0"?><!-- c --><R><!-- inner --><a><![CDATA[<raw> &amp;]]></a><?pi x?><b>1</b></R>'],
    ['DOCTYPE', '<!DOCTYPE R [<!ENTITY e "x">]><R><a>1</a></R>'],
    ['two declarations', '<?xml version="1.0"?><?other?><R/>'],
    ['content after the root', '<R><a>1</a></R><S/>trailing'],
    ['tag names with odd characters', '<R><a.b-c_d:e>1</a.b-c_d:e><x?y>2</x?y><f=g>3</f=g></R>'],
    ['mismatched end tag', '<R><a>1</b></R>'],
    ['missing end tag', '<R><a>1</a>'],
    ['unclosed text', '<R>text'],
    ['bad self-closing tag', '<R/x>'],
    ['unterminated attribute', '<R a="1></R>'],
    ['empty', ''],
    ['only whitespace', '  \n '],
    ['text before the root', 'x<R/>'],
    ['a deep document', `${'<a>'.repeat(200)}x${'</a>'.repeat(200)}`],
  ];
  for (const [name, xml] of documents) {
    it(name, () => expectSameAsSdk(xml));
  }
});

describe("the provider's EC2 client against the lab", () => {
  const ACCOUNT = '222222222222';
  let lab: RunningLab;
  let clients: AwsClients;
  let account: AccountClients;
  let stock: EC2Client;
  const bodies: string[] = [];

  beforeAll(async () => {
    lab = await startLab(demoScenario({ snapshotDurationMs: 60_000 }));
    const made = await collectorClients(lab, ACCOUNT, 'xml-test');
    ({ clients, account } = made);
    stock = new EC2Client({ region: lab.region, endpoint: lab.endpoint, credentials: made.identity });
    // Keeps each raw answer the stock client reads, for the parser comparison below.
    stock.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const response = result.response as { body: AsyncIterable<Uint8Array> };
        const chunks: Buffer[] = [];
        for await (const chunk of response.body) chunks.push(Buffer.from(chunk));
        const body = Buffer.concat(chunks);
        bodies.push(body.toString('utf8'));
        response.body = Readable.from([body]);
        return result;
      },
      { step: 'deserialize', priority: 'low' },
    );
  });

  afterAll(async () => {
    stock.destroy();
    clients.destroy();
    await lab.stop();
  });

  it('DescribeInstances, DescribeVolumes and DescribeSnapshots answer as the stock SDK client does, field for field', async () => {
    const instances = [...lab.state.region(lab.region).instances.values()].filter((i) => i.ownerId === ACCOUNT);
    expect(instances.length).toBeGreaterThan(0);
    const volumeIds = instances.flatMap((i) => i.blockDevices.map((b) => b.volumeId));
    expect(volumeIds.length).toBeGreaterThan(0);
    const commands = [
      () => new DescribeInstancesCommand({ Filters: [{ Name: 'instance-id', Values: instances.map((i) => i.id) }] }),
      () => new DescribeInstancesCommand({}),
      () => new DescribeVolumesCommand({ Filters: [{ Name: 'volume-id', Values: volumeIds }] }),
      () => new DescribeSnapshotsCommand({ OwnerIds: ['self'] }),
      () => new DescribeInstancesCommand({ InstanceIds: ['i-0000000000000000f'] }),
    ];
    for (const make of commands) {
      const viaStock = await stock.send(make() as never).then(
        (o: { $metadata: unknown }) => ({ ok: true, ...o, $metadata: undefined }),
        (e: Error) => ({ ok: false, name: e.name, message: e.message }),
      );
      const viaProvider = await account.ec2.send(make() as never).then(
        (o: { $metadata: unknown }) => ({ ok: true, ...o, $metadata: undefined }),
        (e: Error) => ({ ok: false, name: e.name, message: e.message }),
      );
      expect(viaProvider).toStrictEqual(viaStock);
    }
    await stock.send(new GetConsoleOutputCommand({ InstanceId: instances[0]!.id }));
    expect(bodies.length).toBe(commands.length + 1);
    for (const body of bodies) expectSameAsSdk(body);
  });
});
