// Placeholder until the real pieces are wired.
import { CustodyError } from '../core/errors.js';
import type { CliDeps } from './deps.js';
export function defaultDeps(): CliDeps {
  throw new CustodyError('E_UNSUPPORTED', 'not wired yet');
}
