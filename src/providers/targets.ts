/**
 * Targets and selectors as the registry parses them, with every provider's target types: what
 * the CLI, the library API and tests use to turn text into targets.
 */
import type { Selector, Target } from '../core/targets.js';
import { REGISTRY } from './registry.js';

export type { Selector, Target } from '../core/targets.js';
export { selectorKey, targetKey } from '../core/targets.js';
export type { AwsInstanceTarget, AwsTagSelector, AwsTarget, AwsVolumeTarget } from './aws/targets.js';
export { parseEc2Arn, isAwsTarget } from './aws/targets.js';
export type { KubernetesLabelSelector, KubernetesPodTarget } from './kubernetes/targets.js';
export { isPodTarget } from './kubernetes/targets.js';

/** Parses one target named on the command line. Throws `E_INPUT` with the expected form. */
export function parseTarget(raw: string): Target {
  return REGISTRY.parseTarget(raw);
}

/** Parses a `--select` expression. */
export function parseSelector(raw: string): Selector {
  return REGISTRY.parseSelector(raw);
}
