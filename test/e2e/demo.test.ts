import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT } from '../../src/core/errors.js';
import { runCliChild } from './child-cli.js';
import { custody } from './cli-run.js';

interface DemoDoc {
  caseId: string;
  caseDir: string;
  outcomes: Array<{ target: string; status: string; reason?: string; error?: { code: string; action?: string; resource?: string } }>;
  verify: { ok: boolean };
  report: { markdown: string; html: string; redactedFiles: number };
  refusedByDesign: string[];
  followed: string[];
  keyFingerprint: string;
  ledgerHead: string;
  ranAsDesigned: boolean;
  exitCode: number;
}

const WEB_1 = '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/web-1';
const LEGACY = '//compute.googleapis.com/projects/web-prod/zones/us-central1-a/instances/legacy-1';
const GKE_NODE = '//compute.googleapis.com/projects/gke-prod/zones/us-central1-b/instances/gke-prod-pool-1-abcd';

let dir: string;
let demo: DemoDoc;
let demoCode: number;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'custody-demo-e2e-'));
  const run = await custody(['demo', '--dir', dir, '--json']);
  demoCode = run.code;
  demo = JSON.parse(run.stdout) as DemoDoc;
  // Six labs (AWS, EKS, Azure, AKS, GCP, GKE) and the real SDKs in one process: on a loaded
  // machine a whole case can take minutes; correctness never depends on the time.
}, 300_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const ledger = () =>
  readFileSync(join(demo.caseDir, 'ledger.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; target?: string; data: Record<string, unknown> });

describe('custody demo, end to end against the rehearsal lab', () => {
  it('runs a whole case as designed and exits 0 although the untagged instances (one AWS, one Azure, one GCP) failed', () => {
    expect(demo.ranAsDesigned).toBe(true);
    expect(demoCode).toBe(EXIT.OK);
    expect(demo.verify.ok).toBe(true);
    const refused = demo.outcomes.filter((o) => demo.refusedByDesign.includes(o.target));
    expect(refused).toHaveLength(3);
    expect(refused.find((o) => o.target.startsWith('arn:aws:'))).toMatchObject({ status: 'failed', error: { code: 'E_ACCESS_DENIED', action: 'ec2:CreateSnapshots' } });
    // Azure: the untagged VM has no collector assignment; ARM refuses it, naming action and scope.
    const azureRefused = refused.find((o) => o.target.startsWith('/subscriptions/'))!;
    expect(azureRefused).toMatchObject({ status: 'failed', error: { code: 'E_ACCESS_DENIED', action: expect.stringMatching(/^Microsoft\.Compute\/virtualMachines\//), resource: azureRefused.target } });
    // The collector role's tag condition refuses the untagged GCE instance, naming permission and resource.
    expect(refused.find((o) => o.target === LEGACY)).toMatchObject({
      status: 'failed',
      error: { code: 'E_ACCESS_DENIED', action: 'compute.instances.get', resource: 'projects/web-prod/zones/us-central1-a/instances/legacy-1' },
    });
    expect(demo.outcomes.filter((o) => !demo.refusedByDesign.includes(o.target)).every((o) => o.status === 'collected')).toBe(true);
    // Tagged instances in two accounts and one volume target.
    const collected = demo.outcomes.filter((o) => o.status === 'collected').map((o) => o.target);
    const instances = collected.filter((t) => t.includes(':instance/'));
    expect(new Set(instances.map((t) => t.split(':')[4]))).toEqual(new Set(['222222222222', '333333333333']));
    expect(collected.some((t) => t.includes(':volume/'))).toBe(true);
    expect(collected.some((t) => t.includes('/providers/Microsoft.Compute/virtualMachines/'))).toBe(true);
  });

  it('collects the compromised pods on EKS, AKS and GKE and follows each to its node’s machine, recording where it came from', () => {
    const entries = ledger();
    expect(demo.followed).toHaveLength(3);
    for (const [cluster, node] of [
      ['demo-eks', /^arn:aws:ec2:us-east-1:333333333333:instance\/i-/],
      ['demo-aks', /\/virtualMachineScaleSets\/aks-[^/]+\/virtualMachines\/0$/],
      ['demo-gke', GKE_NODE],
    ] as const) {
      const pod = demo.outcomes.find((o) => o.target.startsWith(`k8s:${cluster}/`));
      expect(pod).toMatchObject({ status: 'collected' });
      const followed = demo.followed.find((t) => (typeof node === 'string' ? t === node : node.test(t)))!;
      expect(demo.outcomes.find((o) => o.target === followed)).toMatchObject({ status: 'collected' });
      expect(entries.find((e) => e.type === 'target.discovered' && e.target === followed)).toMatchObject({ data: { from: pod!.target } });
    }
    expect(entries.find((e) => e.type === 'node.mapped' && e.data.cloud === 'gce')?.data).toMatchObject({ project: 'gke-prod', followUp: GKE_NODE });
  });

  it('collects the GCE instance with all its disks and the GKE node, snapshotted into the forensics project, held, and never claims a hash for them', () => {
    const entries = ledger();
    expect(demo.outcomes.find((o) => o.target === WEB_1)).toMatchObject({ status: 'collected' });
    const gcpSnapshots = entries.filter((e) => e.type === 'snapshot.completed' && e.target?.startsWith('//compute.googleapis.com/'));
    expect(gcpSnapshots.map((e) => e.data.sourceDisk).sort()).toEqual([
      'projects/gke-prod/zones/us-central1-b/disks/gke-prod-pool-1-abcd',
      'projects/web-prod/zones/us-central1-a/disks/web-1',
      'projects/web-prod/zones/us-central1-a/disks/web-1-data',
    ]);
    for (const snapshot of gcpSnapshots) {
      expect(snapshot.data).toMatchObject({ contentHash: expect.stringMatching(/^none/), selfLink: expect.stringContaining('/projects/custody-forensics/global/snapshots/') });
    }
    // The opt-in evidence hold: each insert asked for the hold tag.
    const requested = entries.filter((e) => e.type === 'snapshot.requested' && e.target?.startsWith('//compute.googleapis.com/'));
    expect(requested).toHaveLength(3);
    for (const r of requested) expect(r.data.evidenceHoldTag).toEqual({ key: '123456789012/EvidenceHold', value: 'true' });
    // No disk.hashed entry for a GCP snapshot: GCP has no block-read API for them.
    expect(entries.filter((e) => e.type === 'disk.hashed' && e.target?.startsWith('//compute.googleapis.com/'))).toEqual([]);
    // The followed GKE node is closed with the case: collected before case.closed, and counted there.
    const closedAt = entries.findIndex((e) => e.type === 'case.closed');
    const nodeDone = entries.findIndex((e) => e.type === 'target.completed' && e.target === GKE_NODE);
    expect(nodeDone).toBeGreaterThan(-1);
    expect(nodeDone).toBeLessThan(closedAt);
    expect(entries[nodeDone]!.data).toMatchObject({ status: 'collected' });
    expect(entries[closedAt]!.data).toMatchObject({ targets: demo.outcomes.length });
  });

  it('the Azure VM and the AKS node are copied, hashed (disk and VHD file) and sealed as Blob Storage confirmed, and the closed case counts them', () => {
    const entries = ledger();
    const azureTargets = [...demo.outcomes.map((o) => o.target).filter((t) => t.startsWith('/subscriptions/') && !demo.refusedByDesign.includes(t))];
    const vm = azureTargets.find((t) => t.includes('/virtualMachines/web-1'))!;
    const node = azureTargets.find((t) => t.includes('/virtualMachineScaleSets/'))!;
    for (const [target, disks] of [[vm, 2], [node, 2]] as const) {
      const of = (type: string) => entries.filter((e) => e.type === type && e.target === target);
      expect(of('copy.completed'), target).toHaveLength(disks);
      const hashed = of('evidence.hashed');
      expect(hashed).toHaveLength(disks);
      for (const h of hashed) expect(h.data).toMatchObject({ diskSha256: expect.stringMatching(/^[0-9a-f]{64}$/), fileSha256: expect.stringMatching(/^[0-9a-f]{64}$/), footer: { matchesLength: true } });
      const sealed = of('evidence.sealed');
      expect(sealed.map((e) => e.data.blob).sort()).toEqual(hashed.map((e) => e.data.blob).sort());
      for (const seal of sealed) expect(seal.data).toMatchObject({ mode: 'Unlocked', legalHold: true, immutableUntil: expect.any(String), requestIds: [expect.any(String), expect.any(String)] });
      expect(of('seal.failed')).toEqual([]);
    }
    // The VM was taken as one crash-consistent restore point; the scale-set VM (uniform) per disk.
    const chosen = (target: string) => entries.find((e) => e.type === 'consistency.chosen' && e.target === target)?.data.mode;
    expect(chosen(vm)).toBe('crash-consistent-restore-point');
    expect(chosen(node)).toBe('per-disk');
    // case.closed counts every target, and names as not collected only the two refused by design.
    const closed = entries.find((e) => e.type === 'case.closed')!;
    expect(closed.data).toMatchObject({ targets: demo.outcomes.length, outcomes: { collected: demo.outcomes.length - 3, failed: 3, partial: 0 } });
    expect((closed.data.notCollected as Array<{ target: string }>).map((n) => n.target).sort()).toEqual([...demo.refusedByDesign].sort());
    const nodeDone = entries.findIndex((e) => e.type === 'target.completed' && e.target === node && e.data.status === 'collected');
    expect(nodeDone).toBeGreaterThan(-1);
    expect(nodeDone).toBeLessThan(entries.indexOf(closed));
  });

  it('leaves a closed case folder with a manifest and both reports, and no credential anywhere in it', () => {
    expect(existsSync(join(demo.caseDir, 'manifest.json'))).toBe(true);
    expect(existsSync(demo.report.markdown)).toBe(true);
    expect(existsSync(demo.report.html)).toBe(true);
    const ledger = readFileSync(join(demo.caseDir, 'ledger.jsonl'), 'utf8');
    expect(ledger).not.toMatch(/secretAccessKey|SecretAccessKey|sessionToken|SessionToken/);
    const config = readFileSync(join(dir, 'custody.config.json'), 'utf8');
    expect(config).not.toMatch(/AKIA|ASIA|secret/i);
    // Without --keep the lab's keys are written nowhere: they die with this run.
    expect(existsSync(join(dir, 'lab.env'))).toBe(false);
    // Every file of the case, not only the ledger: no AWS key, no Entra or storage bearer token
    // (a JWT), no SAS signature, no GCP access token from any of the three clouds' labs, and
    // neither customer secret of the lab's descriptions (a SAS signature is cut to sig=REDACTED).
    const credential = /AKIA[0-9A-Z]{12}|ASIA[0-9A-Z]{12}|SecretAccessKey|SessionToken|eyJ[\w-]{8,}\.eyJ[\w-]{8,}|[?&]sig=(?!REDACTED)|ya29\.|s3cr3t-lab-only|bGFiLW9ubHktc2FzLXNpZ25hdHVyZQ/;
    const found: string[] = [];
    for (const file of readdirSync(demo.caseDir, { recursive: true, withFileTypes: true })) {
      if (!file.isFile()) continue;
      const path = join(file.parentPath, file.name);
      const match = readFileSync(path).toString('latin1').match(credential);
      if (match) found.push(`${path}: ${match[0]}`);
    }
    expect(found).toEqual([]);
  });

  it("cuts each demo pod's DATABASE_URL password from its pod.json and the Azure VM's SAS signature from its vm-model.json, records each cut, and the report lists them", () => {
    const pods = demo.outcomes.filter((o) => o.target.startsWith('k8s:'));
    expect(pods).toHaveLength(3);
    const redacted = ledger().filter((e) => e.type === 'evidence.stored' && e.data.redaction !== undefined);
    // One pod.json per pod and the tagged VM's model; nothing else in the lab holds a credential.
    const azureVm = demo.outcomes.find((o) => /^\/subscriptions\/.*\/virtualMachines\/web-1$/.test(o.target))!.target;
    expect(redacted.map((e) => e.target).sort()).toEqual([...pods.map((p) => p.target), azureVm].sort());
    const model = redacted.find((e) => e.target === azureVm)!;
    expect(model.data).toMatchObject({
      name: 'vm-model.json',
      redaction: { originalSha256: expect.stringMatching(/^[0-9a-f]{64}$/), redacted: [{ path: '$.resources[0].properties.settings.fileUris[0]', kind: 'a signed URL (SAS, presigned or signed URL)' }] },
    });
    expect(readFileSync(join(demo.caseDir, model.data.path as string), 'utf8')).toContain('/scripts/bootstrap.sh?sv=2022-11-02&se=2027-01-31T00%3A00%3A00Z&sr=b&sp=r&sig=REDACTED"');
    for (const entry of redacted.filter((e) => e !== model)) {
      expect(entry.data).toMatchObject({
        name: 'pod.json',
        redaction: { originalSha256: expect.stringMatching(/^[0-9a-f]{64}$/), redacted: [{ path: '$.spec.containers[0].env[1].value', kind: 'a URL with a password' }] },
      });
      const stored = readFileSync(join(demo.caseDir, entry.data.path as string), 'utf8');
      expect(stored).toContain('"value": "postgres://shop:REDACTED@db:5432/shop"');
      expect(stored).not.toContain('s3cr3t-lab-only');
    }
    expect(demo.report.redactedFiles).toBe(4);
    const report = readFileSync(demo.report.markdown, 'utf8');
    const section = report.slice(report.indexOf('## Redacted descriptions'));
    for (const entry of redacted) {
      const kind = entry === model ? 'a signed URL (SAS, presigned or signed URL)' : 'a URL with a password';
      expect(section).toContain(`| ${entry.data.path as string} | ${entry.target!} | 1 value: ${kind}: 1 |`);
    }
  });

  it('each untagged instance’s refusal is in the ledger with the denied action and resource', () => {
    const aws = demo.refusedByDesign.find((t) => t.startsWith('arn:aws:'))!;
    const entries = readFileSync(join(demo.caseDir, 'ledger.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; target?: string; data: Record<string, unknown> });
    const completed = (target: string) => entries.find((e) => e.type === 'target.completed' && e.target === target)!;
    expect(completed(aws).data).toMatchObject({ status: 'failed', error: { code: 'E_ACCESS_DENIED', action: 'ec2:CreateSnapshots', resource: aws } });
    expect(completed(LEGACY).data).toMatchObject({
      status: 'failed',
      error: { code: 'E_ACCESS_DENIED', action: 'compute.instances.get', resource: 'projects/web-prod/zones/us-central1-a/instances/legacy-1' },
    });
  });

  it('prints where the case is and that it verified, in words, without --json', async () => {
    const human = mkdtempSync(join(tmpdir(), 'custody-demo-human-'));
    try {
      const run = await custody(['demo', '--dir', human]);
      expect(run.code).toBe(EXIT.OK);
      expect(run.stdout).toMatch(/verified: .*cases\/DEMO-/);
      expect(run.stdout).toMatch(/Case folder: .*cases\/DEMO-/);
      expect(run.stdout).toContain('The demo ran as designed');
      expect(run.stdout).toContain('refused by the collector policy');
      // The hash tally counts AWS volumes only and says GCP snapshots have none.
      expect(run.stdout).toMatch(/^Whole-disk SHA-256 recorded for (\d+) of \1 preserved AWS volumes/m);
      expect(run.stdout).toMatch(/^Descriptions redacted: 4 JSON description files stored with a customer credential cut out \(each listed in the report with its pre-redaction SHA-256\)$/m);
      expect(run.stdout).toMatch(/^GCP snapshots have no content hash: 3 held in the forensics project .*; 3 of 3 created with the evidence-hold tag$/m);
      expect(run.stdout).toContain(`Demo GKE cluster "demo-gke"`);
      expect(run.stdout).toContain(`collected ${WEB_1}`);
      expect(run.stdout).toContain(`collected ${GKE_NODE}`);
      // The two values to keep apart from the folder, in the form verify takes them.
      const key = /Signing key fingerprint: (sha256:[0-9a-f]{64})/.exec(run.stdout)?.[1];
      const head = /Ledger head: +(\d+:[0-9a-f]{64})/.exec(run.stdout)?.[1];
      const caseDir = /Case folder: (.*)/.exec(run.stdout)?.[1];
      expect(key && head && caseDir).toBeTruthy();
      const verify = await custody(['verify', '--expect-key', key!, '--expect-head', head!, caseDir!]);
      expect(verify.stdout).toMatch(/^verified: /);
      expect(verify.code).toBe(EXIT.OK);
    } finally {
      rmSync(human, { recursive: true, force: true });
    }
  }, 300_000); // a second whole demo (six labs) on a shared machine
});

// Each tampering is made on a fresh copy of the demo case.
describe('custody verify catches tampering with a demo case', () => {
  const copies: string[] = [];
  afterAll(() => copies.forEach((c) => rmSync(c, { recursive: true, force: true })));

  function tampered(change: (caseDir: string) => void): string {
    const copy = join(mkdtempSync(join(tmpdir(), 'custody-tamper-')), 'case');
    copies.push(join(copy, '..'));
    cpSync(demo.caseDir, copy, { recursive: true });
    change(copy);
    return copy;
  }
  const firstEntryOfType = (lines: string[], type: string) => lines.findIndex((l) => (JSON.parse(l) as { type: string }).type === type);
  const ledgerLines = (caseDir: string) => readFileSync(join(caseDir, 'ledger.jsonl'), 'utf8').split('\n').slice(0, -1);
  const writeLines = (caseDir: string, lines: string[]) => writeFileSync(join(caseDir, 'ledger.jsonl'), `${lines.join('\n')}\n`);
  const firstEvidence = (caseDir: string, name: string) => {
    const evidence = join(caseDir, 'evidence');
    const id = readdirSync(evidence)
      .sort()
      .find((d) => existsSync(join(evidence, d, name)));
    if (!id) throw new Error(`no ${name} in the demo case`);
    return { abs: join(evidence, id, name), rel: `evidence/${id}/${name}` };
  };

  const cases: Array<[string, (caseDir: string) => void, RegExp | ((caseDir: string) => string)]> = [
    [
      'a changed byte in a ledger entry',
      (c) => {
        // Chosen by type, never by line number: which line an entry lands on depends on timing.
        const lines = ledgerLines(c);
        const at = firstEntryOfType(lines, 'evidence.stored');
        const changed = lines[at]!.replace(/"sha256":"(.)/, (_all, digit: string) => `"sha256":"${digit === '0' ? '1' : '0'}`);
        expect(changed).not.toBe(lines[at]);
        lines[at] = changed;
        writeLines(c, lines);
      },
      (c) => {
        const seq = firstEntryOfType(ledgerLines(c), 'evidence.stored') + 1;
        return `first problem: ledger.jsonl entry ${seq}, line ${seq}: entry ${seq} (line ${seq}, evidence.stored): content does not match its hash`;
      },
    ],
    [
      'a removed entry',
      (c) => {
        const lines = ledgerLines(c);
        lines.splice(5, 1);
        writeLines(c, lines);
      },
      /first problem: ledger\.jsonl entry 7, line 6: .*: entry 6 is missing before it \[seq-mismatch\]/,
    ],
    [
      'an inserted entry',
      (c) => {
        const lines = ledgerLines(c);
        lines.splice(6, 0, lines[3]!);
        writeLines(c, lines);
      },
      /first problem: ledger\.jsonl entry 4, line 7: .*inserted or reordered/,
    ],
    [
      'two entries swapped',
      (c) => {
        const lines = ledgerLines(c);
        [lines[5], lines[6]] = [lines[6]!, lines[5]!];
        writeLines(c, lines);
      },
      /first problem: ledger\.jsonl entry 7, line 6: .*: entry 6 is not before it but at line 7: the entries are out of order \[seq-mismatch\]/,
    ],
    [
      'the last entries cut off',
      // The sealed ledger's last entries: the copy records after case.closed go with them.
      (c) => writeLines(c, ledgerLines(c).slice(0, ledgerLines(c).findIndex((l) => l.includes('"type":"case.closed"')) - 2)),
      /first problem: ledger\.jsonl entry \d+: .*were removed \[truncated\]/,
    ],
    [
      'the ledger cut mid-line',
      (c) => {
        const text = readFileSync(join(c, 'ledger.jsonl'), 'utf8');
        writeFileSync(join(c, 'ledger.jsonl'), text.slice(0, -40));
      },
      /first problem: ledger\.jsonl line \d+: .*incomplete/,
    ],
    [
      'a wrong signature',
      (c) => {
        const lines = ledgerLines(c);
        const entry = JSON.parse(lines[4]!) as { sig: string };
        const forged = `${entry.sig.startsWith('A') ? 'B' : 'A'}${entry.sig.slice(1)}`;
        lines[4] = lines[4]!.replace(entry.sig, forged);
        writeLines(c, lines);
      },
      /first problem: ledger\.jsonl entry 5, line 5: .*signature does not verify/,
    ],
    [
      'a flipped byte in an evidence file',
      (c) => {
        const { abs } = firstEvidence(c, 'instance.json');
        const bytes = readFileSync(abs);
        bytes[10] = bytes[10]! ^ 1;
        writeFileSync(abs, bytes);
      },
      (c) => `first problem: ${firstEvidence(c, 'instance.json').rel}`,
    ],
    [
      'a missing evidence file',
      (c) => unlinkSync(firstEvidence(c, 'console-output.txt').abs),
      /first problem: evidence\/ev-[0-9a-f]+\/console-output\.txt .*is missing \[missing-file\]/,
    ],
    [
      'an added evidence file',
      (c) => writeFileSync(join(firstEvidence(c, 'instance.json').abs, '..', 'planted.txt'), 'not collected by us'),
      /first problem: evidence\/ev-[0-9a-f]+\/planted\.txt: .*no ledger entry records it/,
    ],
  ];

  it.each(cases)('%s → exit 4 naming the entry or file', async (_name, change, expected) => {
    const caseDir = tampered(change);
    const run = await custody(['verify', caseDir]);
    expect(run.code).toBe(EXIT.VERIFY_FAILED);
    if (typeof expected === 'function') expect(run.stdout).toContain(expected(caseDir));
    else expect(run.stdout).toMatch(expected);
  });

  it('--expect-key accepts the fingerprint the run printed (the key pinned in the case) and refuses any other (exit 4)', async () => {
    const first = JSON.parse(readFileSync(join(demo.caseDir, 'ledger.jsonl'), 'utf8').split('\n')[0]!) as { data: { keyFingerprint: string } };
    expect(demo.keyFingerprint).toBe(first.data.keyFingerprint);
    const right = await custody(['verify', '--expect-key', demo.keyFingerprint, demo.caseDir]);
    expect(right.code).toBe(EXIT.OK);
    const wrong = await custody(['verify', '--expect-key', 'f'.repeat(64), demo.caseDir]);
    expect(wrong.code).toBe(EXIT.VERIFY_FAILED);
    expect(wrong.stdout).toMatch(/first problem: ledger\.jsonl entry 1, line 1: the ledger pins key sha256:[0-9a-f]{64}, not the expected sha256:f{64}/);
  });

  it('--expect-head takes the head --json printed: the untouched case passes, a ledger cut back to any earlier entry fails (manifest removed too)', async () => {
    expect(demo.ledgerHead).toMatch(/^\d+:[0-9a-f]{64}$/);
    const good = await custody(['verify', '--expect-key', `sha256:${demo.keyFingerprint}`, '--expect-head', demo.ledgerHead, demo.caseDir]);
    expect(good.code).toBe(EXIT.OK);
    // The attack of issue 7: drop the manifest, cut the ledger back before the snapshots.
    const cut = tampered((c) => {
      unlinkSync(join(c, 'manifest.json'));
      const lines = ledgerLines(c);
      writeLines(c, lines.slice(0, firstEntryOfType(lines, 'artifact.recorded')));
    });
    const open = await custody(['verify', '--expect-key', demo.keyFingerprint, cut]);
    expect(open.code).toBe(EXIT.VERIFY_FAILED);
    expect(open.stdout).toContain('[not-closed]');
    const allowed = await custody(['verify', '--allow-open', '--expect-head', demo.ledgerHead, cut]);
    expect(allowed.code).toBe(EXIT.VERIFY_FAILED);
    expect(allowed.stdout).toContain('[head-mismatch]');
  });

  it('the untouched case verifies, and the built command line agrees on both (child process)', async () => {
    const good = await runCliChild(['verify', demo.caseDir], {});
    expect(good.code).toBe(EXIT.OK);
    const bad = tampered((c) => unlinkSync(firstEvidence(c, 'instance.json').abs));
    const run = await runCliChild(['verify', '--json', bad], {});
    expect(run.code).toBe(EXIT.VERIFY_FAILED);
    const doc = JSON.parse(run.stdout) as { ok: boolean; firstProblem: { kind: string; location: string } };
    expect(doc.ok).toBe(false);
    expect(doc.firstProblem).toMatchObject({ kind: 'missing-file', location: expect.stringMatching(/^evidence\/ev-[0-9a-f]+\/instance\.json/) });
  }, 60_000);
});

describe('custody report', () => {
  it('writes both reports for a verified case and prints their paths', async () => {
    const run = await custody(['report', demo.caseDir]);
    expect(run.code).toBe(EXIT.OK);
    expect(run.stdout.trim().split('\n')).toEqual([join(demo.caseDir, 'report.md'), join(demo.caseDir, 'report.html')]);
    expect(readFileSync(join(demo.caseDir, 'report.md'), 'utf8')).toContain(demo.caseId);
  });

  it('--json counts the files the report lists as redacted (the three pod.json, the VM model)', async () => {
    const run = await custody(['report', '--json', demo.caseDir]);
    expect(run.code).toBe(EXIT.OK);
    expect(JSON.parse(run.stdout)).toMatchObject({ caseDir: demo.caseDir, report: { markdown: join(demo.caseDir, 'report.md'), redactedFiles: 4 }, verify: { ok: true } });
  });

  it('still writes the report of a tampered case, and exits 4 naming the first problem', async () => {
    const copy = join(mkdtempSync(join(tmpdir(), 'custody-report-')), 'case');
    try {
      cpSync(demo.caseDir, copy, { recursive: true });
      const evidence = join(copy, 'evidence');
      const id = readdirSync(evidence).sort()[0]!;
      const name = readdirSync(join(evidence, id)).sort()[0]!;
      writeFileSync(join(evidence, id, name), 'replaced');
      const run = await custody(['report', copy]);
      expect(run.code).toBe(EXIT.VERIFY_FAILED);
      expect(run.stderr).toContain(`evidence/${id}/${name}`);
      expect(existsSync(join(copy, 'report.html'))).toBe(true);
    } finally {
      rmSync(join(copy, '..'), { recursive: true, force: true });
    }
  });
});
