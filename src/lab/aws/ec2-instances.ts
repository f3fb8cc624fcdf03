/**
 * EC2 instance and volume operations: DescribeInstances, DescribeVolumes, GetConsoleOutput,
 * GetConsoleScreenshot, ModifyInstanceAttribute, DescribeInstanceAttribute.
 */
import { authorize, resourceTagContext, type CallContext, type HandlerResult } from './context.js';
import {
  applyFilters,
  endIfDryRun,
  findInstances,
  findVolumes,
  instanceArn,
  paginate,
  parseFilters,
  requireString,
  respond,
  tagFilterValues,
  validatePaging,
  visibleInstances,
  visibleVolumes,
} from './ec2-common.js';
import { invalidParameterValue, LabAwsError } from './errors.js';
import { getList, getString, getStrings, type QueryTree } from './query.js';
import { INSTANCE_STATE_CODES, type LabInstance, type LabVolume, type LabState } from './state.js';
import { items, tagSet, type XmlChild } from './xml.js';

const INSTANCE_FILTERS = [
  'instance-id',
  'instance-state-name',
  'instance-state-code',
  'instance-type',
  'availability-zone',
  'vpc-id',
  'subnet-id',
  'private-ip-address',
  'owner-id',
  'block-device-mapping.volume-id',
  'block-device-mapping.device-name',
] as const;

const VOLUME_FILTERS = [
  'volume-id',
  'status',
  'encrypted',
  'size',
  'volume-type',
  'availability-zone',
  'attachment.instance-id',
  'attachment.device',
  'attachment.status',
  'attachment.delete-on-termination',
] as const;

function instanceFilterValues(instance: LabInstance, name: string): string[] | undefined {
  const tagValues = tagFilterValues(name, instance.tags);
  if (tagValues) return tagValues;
  switch (name) {
    case 'instance-id':
      return [instance.id];
    case 'instance-state-name':
      return [instance.state];
    case 'instance-state-code':
      return [String(INSTANCE_STATE_CODES[instance.state])];
    case 'instance-type':
      return [instance.instanceType];
    case 'availability-zone':
      return [instance.availabilityZone];
    case 'vpc-id':
      return [instance.vpcId];
    case 'subnet-id':
      return [instance.subnetId];
    case 'private-ip-address':
      return [instance.privateIpAddress];
    case 'owner-id':
      return [instance.ownerId];
    case 'block-device-mapping.volume-id':
      return instance.blockDevices.map((d) => d.volumeId);
    case 'block-device-mapping.device-name':
      return instance.blockDevices.map((d) => d.deviceName);
    default:
      return undefined;
  }
}

/** An instance's EBS mappings as EC2 writes them, in DescribeInstances and DescribeInstanceAttribute alike. */
function renderBlockDevices(instance: LabInstance): XmlChild[] {
  return items(instance.blockDevices, (d) => [
    ['deviceName', d.deviceName],
    [
      'ebs',
      [
        ['volumeId', d.volumeId],
        ['status', 'attached'],
        ['attachTime', d.attachTime],
        ['deleteOnTermination', d.deleteOnTermination],
      ],
    ],
  ]);
}

function renderInstance(instance: LabInstance): XmlChild[] {
  const terminated = instance.state === 'terminated';
  const children: XmlChild[] = [
    ['instanceId', instance.id],
    ['imageId', instance.imageId],
    ['instanceState', [['code', INSTANCE_STATE_CODES[instance.state]], ['name', instance.state]]],
    ['privateDnsName', terminated ? '' : `ip-${instance.privateIpAddress.replace(/\./g, '-')}.ec2.internal`],
    ['dnsName', ''],
    ['reason', terminated ? `User initiated (${new Date(instance.terminatedAt ?? 0).toISOString().replace(/\.\d+Z$/, ' GMT').replace('T', ' ')})` : ''],
    ['amiLaunchIndex', 0],
    ['instanceType', instance.instanceType],
    ['launchTime', instance.launchTime],
    ['placement', [['availabilityZone', instance.availabilityZone], ['groupName', ''], ['tenancy', 'default']]],
    ['monitoring', [['state', 'disabled']]],
    ['subnetId', terminated ? undefined : instance.subnetId],
    ['vpcId', terminated ? undefined : instance.vpcId],
    ['privateIpAddress', terminated ? undefined : instance.privateIpAddress],
    ['architecture', 'x86_64'],
    ['rootDeviceType', 'ebs'],
    ['rootDeviceName', instance.rootDeviceName],
    ['blockDeviceMapping', renderBlockDevices(instance)],
    ['virtualizationType', 'hvm'],
    ['hypervisor', 'xen'],
    ['ebsOptimized', false],
    ['enaSupport', true],
  ];
  if (Object.keys(instance.tags).length > 0) children.push(['tagSet', tagSet(instance.tags)]);
  if (terminated) {
    children.push([
      'stateReason',
      [
        ['code', 'Client.UserInitiatedShutdown'],
        ['message', 'Client.UserInitiatedShutdown: User initiated shutdown'],
      ],
    ]);
  }
  return children;
}

