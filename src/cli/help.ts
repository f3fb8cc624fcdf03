// Help texts: one per command, shown by `custody --help` and `custody <command> --help`. The
// target forms and provider flags come from the registry's light descriptors (no SDK loaded).
import { helpRows } from '../core/help-layout.js';
import type { ProviderFlag } from '../core/provider-module.js';
import { REGISTRY } from '../providers/registry.js';

/** Where an option's description starts in a command's help; a longer flag puts it on the next line. */
const OPTION_COLUMN = 21;

const COMMANDS: ReadonlyArray<readonly [string, string]> = [
  ['collect', 'collect evidence from targets into a case folder (ledger, evidence, manifest)'],
  ['plan', 'show what collect would do — steps, API calls, IAM permissions — touching nothing'],
  ['preflight', 'check, changing nothing, that the roles in every account and cluster allow collection'],
  ['verify', 'check a case folder: hash chain, signatures, every evidence file'],
  ['report', 'write report.md and report.html into a case folder'],
  ['copy-case', 'copy a closed case to the Object Lock evidence bucket (aws.evidenceBucket), or retry'],
  ['fetch-case', 'restore a case folder from its copy in the evidence bucket'],
  ['demo', 'run a whole case against a local rehearsal lab (no cloud account needed)'],
];

export const MAIN_HELP = `custody — cloud forensics evidence collection with a tamper-evident chain of custody

Usage: custody <command> [options]

Commands:
${helpRows(COMMANDS, 2, 14)}

Options:
  -h, --help     show help (also: custody <command> --help, custody help <command>)
  -v, --version  show the version

Configuration: --config FILE, else $CUSTODY_CONFIG, else ./custody.config.json.
Exit codes: 0 all collected; 1 some targets partial or failed; 2 all failed; 3 bad input or
configuration (also no command or an unknown one); 4 verification failed;
5 the ledger could not be written; 6 the copy to the evidence bucket failed (the case is closed
and intact locally); 7 cancelled by Ctrl-C or SIGTERM (the case is left open: finish it with
--resume; stopped before it was opened, nothing was created); 70 internal error.
Set CUSTODY_DEBUG=1 to print stack traces.`;

/** The providers' own flags as option rows, their help as declared. */
function providerFlagRows(): Array<readonly [string, string]> {
  return REGISTRY.flags().map((f) => [flagForm(f), f.help] as const);
}

/** `--preserve`, `--image DIR`. */
function flagForm(f: ProviderFlag): string {
  return f.value ? `--${f.flag} ${f.value.placeholder}` : `--${f.flag}`;
}

export function collectHelp(): string {
  const options = helpRows(
    [
      ['--case ID', 'case id (letters, digits, ".", "_", "-"; no "/" or "..") [required]'],
      [
        '--analyst NAME',
        'who is collecting (default: config "analyst", else the caller identity of the first configured provider that has one, e.g. AWS); ' +
          'the authenticated caller identity is recorded beside it either way',
      ],
      ['--config FILE', 'configuration file'],
      ['--select EXPR', 'add the targets a selector finds (repeatable)'],
      ...providerFlagRows(),
      [
        '--resume',
        'continue an existing case: every target an earlier run admitted (named, selected or followed up) is finished; collected ones are not redone. ' +
          "With no TARGET or --select, the case's recorded targets and selectors are continued. A case that does not exist is refused.",
      ],
      ['--json', 'print one JSON document on stdout (no progress lines)'],
      ['-h, --help', 'show this help'],
    ],
    2,
    OPTION_COLUMN,
  );
  return `Usage: custody collect --case ID [options] TARGET...

Collects evidence from each target into <casesDir>/<ID>/. One failing target never stops the
others; every step is recorded in ledger.jsonl before and after it runs.

Options:
${options}

${REGISTRY.helpForms()}`;
}

/** @deprecated the text of collectHelp() for the product's registry, kept for callers of the constant. */
export const COLLECT_HELP = collectHelp();

