/**
 * A selector whose value is empty is refused by every provider, before anything is created: it is
 * almost always a shell variable that was not set (`--select tag:Env=$ENV`), and searching for it
 * would select by the key alone, or by an empty value, not by what the responder meant.
 */

/** The reason an empty `what` ("tag value", "label value") gives in the provider's refusal. */
export function emptyValueReason(what: string): string {
  return `the ${what} is empty (a shell variable that was not set?): give the value to match`;
}