async function describeInstances(call: CallContext, params: QueryTree): Promise<HandlerResult> {
  const ids = getStrings(params, 'InstanceId');
  const paging = { action: 'DescribeInstances', min: 5, max: 1000, idsGiven: ids.length > 0, idsParameter: 'instancesSet' };
  validatePaging(params, paging);
  await authorize(call, 'ec2:DescribeInstances', [{ resource: '*' }]);
  endIfDryRun(params);
  const candidates = ids.length > 0 ? findInstances(call, ids) : visibleInstances(call);
  const matched = applyFilters(candidates, parseFilters(params), INSTANCE_FILTERS, instanceFilterValues);
  const { page, nextToken } = paginate(matched, params, paging);
  // One reservation per instance: the lab launches each instance on its own.
  return respond(call, 'DescribeInstances', [
    [
      'reservationSet',
      items(page, (instance) => [
        ['reservationId', instance.reservationId],
        ['ownerId', instance.ownerId],
        ['groupSet', []],
        ['instancesSet', items([instance], renderInstance)],
      ]),
    ],
    ['nextToken', nextToken],
  ]);
}

function volumeFilterValues(state: LabState, volume: LabVolume, name: string): string[] | undefined {
  const tagValues = tagFilterValues(name, volume.tags);
  if (tagValues) return tagValues;
  const attachment = state.attachmentOf(volume);
  switch (name) {
    case 'volume-id':
      return [volume.id];
    case 'status':
      return [attachment ? 'in-use' : 'available'];
    case 'encrypted':
      return [String(volume.encrypted)];
    case 'size':
      return [String(volume.size)];
    case 'volume-type':
      return [volume.volumeType];
    case 'availability-zone':
      return [volume.availabilityZone];
    case 'attachment.instance-id':
      return attachment ? [attachment.instance.id] : [];
    case 'attachment.device':
      return attachment ? [attachment.device.deviceName] : [];
    case 'attachment.status':
      return attachment ? ['attached'] : [];
    case 'attachment.delete-on-termination':
      return attachment ? [String(attachment.device.deleteOnTermination)] : [];
    default:
      return undefined;
  }
}

function renderVolume(state: LabState, volume: LabVolume): XmlChild[] {
  const attachment = state.attachmentOf(volume);
  const children: XmlChild[] = [
    ['volumeId', volume.id],
    ['size', volume.size],
    ['snapshotId', ''],
    ['availabilityZone', volume.availabilityZone],
    ['status', attachment ? 'in-use' : 'available'],
    ['createTime', volume.createTime],
    [
      'attachmentSet',
      attachment
        ? items([attachment], (a) => [
            ['volumeId', volume.id],
            ['instanceId', a.instance.id],
            ['device', a.device.deviceName],
            ['status', 'attached'],
            ['attachTime', a.device.attachTime],
            ['deleteOnTermination', a.device.deleteOnTermination],
          ])
        : [],
    ],
    ['volumeType', volume.volumeType],
    ['iops', 3000],
    ['throughput', 125],
    ['encrypted', volume.encrypted],
    ['kmsKeyId', volume.kmsKeyId],
    ['multiAttachEnabled', false],
  ];
  if (Object.keys(volume.tags).length > 0) children.push(['tagSet', tagSet(volume.tags)]);
  return children;
}

