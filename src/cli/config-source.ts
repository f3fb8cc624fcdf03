import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadConfigFile } from '../providers/config.js';
import type { CustodyConfig } from '../providers/config.js';
import { CustodyError } from '../core/errors.js';

export const DEFAULT_CONFIG_FILE = 'custody.config.json';

/**
 * Finds and loads the configuration: `--config`, else `$CUSTODY_CONFIG`, else
 * `./custody.config.json`. Missing or invalid → `E_CONFIG` (exit 3) saying where it looked.
 */
export function loadCliConfig(flag: string | undefined, env: NodeJS.ProcessEnv, cwd: string): { config: CustodyConfig; path: string } {
  const chosen = flag ?? (env.CUSTODY_CONFIG || undefined);
  const path = resolve(cwd, chosen ?? DEFAULT_CONFIG_FILE);
  if (!existsSync(path)) {
    const how = flag ? '--config' : env.CUSTODY_CONFIG ? '$CUSTODY_CONFIG' : 'the default location';
    throw new CustodyError(
      'E_CONFIG',
      `no configuration file at ${path} (from ${how}); pass --config FILE, set CUSTODY_CONFIG, or create ./${DEFAULT_CONFIG_FILE}`,
      { resource: path },
    );
  }
  return { config: loadConfigFile(path), path };
}
