/**
 * What core knows of a target or a selector: an envelope. The provider named in it parsed the
 * text and owns every other field (an ARN, a cluster, a subscription); core only routes on
 * `provider`, groups on `kind` and records `key`, the stable text the ledger's `target` field
 * holds and that parses back to the same target (`registry.parseTarget(target.key)`).
 */
export interface Target {
  /** The registry name of the provider that parsed it (`aws`, `kubernetes`, …). */
  readonly provider: string;
  /** The provider's kind of target (`aws-instance`, `k8s-pod`, …). */
  readonly kind: string;
  /** Stable, human-readable, parses back to this target: the ledger's `target` field. */
  readonly key: string;
  /**
   * Set when other spellings of `key` name the same resource (Azure ids compare
   * case-insensitively): the text they all share, so a case takes the target once. Default `key`.
   */
  readonly sameAs?: string;
  /**
   * Set when another target takes everything this one takes and more (a pod takes each of its
   * containers): that target's identity. A case given both takes the wider one only.
   */
  readonly within?: string;
  /**
   * Set by core, never parsed: other targets of the run that share this one's `within` when that
   * wider target is not itself one (two containers of one pod, named without the pod). They are
   * recorded as covered by this target, and its provider takes them in this one collection.
   */
  readonly alongside?: readonly Target[];
}

/** A `--select` expression, parsed by the provider that claims it. */
export interface Selector {
  readonly provider: string;
  readonly kind: string;
  /** Stable text that parses back to this selector (recorded in `case.opened`, `selector.*`). */
  readonly key: string;
}

/** A stable, human-readable key for a target: used in the ledger's `target` field. */
export function targetKey(target: Target): string {
  return target.key;
}

/** What two spellings of one target share (`sameAs`, else `key`): a case takes each target once. */
export function targetIdentity(target: Target): string {
  return target.sameAs ?? target.key;
}

export function selectorKey(selector: Selector): string {
  return selector.key;
}
