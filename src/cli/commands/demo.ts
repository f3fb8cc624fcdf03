import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfigFile } from '../../providers/config.js';
import { ensureConfiguredDir } from '../../custody/configured-dir.js';
import { CustodyError, EXIT } from '../../core/errors.js';
import { exitCodeForOutcomes } from '../../core/outcomes.js';
import { DEFAULT_COLLECT_OPTIONS } from '../../core/orchestrator.js';
import { parseTarget } from '../../providers/targets.js';
import { parseCommandArgs, stringValue } from '../args.js';
import { collectCase } from '../../app/collect-case.js';
import { collectJson } from './collect.js';
import type { CollectCaseResult } from '../../app/collect-case.js';
import type { AgainstOutcome, CliDeps, DemoLab, ReportPaths } from '../deps.js';
import { DEMO_HELP } from '../help.js';
import type { CliIo } from '../io.js';
import { createProgress, writeProgressSummary } from '../progress.js';
import { renderAgainst, renderCopy, renderKeepApart, renderOutcomes, renderSummary, renderVerify } from '../render.js';

/**
 * `custody demo`: a whole case against the rehearsal lab. Exit 0 when the demo ran as designed:
 * every tagged target collected, the untagged ones refused by the collector policy, the case
 * verified.
 */
export async function runDemoCommand(args: readonly string[], io: CliIo, deps: CliDeps): Promise<number> {
  const { values, positionals } = parseCommandArgs('demo', args);
  if (values.help) {
    io.stdout(`${DEMO_HELP}\n`);
    return EXIT.OK;
  }
  // The demo takes no argument: one given would be ignored (a folder meant for --dir, and the
  // case would land in a temporary folder instead), so it is refused before anything starts.
  if (positionals.length > 0) {
    throw new CustodyError('E_INPUT', `demo takes no arguments, but was given "${positionals[0]}"; for the demo's folder use --dir D (see custody demo --help)`);
  }
  const json = values.json === true;
  const given = stringValue(values, 'dir');
  const dir = given ? resolve(io.cwd, given) : mkdtempSync(join(tmpdir(), 'custody-demo-'));
  await ensureConfiguredDir(dir, '--dir');
  const say = (line: string) => {
    if (!json) io.stdout(`${line}\n`);
  };

  const lab = await deps.startDemoLab();
  const restoreEnv = useLabEnv(lab);
  let labEnvPath: string | undefined;
  // The keys in lab.env die with the lab: remove the file however the process ends (a second
  // Ctrl-C exits at once, without running the finally below).
  const removeLabEnv = () => {
    if (labEnvPath) rmSync(labEnvPath, { force: true });
  };
  process.once('exit', removeLabEnv);
  try {
    for (const line of lab.description) say(line);
    const configPath = writeDemoConfig(dir, lab);
    const where = values.keep === true ? "in this process's environment, and in lab.env once the case is done" : "only in this process's environment";
    say(`Config: ${configPath} (endpoints point at the lab; the lab's keys are ${where})`);
    const config = loadConfigFile(configPath);
    const caseId = `DEMO-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
    const targets = [...lab.targets.collectable, ...lab.targets.refusedByPolicy].map(parseTarget);
    const result = await collectCase(
      {
        config,
        caseId,
        targets,
        selectors: [],
        options: { ...DEFAULT_COLLECT_OPTIONS, screenshot: true },
        resume: false,
        progress: createProgress(io, json),
        ...(io.signal ? { signal: io.signal } : {}),
      },
      deps,
    );
    writeProgressSummary(io, json, `${renderSummary(result.summary)}; case folder ${result.caseDir}`);
    const verified = result.verify?.ok === true;
    // The copy in the lab's Object Lock bucket, checked as an examiner would: verify --against.
    const against = result.copy?.ok && deps.verifyAgainst ? await deps.verifyAgainst(result.caseDir, result.copy.url, config) : undefined;
    const report = verified ? await deps.renderReport(result.caseDir) : undefined;
    // Each part's own checks on the closed case (AWS: every preserved volume hashed).
    const checks = lab.checkCase(result.caseDir);
    const asDesigned = ranAsDesigned(result, lab) && checks.ok && (lab.evidenceBucket === undefined || against?.ok === true);
    // Stopped by Ctrl-C or SIGTERM: cancelled (7), as collect says it, not a demo that went wrong.
    const exitCode = result.interrupted
      ? EXIT.CANCELLED
      : asDesigned
        ? EXIT.OK
        : result.verify && !verified
          ? EXIT.VERIFY_FAILED
          : Math.max(EXIT.PARTIAL, exitCodeForOutcomes(result.outcomes));

    const keep = values.keep === true;
    // The lab's keys go to a file only when the lab outlives the case, for commands in another shell.
    if (keep) labEnvPath = writeLabEnv(dir, lab);
    if (json) {
      io.stdout(
        `${JSON.stringify(
          {
            ...collectJson(result, exitCode),
            report: report ?? null,
            refusedByDesign: lab.targets.refusedByPolicy,
            followed: lab.targets.followed,
            ...(against ? { against } : {}),
            ranAsDesigned: asDesigned,
            ...(labEnvPath ? { lab: { endpoint: lab.endpoint, endpoints: lab.endpoints, config: configPath, env: labEnvPath } } : {}),
          },
          null,
          2,
        )}\n`,
      );
    } else {
      say(renderDemo(result, lab, report, asDesigned, against, checks.lines));
    }
    if (keep) await keepLabRunning(lab, configPath, labEnvPath, io, json);
    return exitCode;
  } finally {
    process.off('exit', removeLabEnv);
    removeLabEnv();
    restoreEnv();
    await lab.close();
  }
}

/** Every collectable target collected and every untagged one refused (by the policy, not by us). */
function ranAsDesigned(result: CollectCaseResult, lab: DemoLab): boolean {
  const byTarget = new Map(result.outcomes.map((o) => [o.target, o]));
  const collected = [...lab.targets.collectable, ...lab.targets.followed].every((t) => byTarget.get(t)?.status === 'collected');
  const refused = lab.targets.refusedByPolicy.every((t) => {
    const outcome = byTarget.get(t);
    return outcome?.status === 'failed' && outcome.error?.code === 'E_ACCESS_DENIED';
  });
  return collected && refused && result.verify?.ok === true;
}

function renderDemo(
  result: CollectCaseResult,
  lab: DemoLab,
  report: ReportPaths | undefined,
  asDesigned: boolean,
  against: AgainstOutcome | undefined,
  checkLines: readonly string[],
): string {
  const lines = [
    '',
    `Case ${result.caseId} (analyst ${result.analyst})`,
    renderOutcomes(result.outcomes),
    renderSummary(result.summary),
    result.verify ? renderVerify(result.verify) : 'Interrupted before the case could be closed.',
    ...(result.copy ? [renderCopy(result.copy)] : []),
    ...(against ? [renderAgainst(against)] : []),
    ...checkLines,
  ];
  if (report?.redactedFiles !== undefined) lines.push(renderRedactedFiles(report.redactedFiles));
  if (report) lines.push(`Report: ${report.markdown}`, `        ${report.html}`);
  lines.push(`Case folder: ${result.caseDir}`);
  lines.push(...renderKeepApart(result.keyFingerprint, result.verify?.head));
  lines.push('');
  if (asDesigned) {
    const { followed, refusedByPolicy } = lab.targets;
    if (followed.length === 1) lines.push(`The pod's node was followed to the machine behind it (${followed[0]}) and its disks preserved too.`);
    if (followed.length > 1) lines.push(`Each pod's node was followed to the machine behind it and its disks preserved too: ${followed.join(', ')}.`);
    const one = refusedByPolicy.length === 1;
    lines.push(
      `The demo ran as designed: ${refusedByPolicy.length} machine${one ? ' was' : 's were'} refused by the collector policy on purpose`,
      `(no collection tag, or no collector role assignment on Azure); the case records the denied action and resource, and the`,
      'other targets were collected and verified. Try: custody verify ' + result.caseDir,
      '(custody is on your PATH after npm install -g . or npm link in the checkout; there, node bin/custody.js works too)',
    );
    if (result.copy?.ok) lines.push(`The case was copied to the lab's Object Lock bucket and checked against it (custody verify --against ${result.copy.url}).`);
  } else {
    lines.push('The demo did NOT run as designed: see the outcomes above.');
  }
  return lines.join('\n');
}

