// The long flags a command accepts, as parseCommandArgs takes them: its own, the providers' collect
// flags (collect, plan) and the providers' preflight scopes (preflight).
import { COMMAND_OPTIONS, type CommandName } from '../../src/cli/args.js';
import { REGISTRY } from '../../src/providers/registry.js';

export function acceptedFlags(command: CommandName): string[] {
  const providers =
    command === 'collect' || command === 'plan'
      ? REGISTRY.flags().map((f) => f.flag)
      : command === 'preflight'
        ? REGISTRY.modules.flatMap((m) => m.preflightScopes ?? []).map((s) => s.flag)
        : [];
  return [...Object.keys(COMMAND_OPTIONS[command]), ...providers];
}