export function planHelp(): string {
  const options = helpRows(
    [
      ['--config FILE', 'configuration file'],
      ['--select EXPR', 'selectors (listed; they are expanded only when collecting)'],
      ['--case ID', 'optional: the case id the plan is for'],
      // Taken, as collect takes it, so a collect command line can be planned as typed.
      ['--analyst NAME', 'accepted as collect takes it; not used (the plan makes no call)'],
      // The plan shows the steps and permissions these add, as collect would take them.
      ...providerFlagRows(),
      ['--json', 'print the plan as JSON'],
      ['-h, --help', 'show this help'],
    ],
    2,
    OPTION_COLUMN,
  );
  return `Usage: custody plan [options] TARGET...

Shows, per target, the steps collect would take, the API calls (and which mutate), and the IAM
permissions they need. Makes no cloud call and writes nothing. A target or selector collect
would refuse is listed as refused; exit 3 when every one is (or on bad input), else 0. The
providers' flags plan the steps they add, as collect would take them.

Options:
${options}

${REGISTRY.helpForms()}`;
}

export const VERIFY_HELP = `Usage: custody verify CASE [--expect-key K] [--expect-head SEQ:HASH] [--allow-open]
                            [--against s3://BUCKET/CASE] [--json]

CASE is a case folder, or a case id looked up in casesDir of the configuration (--config,
$CUSTODY_CONFIG, ./custody.config.json). Re-walks the ledger's hash chain, checks every
signature, re-hashes every evidence file against the hash the ledger recorded for it, and checks
the signed manifest against the ledger. Exit 0 when everything matches; exit 4 naming the first
entry or file that does not; exit 3 when CASE is not a case folder or an option is malformed.
Works offline.

A case must be closed (its ledger ends in case.closed — followed only by the records of its copy
to the evidence bucket, if any — and its manifest.json matches): entries cut from the end of an
open case cannot be noticed, so an open case fails unless --allow-open.

Options:
  --expect-key K          the case must be signed by this key: its fingerprint as collect prints
                          it (sha256:<64 hex>, the prefix optional) or the base64 public key;
                          catches a wholly re-signed ledger
  --expect-head SEQ:HASH  the ledger must end at this entry, as collect prints it ("Ledger
                          head"); catches a ledger cut back or extended, manifest and all
  --allow-open            verify a case that was not closed, up to its last entry
  --against URL           after the offline checks, also check the folder against its copy in
                          S3: every object recorded as copied is there under its recorded
                          version, with the same SHA-256, still under Object Lock until the
                          recorded date (forensics account credentials, standard AWS chain);
                          if the copy cannot be checked (no credentials, no region), the
                          offline verdict is still printed: exit 4 if it fails, else the
                          error's exit code (3 for credentials or configuration)
  --config FILE           where to find casesDir when CASE is a case id; with --against, the
                          S3 endpoint and region
  --json                  print the verification result as JSON
  -h, --help              show this help`;

export const REPORT_HELP = `Usage: custody report CASE [--out DIR] [--config FILE] [--json]

CASE is a case folder, or a case id looked up in casesDir of the configuration. Writes report.md
and report.html into the case folder (or into --out DIR) and prints their paths; anything that is
not a case folder holding its ledger.jsonl or manifest.json is refused (exit 3) and nothing is
written. Verifies the case first, as custody verify does (a case that is not closed fails); the
report says whether it verified, and the exit code is 4 when it did not. A case folder this user
cannot write (read-only media) is refused (exit 3) before it is verified: give --out.

Options:
  --out DIR       write the report into DIR (made if missing; outside the case folder) instead;
                  the case folder is only read, and a report already in DIR is never replaced
  --config FILE   where to find casesDir when CASE is a case id
  --json          print the paths and the verification as JSON
  -h, --help      show this help`;