async function describeVolumes(call: CallContext, params: QueryTree): Promise<HandlerResult> {
  const ids = getStrings(params, 'VolumeId');
  const paging = { action: 'DescribeVolumes', min: 5, max: 500, idsGiven: ids.length > 0, idsParameter: 'volumeSet' };
  validatePaging(params, paging);
  await authorize(call, 'ec2:DescribeVolumes', [{ resource: '*' }]);
  endIfDryRun(params);
  const { state } = call.lab;
  const candidates = ids.length > 0 ? findVolumes(call, ids) : visibleVolumes(call);
  const matched = applyFilters(candidates, parseFilters(params), VOLUME_FILTERS, (v, name) => volumeFilterValues(state, v, name));
  const { page, nextToken } = paginate(matched, params, paging);
  return respond(call, 'DescribeVolumes', [
    ['volumeSet', items(page, (v) => renderVolume(state, v))],
    ['nextToken', nextToken],
  ]);
}

function oneInstance(call: CallContext, params: QueryTree): LabInstance {
  const [instance] = findInstances(call, [requireString(params, 'InstanceId')]);
  if (!instance) throw new LabAwsError('InvalidInstanceID.NotFound', 'The instance ID does not exist');
  return instance;
}

function requireLive(instance: LabInstance, what: string): void {
  if (instance.state === 'terminated' || instance.state === 'shutting-down') {
    throw new LabAwsError(
      'IncorrectInstanceState',
      `The instance '${instance.id}' is not in a state from which ${what}.`,
      400,
    );
  }
}

async function getConsoleOutput(call: CallContext, params: QueryTree): Promise<HandlerResult> {
  const instance = oneInstance(call, params);
  await authorize(call, 'ec2:GetConsoleOutput', [{ resource: instanceArn(instance), context: resourceTagContext(instance.tags) }]);
  endIfDryRun(params);
  return respond(call, 'GetConsoleOutput', [
    ['instanceId', instance.id],
    ['timestamp', new Date(call.lab.state.clock.now())],
    // EC2 sends the console text base64-encoded; the SDK hands it over as is.
    ['output', Buffer.from(instance.consoleOutput, 'utf8').toString('base64')],
  ]);
}

/** A mid-grey 1×1 baseline JPEG, built marker by marker (no image library in the lab). */
function tinyJpeg(): Buffer {
  const segment = (marker: number, body: number[]): number[] => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
  const oneSymbolTable = (tableClass: number): number[] => [tableClass, 1, ...new Array<number>(15).fill(0), 0x00];
  return Buffer.from([
    0xff, 0xd8, // start of image
    ...segment(0xdb, [0x00, ...new Array<number>(64).fill(1)]), // quantisation table
    ...segment(0xc0, [8, 0, 1, 0, 1, 1, 1, 0x11, 0]), // frame: 8-bit, 1x1, one component
    ...segment(0xc4, oneSymbolTable(0x00)), // DC table: one code, "difference 0"
    ...segment(0xc4, oneSymbolTable(0x10)), // AC table: one code, "end of block"
    ...segment(0xda, [1, 1, 0x00, 0, 63, 0]), // scan header
    0x3f, // DC "0", EOB "0", padded with ones
    0xff, 0xd9, // end of image
  ]);
}

async function getConsoleScreenshot(call: CallContext, params: QueryTree): Promise<HandlerResult> {
  const instance = oneInstance(call, params);
  await authorize(call, 'ec2:GetConsoleScreenshot', [{ resource: instanceArn(instance), context: resourceTagContext(instance.tags) }]);
  endIfDryRun(params);
  requireLive(instance, 'a screenshot can be taken');
  return respond(call, 'GetConsoleScreenshot', [
    ['instanceId', instance.id],
    ['imageData', tinyJpeg().toString('base64')],
  ]);
}

