import { validateCaseId } from '../../core/case-id.js';
import { CustodyError, EXIT } from '../../core/errors.js';
import { planCollection } from '../../core/plan.js';
import { parseSelector, parseTarget } from '../../providers/targets.js';
import { collectOptionsFrom, listValue, parseCommandArgs, stringValue } from '../args.js';
import { loadCliConfig } from '../config-source.js';
import type { CliDeps } from '../deps.js';
import { planHelp } from '../help.js';
import type { CliIo } from '../io.js';
import { renderPlan } from '../render.js';

/** `custody plan [options] TARGET...`: what collect would do; no cloud call, no write. */
export async function runPlanCommand(args: readonly string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parseCommandArgs('plan', args);
  if (values.help) {
    io.stdout(`${planHelp()}\n`);
    return EXIT.OK;
  }
  const caseId = stringValue(values, 'case');
  if (caseId) validateCaseId(caseId);
  const targets = positionals.map(parseTarget);
  const selectors = listValue(values, 'select').map(parseSelector);
  if (targets.length === 0 && selectors.length === 0) {
    throw new CustodyError('E_INPUT', 'plan needs at least one TARGET or --select EXPR (see custody plan --help)');
  }
  const { config } = loadCliConfig(stringValue(values, 'config'), io.env, io.cwd);
  const providers = await deps.createProviders(config);
  try {
    const plan = planCollection({ providers, targets, selectors, options: collectOptionsFrom(values) });
    // As collect, which would refuse the whole command: exit 3 when nothing named could be collected.
    const inputs = [...plan.targets, ...plan.selectors];
    const exitCode = inputs.length > 0 && inputs.every((input) => input.refused) ? EXIT.BAD_INPUT : EXIT.OK;
    if (values.json === true) io.stdout(`${JSON.stringify({ ...plan, exitCode }, null, 2)}\n`);
    else io.stdout(`${renderPlan(plan)}\n`);
    return exitCode;
  } finally {
    await Promise.allSettled(providers.map((p) => p.close?.()));
  }
}