/** How many descriptions lost a customer credential (the demo's pods' DATABASE_URL, the Azure VM's SAS). */
function renderRedactedFiles(files: number): string {
  return `Descriptions redacted: ${files} JSON description file${files === 1 ? '' : 's'} stored with a customer credential cut out (each listed in the report with its pre-redaction SHA-256)`;
}

function writeDemoConfig(dir: string, lab: DemoLab): string {
  const path = join(dir, 'custody.config.json');
  // Every cloud section comes from a demo part and points at its lab, so nothing can reach a real cloud by accident.
  const config = { casesDir: 'cases', keysDir: 'keys', ...lab.config };
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return path;
}

/** Sets (or unsets) the variables the demo parts need while the case runs; returns an undo. */
function useLabEnv(lab: DemoLab): () => void {
  const saved = new Map(Object.keys(lab.env).map((name) => [name, process.env[name]]));
  for (const [name, value] of Object.entries(lab.env)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  return () => {
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

/**
 * Writes `<dir>/lab.env` (0600): the lab's own orchestrator keys, which this loopback process
 * made up and alone accepts, for `. lab.env` in another shell. Never real credentials.
 */
function writeLabEnv(dir: string, lab: DemoLab): string {
  const path = join(dir, 'lab.env');
  const unset = Object.entries(lab.env).flatMap(([name, value]) => (value === undefined ? [name] : []));
  const lines = [
    `# cloud-custody demo lab: lab-only keys, valid only against the rehearsal lab at ${labEndpoints(lab)}`,
    '# (a loopback process started by `custody demo --keep`), not real cloud credentials. Removed when the lab stops.',
    ...(unset.length > 0 ? [`unset ${unset.join(' ')}`] : []),
    ...Object.entries(lab.env).flatMap(([name, value]) => (value === undefined ? [] : [`export ${name}=${shellQuote(value)}`])),
  ];
  writeFileSync(path, `${lines.join('\n')}\n`, { mode: 0o600 });
  // `mode` applies only when the file is created; a lab.env left by an earlier run keeps its own.
  chmodSync(path, 0o600);
  return path;
}

/** One part: its URL; several: each URL with its cloud (`http://… (AWS), http://… (GCP)`). */
function labEndpoints(lab: DemoLab): string {
  const entries = Object.entries(lab.endpoints);
  return entries.length === 1 ? lab.endpoint : entries.map(([label, url]) => `${url} (${label})`).join(', ');
}

/** Quotes for a POSIX shell only when needed, so the printed commands stay readable. */
function shellQuote(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

async function keepLabRunning(lab: DemoLab, configPath: string, labEnvPath: string | undefined, io: CliIo, json: boolean): Promise<void> {
  if (!json) {
    const config = shellQuote(configPath);
    const lines = [
      '',
      `The lab keeps running at ${labEndpoints(lab)}; press Ctrl-C to stop it. In another shell:`,
      ...(labEnvPath ? [`  . ${shellQuote(labEnvPath)}`] : []),
      `  custody preflight --config ${config}`,
      // One named target per cloud, to see what collecting it would call.
      ...lab.parts.flatMap((part) => (part.targets.collectable[0] ? [`  custody plan --config ${config} ${shellQuote(part.targets.collectable[0])}`] : [])),
      ...(lab.targets.selector ? [`  custody collect --config ${config} --case LAB-CASE-1 --select ${shellQuote(lab.targets.selector)}`] : []),
      `${labEnvPath ?? 'lab.env'} holds lab-only keys, valid only against this loopback lab (not real cloud credentials); it is removed when the lab stops.`,
    ];
    io.stdout(`${lines.join('\n')}\n`);
  }
  await new Promise<void>((done) => {
    if (!io.signal || io.signal.aborted) return done();
    io.signal.addEventListener('abort', () => done(), { once: true });
  });
  if (!json) io.stdout(`Stopping the lab${labEnvPath ? ' and removing lab.env (its keys die with the lab)' : ''}.\n`);
}