async function modifyInstanceAttribute(call: CallContext, params: QueryTree): Promise<HandlerResult> {
  const instance = oneInstance(call, params);
  const attribute = getString(params, 'Attribute');
  const disableText = getString(params, 'DisableApiTermination.Value') ?? (attribute === 'disableApiTermination' ? getString(params, 'Value') : undefined);
  const mappings = getList(params, 'BlockDeviceMapping').flatMap((entry) => {
    if (typeof entry !== 'object' || typeof entry.DeviceName !== 'string') return [];
    const ebs = typeof entry.Ebs === 'object' ? entry.Ebs : {};
    const flag = typeof ebs.DeleteOnTermination === 'string' ? ebs.DeleteOnTermination : undefined;
    return [{ deviceName: entry.DeviceName, deleteOnTermination: flag === undefined ? undefined : flag === 'true' }];
  });
  if (disableText === undefined && mappings.length === 0) {
    throw new LabAwsError('InvalidParameterCombination', 'No attributes specified.', 400);
  }
  const names = [...(disableText !== undefined ? ['disableApiTermination'] : []), ...(mappings.length > 0 ? ['blockDeviceMapping'] : [])];
  await authorize(call, 'ec2:ModifyInstanceAttribute', [
    { resource: instanceArn(instance), context: { ...resourceTagContext(instance.tags), 'ec2:Attribute': names } },
  ]);
  endIfDryRun(params);
  requireLive(instance, 'its attributes can be modified');
  for (const mapping of mappings) {
    const device = instance.blockDevices.find((d) => d.deviceName === mapping.deviceName);
    if (!device) {
      throw new LabAwsError('InvalidInstanceAttributeValue', `No device is currently mapped at ${mapping.deviceName}`, 400);
    }
  }
  if (disableText !== undefined && !['true', 'false'].includes(disableText.toLowerCase())) {
    throw invalidParameterValue(`Invalid value '${disableText}' for disableApiTermination`);
  }
  // An injected fault (LabControl.ignoreAttributeChanges): EC2 answers `return true` and the
  // attribute stays as it was, which only a read-back can tell.
  const ignored = call.lab.control.ignoresAttributeChanges(instance.id);
  if (disableText !== undefined && !ignored.includes('disableApiTermination')) {
    instance.disableApiTermination = disableText.toLowerCase() === 'true';
  }
  for (const mapping of ignored.includes('blockDeviceMapping') ? [] : mappings) {
    const device = instance.blockDevices.find((d) => d.deviceName === mapping.deviceName);
    if (device && mapping.deleteOnTermination !== undefined) device.deleteOnTermination = mapping.deleteOnTermination;
  }
  return respond(call, 'ModifyInstanceAttribute', [['return', true]]);
}

/** The attributes the lab answers for; EC2's others (`userData`, `groupSet`, …) are refused as unknown here. */
const DESCRIBABLE_ATTRIBUTES = ['disableApiTermination', 'blockDeviceMapping', 'instanceType', 'rootDeviceName'] as const;

/** One attribute of one instance, in EC2's shape: `<instanceId>` and an element named after the attribute. */
async function describeInstanceAttribute(call: CallContext, params: QueryTree): Promise<HandlerResult> {
  const attribute = requireString(params, 'Attribute');
  if (!(DESCRIBABLE_ATTRIBUTES as readonly string[]).includes(attribute)) throw invalidParameterValue(`Value (${attribute}) for parameter attribute is invalid. Unknown attribute.`);
  const instance = oneInstance(call, params);
  await authorize(call, 'ec2:DescribeInstanceAttribute', [{ resource: instanceArn(instance), context: resourceTagContext(instance.tags) }]);
  endIfDryRun(params);
  const value: XmlChild[] =
    attribute === 'disableApiTermination'
      ? [['disableApiTermination', [['value', instance.disableApiTermination]]]]
      : attribute === 'blockDeviceMapping'
        ? [['blockDeviceMapping', renderBlockDevices(instance)]]
        : attribute === 'instanceType'
          ? [['instanceType', [['value', instance.instanceType]]]]
          : [['rootDeviceName', [['value', instance.rootDeviceName]]]];
  return respond(call, 'DescribeInstanceAttribute', [['instanceId', instance.id], ...value]);
}

export const instanceHandlers: Record<string, (call: CallContext, params: QueryTree) => Promise<HandlerResult>> = {
  DescribeInstances: describeInstances,
  DescribeVolumes: describeVolumes,
  GetConsoleOutput: getConsoleOutput,
  GetConsoleScreenshot: getConsoleScreenshot,
  ModifyInstanceAttribute: modifyInstanceAttribute,
  DescribeInstanceAttribute: describeInstanceAttribute,
};