export const DEMO_HELP = `Usage: custody demo [--keep] [--json] [--dir D]

Starts a local rehearsal lab on 127.0.0.1 that speaks the AWS wire protocols (STS, EC2, KMS, S3,
EBS direct), Azure's (Entra, Resource Manager, Blob Storage; https with a CA made for the run) and
GCP's (metadata server, IAM Credentials, Cloud Resource Manager, Compute Engine), and Kubernetes
API servers for a demo EKS, AKS and GKE cluster, points custody at them, and runs one case across
the three clouds: tagged AWS instances (every volume hashed), a volume under the aws/ebs key, an
Azure VM (restore point, disks copied into the evidence container, hashed and sealed), a GCE
instance and its disks (snapshotted into the forensics project), a compromised pod in each cluster
whose node is followed to the machine behind it, and one AWS instance, one Azure VM and one GCE
instance outside the collector's reach that the collector policy refuses (by design). Then closes
and verifies the case, copies it to the lab's Object Lock bucket and checks it against that copy,
and reports it. No cloud account or credentials are needed.

Options:
  --dir D       where to put the demo's config, keys and case folder (default: a new temporary
                folder, which is kept so you can read the case afterwards)
  --keep        keep the lab running after the case until Ctrl-C (or SIGTERM), with its
                lab-only keys in D/lab.env (removed when it stops) for preflight, plan and
                collect in another shell
  --json        print one JSON document on stdout
  -h, --help    show this help`;

export function preflightHelp(): string {
  const flags = REGISTRY.modules.flatMap((m) => m.preflightScopes ?? []);
  const scopes = helpRows(flags.map((f) => [`--${f.flag} ${f.placeholder ?? 'VALUE'}`, f.help] as const), 2, OPTION_COLUMN);
  return `Usage: custody preflight [options] [TARGET...]

Before an incident: checks that collection would be allowed, changing nothing. AWS: in every
allowed account (or --account, or the targets' accounts) assumes the collector role as a case
would and asks EC2 with DryRun about every mutation. Kubernetes: asks each configured cluster
(SelfSubjectAccessReview) about every operation the collector needs. Azure: asks ARM for the
effective permissions in every configured subscription (or --subscription) and at the evidence
container. GCP: in every allowed project (or --project, or the targets' projects) impersonates
the collector and asks IAM (testIamPermissions). Prints one row per check: ok, denied (with the
action), error, or warning (an optional safeguard not in place, such as a Kubernetes admission
policy; it never changes the exit code).

Exit codes: 0 every required check passed; 1 some could not be made (error); 2 one was denied
(collection would fail there); 3 bad input or config.

Options:
  --config FILE      configuration file
${scopes}
  --analyst NAME     recorded as the session's source identity (default: config "analyst")
  --json             print the rows as JSON
  -h, --help         show this help

A provider's own scoping flag (${flags.map((f) => `--${f.flag}`).join(', ')})
limits the checks to that provider.`;
}

export const COPY_CASE_HELP = `Usage: custody copy-case CASE [--config FILE] [--analyst NAME] [--json]

Copies a closed case to the evidence bucket of the configuration (aws.evidenceBucket), under
PREFIX + CASE/: the ledger as sealed by case.closed, manifest.json, every evidence file (and the
reports if present), each with S3's SHA-256 checksum and an Object Lock retention. Each object is
recorded in the ledger as S3 confirmed it (evidence.copied, then case.copied). collect does this
by itself when the bucket is configured; run copy-case to retry a copy that failed: it uploads
only what is not yet recorded as copied. The case must verify first. CASE is a case folder or a
case id in casesDir.

Exit codes: 0 copied; 3 bad input or configuration; 4 the case does not verify; 6 the copy failed
(recorded in the ledger; run the command again to retry); 7 stopped by Ctrl-C or SIGTERM after the
upload in flight (recorded; run the command again to finish). collect exits the same way when its
copy does not complete.

Options:
  --config FILE      configuration file
  --analyst NAME     who makes the copy (default: config "analyst", else the AWS caller identity)
  --json             print the result as JSON
  -h, --help         show this help`;

export const FETCH_CASE_HELP = `Usage: custody fetch-case s3://BUCKET/CASE --dir DIR [--config FILE] [--json]

Restores a case folder from its copy in the evidence bucket into DIR (which must not exist:
nothing is ever overwritten): the sealed ledger, manifest.json and every evidence file the ledger
records (the newest version of each), then verifies the folder offline. Exit 0 when it verifies,
4 when it does not, 2 when the copy cannot be read (not in the bucket, or refused), 3 for bad
input or configuration (DIR exists, a malformed URL, no credentials); a failed fetch leaves
nothing behind.

Options:
  --dir DIR          the new case folder  [required]
  --config FILE      configuration file (S3 endpoint, region); optional
  --json             print the result as JSON
  -h, --help         show this help`;
