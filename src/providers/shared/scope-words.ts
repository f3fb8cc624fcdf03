/**
 * Where a selector is searched, in words for `plan`: the configured ids when they are few, their
 * count when a list would drown the note (an organisation may allow hundreds of accounts).
 *
 * @example
 * configuredScope('allowed projects', 'gcp.allowedProjects', ['web-prod']) // 'the allowed projects (gcp.allowedProjects: web-prod)'
 */
export function configuredScope(noun: string, key: string, ids: readonly string[], most = 3): string {
  return ids.length <= most ? `the ${noun} (${key}: ${ids.join(', ')})` : `the ${ids.length} ${noun} of ${key}`;
}
