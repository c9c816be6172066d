import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { KINDS } from '../../functions/core/rules/kinds';
import { BIN, cli, ROOT } from '../helpers/cli';

const SAMPLE = join(ROOT, 'samples', 'export');
const manifest = JSON.parse(readFileSync(join(SAMPLE, 'manifest.json'), 'utf8')) as {
  files: { kind: string; path: string; records: number }[];
};

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'esep-plan-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
}, 60_000);

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const lines = (path: string) => readFileSync(path, 'utf8').split('\n').filter(Boolean);

/** Personal data and credentials of the sample: e-mails, names, password hashes and logins. */
function secretsOfSample(): string[] {
  const file = manifest.files.find((f) => f.kind === 'accounts');
  if (!file) throw new Error('sample has no accounts');
  const secrets = new Set<string>();
  for (const line of gunzipSync(readFileSync(join(SAMPLE, file.path)))
    .toString('utf8')
    .split('\n')) {
    try {
      const a = JSON.parse(line);
      for (const field of ['email', 'passwordHash', 'login', 'lastName']) {
        if (typeof a[field] === 'string' && a[field].trim().length > 3) secrets.add(a[field].trim());
      }
    } catch {}
  }
  return [...secrets];
}

describe('esep-migrate plan on samples/export', () => {
  let out: string;
  let result: ReturnType<typeof cli>;
  beforeAll(() => {
    out = join(tmp, 'all');
    result = cli(['plan', 'samples/export', '--out', out]);
  });

  test('completes with exit 0 and prints the summary table and the report path', () => {
    expect(result.stderr).not.toMatch(/esep-migrate:/);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/kind\s+wave\s+migrated\s+dropped\s+quarantined\s+total/);
    expect(result.stdout).toContain(`report: ${out}`);
  });

  test('summary.json has the shape of outputs.md and obeys conservation against the manifest', () => {
    const summary = readJson(join(out, 'summary.json'));
    expect(Object.keys(summary).sort()).toEqual([
      'counts',
      'exportId',
      'finishedAt',
      'reasons',
      'startedAt',
      'status',
      'waves',
    ]);
    expect(summary.exportId).toBe('export');
    expect(summary.waves).toEqual(['sept-2022', 'nov-2022', '2023']);
    expect(summary.status).toBe('completed-with-quarantine');
    expect(Object.keys(summary.counts).sort()).toEqual([...KINDS].sort());
    for (const f of manifest.files) {
      const c = summary.counts[f.kind];
      expect(c.migrated + c.dropped + c.quarantined).toBe(f.records);
    }
    const reasonTotal = Object.values(summary.reasons as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(reasonTotal).toBe(manifest.files.reduce((n, f) => n + f.records, 0));
  });

  test('decisions.ndjson has one line per record with exactly the fields of outputs.md', () => {
    const decisions = lines(join(out, 'decisions.ndjson')).map((l) => JSON.parse(l));
    expect(decisions).toHaveLength(manifest.files.reduce((n, f) => n + f.records, 0));
    for (const d of decisions) {
      expect(
        Object.keys(d).filter((k) => !['kind', 'id', 'decision', 'reason', 'wave', 'detail'].includes(k)),
      ).toEqual([]);
    }
    expect(decisions.some((d) => /^[a-z-]+\.ndjson(\.gz)?:\d+$/.test(d.id))).toBe(true);
  });

  test('receipts: one per owning account, in partitions, each record with its reason in plain words', () => {
    const index = readJson(join(out, 'receipts', 'partitions.json'));
    const lines = readdirSync(join(out, 'receipts'))
      .filter((f) => f.endsWith('.ndjson'))
      .flatMap((f) =>
        readFileSync(join(out, 'receipts', f), 'utf8')
          .split('\n')
          .filter(Boolean),
      )
      .map((l) => JSON.parse(l));
    expect(index.accounts).toBe(lines.length);
    // One receipt per account that owns a record or takes part in a space: every migrated account has one.
    const migrated = readFileSync(join(out, 'decisions.ndjson'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter((d) => d.kind === 'accounts' && d.decision === 'migrated')
      .map((d) => d.id);
    const ids = new Set(lines.map((r) => r.accountId));
    expect(migrated.length).toBeGreaterThan(40);
    expect(migrated.filter((id) => !ids.has(id))).toEqual([]);
    expect(ids.size).toBe(lines.length);
    const receipt = lines.find((r) => r.accountId === 'acc-000000');
    expect(receipt.records.length).toBe(
      receipt.counts.migrated + receipt.counts.dropped + receipt.counts.quarantined,
    );
    expect(receipt.records.every((r: { explanation: string }) => r.explanation.length > 20)).toBe(true);
    expect(lines.some((r) => r.downloads.length > 0)).toBe(true);
    // The support desk's renderings, made when asked for: the same receipt as a page and as plain text.
    const shown = cli(['receipt', out, '--account', 'acc-000000']);
    expect(shown.status).toBe(0);
    expect(JSON.parse(shown.stdout)).toEqual(receipt);
    const text = cli(['receipt', out, '--account', 'acc-000000', '--as', 'text']).stdout;
    expect(text).toContain(`${receipt.records.length} items: ${receipt.counts.migrated} move to ESEP`);
    expect(cli(['receipt', out, '--account', 'acc-000000', '--as', 'html']).stdout).toMatch(
      /^<!doctype html>/,
    );
    // report.html says how to read one, and the command line's summary too.
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain(
      'esep-migrate receipt &lt;this folder&gt;',
    );
    expect(result.stdout).toContain(`esep-migrate receipt ${out} --account <legacyAccountId>`);
    const none = cli(['receipt', out, '--account', 'acc-nobody']);
    expect([none.status, none.stderr.trim()]).toEqual([
      2,
      `esep-migrate: ${out} has no receipt for account acc-nobody`,
    ]);
  });

  test('the AWS estimate: printed, in estimate.json, and in report.html', () => {
    expect(result.stdout).toMatch(/on AWS \(eu-west-1, prices of \d{4}-\d{2}-\d{2}; 10 workers per queue/);
    expect(result.stdout).toMatch(/total about \$\d+\.\d\d, about \d+/);
    const e = readJson(join(out, 'estimate.json'));
    expect(e.waves).toEqual(['sept-2022', 'nov-2022', '2023']);
    // The workload in requests beside the bill's lines: every record of the export, no table item per record.
    const records = manifest.files.reduce((n, f) => n + f.records, 0);
    expect(e.workload).toMatchObject({ records, dynamoWriteUnits: e.totals.dynamoWriteUnits });
    expect(e.workload.dynamoWriteUnits).toBeLessThan(records);
    expect(result.stdout).toMatch(/the longest stage is .+, bound by /);
    expect(e.assumptions.workerConcurrency).toBe(10);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('On AWS (estimate)');
    const faster = cli(['plan', 'samples/export', '--out', join(tmp, 'c40'), '--concurrency', '40']);
    expect(faster.status).toBe(0);
    expect(readJson(join(tmp, 'c40', 'estimate.json')).duration.seconds).toBeLessThan(e.duration.seconds);
    expect(cli(['plan', 'samples/export', '--out', join(tmp, 'c0'), '--concurrency', '0']).status).toBe(2);
  });

  test('--scale-to: a 1,000-account export projected to the full size fits the default quotas at the README settings in 30 minutes or less (target and reports over four new buckets each); one bucket each would not', async () => {
    const exportDir = join(tmp, 'g1k');
    expect(cli(['generate', '--out', exportDir, '--accounts', '1000', '--seed', '7']).status).toBe(0);
    const full = join(tmp, 'full');
    // The README's settings: 60 workers a queue, progress every 10 s, the table pre-warmed to its quota.
    const readme = (out: string, ...more: string[]) =>
      cli([
        'plan',
        exportDir,
        '--out',
        out,
        '--scale-to',
        '1100000',
        '--concurrency',
        '60',
        '--poll',
        '10',
        '--table-writes',
        '40000',
        '--table-reads',
        '40000',
        ...more,
      ]);
    const r = readme(full);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('projected to 1,100,000 accounts');
    expect(r.stdout).toMatch(
      /fits AWS's limits: yes \(tightest: .+ s of \d+ s per invocation\); history [\d,]+ of 25,000 events/,
    );
    const e = readJson(join(full, 'estimate.json'));
    expect(e.scaledTo).toBe(1_100_000);
    expect(e.feasibility).toMatchObject({ fits: true, historyLimit: 25_000 });
    expect(e.feasibility.historyEvents).toBeLessThan(25_000);
    // Within default quotas, as deployed (the target and the reports each over four new buckets): 30
    // minutes or less, S3 still what binds the longest stage (the exports bucket's reads: step 7 reads the
    // file of every record that stands).
    expect(e.duration.seconds).toBeLessThanOrEqual(30 * 60);
    expect(e.binding.binding).toMatch(/^S3 (reads|writes) per second on the \w+ buckets?$/);
    expect(e.workload.dynamoWriteUnits / e.workload.records).toBeLessThanOrEqual(0.3);
    expect(e.totalCost).toBeGreaterThan(0);
    // One new bucket each: its one partition binds, and the run takes longer than 30 minutes.
    const single = join(tmp, 'full-single');
    expect(readme(single, '--target-buckets', '1').status).toBe(0);
    const one = readJson(join(single, 'estimate.json'));
    expect(one.duration.seconds).toBeGreaterThan(30 * 60);
    expect(one.binding.binding).toMatch(/^S3 (reads|writes) per second on the \w+ bucket$/);
    expect(one.workload.s3Writes).toBe(e.workload.s3Writes);
    for (const step of e.feasibility.steps) {
      expect(Object.keys(step).sort()).toEqual(
        [
          'fits',
          'function',
          'perInvocationSeconds',
          'step',
          'timeoutSeconds',
          'tmpBytes',
          'tmpLimitBytes',
          'heldBytes',
          'memoryLimitBytes',
        ].sort(),
      );
      expect([step.step, step.perInvocationSeconds <= step.timeoutSeconds]).toEqual([step.step, true]);
      expect([step.step, step.heldBytes < step.memoryLimitBytes]).toEqual([step.step, true]);
    }
    // What grows with the export in memory: validate's index of the values that must never reach the
    // target and the ids of the kind file it cuts; a split holds a page of chunks, nothing that grows;
    // verify holds that index's filter and a few shards, at most 24 MiB.
    const held = (name: string) =>
      e.feasibility.steps.find((x: { step: string }) => x.step === name)?.heldBytes;
    expect(held('split')).toBe(0);
    expect(held('validate')).toBeGreaterThan(200 * 1024 * 1024);
    expect(held('verify page')).toBeLessThanOrEqual(24 * 1024 * 1024 + 16);
    // The same export, not projected: the workload of 1,000 accounts.
    expect(readJson(join(full, 'summary.json')).counts.accounts.migrated).toBeLessThan(1_001);
    // At a new table's 4,000 writes a second and 10 workers the same run takes longer, and says where it waits.
    const cold = cli(['plan', exportDir, '--out', join(tmp, 'full-cold'), '--scale-to', '1100000']);
    const slow = readJson(join(tmp, 'full-cold', 'estimate.json'));
    expect(cold.stdout).toMatch(/waits on DynamoDB (writes|reads) per second in .+ at (4,000|12,000)\/s/);
    expect(slow.duration.seconds).toBeGreaterThan(e.duration.seconds);
  }, 120_000);

  test('no e-mail, name, password hash or login in the console output or the report folder', () => {
    const secrets = secretsOfSample();
    expect(secrets.length).toBeGreaterThan(50);
    const everything = [
      result.stdout,
      result.stderr,
      readFileSync(join(out, 'decisions.ndjson'), 'utf8'),
      readFileSync(join(out, 'summary.json'), 'utf8'),
    ];
    for (const f of readdirSync(join(out, 'receipts')))
      everything.push(readFileSync(join(out, 'receipts', f), 'utf8'));
    const text = everything.join('\n');
    expect(secrets.filter((s) => text.includes(s))).toEqual([]);
    expect(text).not.toMatch(/passwordHash|"login"/);
  });

  test('a second plan gives the same decisions and receipts', () => {
    const again = join(tmp, 'again');
    expect(cli(['plan', 'samples/export', '--out', again]).status).toBe(0);
    expect(readFileSync(join(again, 'decisions.ndjson'), 'utf8')).toBe(
      readFileSync(join(out, 'decisions.ndjson'), 'utf8'),
    );
    for (const f of readdirSync(join(out, 'receipts')))
      expect(readFileSync(join(again, 'receipts', f), 'utf8')).toBe(
        readFileSync(join(out, 'receipts', f), 'utf8'),
      );
  });
});

describe('esep-migrate plan: waves, policy and rejections', () => {
  test('--wave decides only that wave', () => {
    const out = join(tmp, 'nov');
    expect(cli(['plan', 'samples/export', '--wave', 'nov-2022', '--out', out]).status).toBe(0);
    const kinds = new Set(lines(join(out, 'decisions.ndjson')).map((l) => JSON.parse(l).kind));
    expect(kinds).toEqual(new Set(['groups', 'group-items']));
    expect(Object.keys(readJson(join(out, 'summary.json')).counts).sort()).toEqual(['group-items', 'groups']);
  });

  test('--policy changes a rule without touching code', () => {
    const policy = join(tmp, 'policy.json');
    writeFileSync(policy, JSON.stringify({ migrateContacts: true }));
    const out = join(tmp, 'contacts');
    expect(cli(['plan', 'samples/export', '--wave', '2023', '--policy', policy, '--out', out]).status).toBe(
      0,
    );
    expect(readJson(join(out, 'summary.json')).reasons.CONTACTS_MIGRATED).toBeGreaterThan(0);
  });

  test('a damaged export is rejected with exit 2, naming the file, and nothing is written', () => {
    const copy = join(tmp, 'damaged', 'export');
    cpSync(SAMPLE, copy, { recursive: true });
    writeFileSync(
      join(copy, 'mailbox.ndjson'),
      `${readFileSync(join(copy, 'mailbox.ndjson'), 'utf8')}{"id":"smuggled"}\n`,
    );
    const out = join(tmp, 'damaged-out');
    const r = cli(['plan', copy, '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/export rejected: mailbox\.ndjson: SHA-256 is/);
    expect(existsSync(out)).toBe(false);
  });

  test.each([
    [['plan'], /esep-migrate plan: missing required argument 'exportDir'/],
    [['plan', 'samples/export', '--wave', '2024'], /--wave: unknown wave "2024"/],
    [['plan', 'no/such/folder'], /no such export folder/],
    [['plan', 'samples/export', '--policy', 'no-such-policy.json'], /--policy: cannot read/],
    [['plan', 'samples/export', '--frobnicate'], /unknown option '--frobnicate'/],
    [['generate', '--out', 'x'], /required option '--accounts <n>' not specified/],
    [['migrate-everything'], /unknown command 'migrate-everything'/],
    [
      ['run', 'samples/export', '--wave', 'nov-2022', '--wave', '2023'],
      /given twice \(--wave nov-2022, then 2023\)/,
    ],
    [['plan', 'samples/export', '--concurrency', '1'], /expected 2 to 1000 workers, got 1/],
    [[], /Usage: esep-migrate/],
  ])('%j is rejected with exit 2: %s', (args, message) => {
    const r = cli(args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  test('run rejects a damaged export with exit 2 before starting anything', () => {
    const copy = join(tmp, 'damaged-run', 'export');
    cpSync(SAMPLE, copy, { recursive: true });
    writeFileSync(join(copy, 'projects.ndjson'), '{"id":"x"}\n');
    const state = join(tmp, 'damaged-run-state');
    const r = cli(['run', copy, '--state', state]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/export rejected: projects\.ndjson: SHA-256 is/);
    expect(existsSync(state)).toBe(false);
    const wave = cli(['run', 'samples/export', '--wave', '2024', '--state', state]);
    expect(wave.status).toBe(2);
    expect(wave.stderr).toMatch(/--wave: unknown wave "2024"/);
    expect(existsSync(state)).toBe(false);
  });

  test('a policy that breaks the rules is rejected with exit 2, naming the field', () => {
    const policy = join(tmp, 'bad-policy.json');
    writeFileSync(policy, JSON.stringify({ contentCutoff: '2018-13-01' }));
    const r = cli(['plan', 'samples/export', '--policy', policy]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/contentCutoff/);
  });

  test('--help lists the commands; each command has its own --help; --version prints the version', () => {
    const r = cli(['--help']);
    expect(r.status).toBe(0);
    for (const command of ['run', 'plan', 'register', 'serve', 'redrive', 'verify', 'generate'])
      expect(r.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    const run = cli(['run', '--help']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/Usage: esep-migrate run \[options\] <exportDir>/);
    expect(run.stdout).toMatch(/--state <dir> .*\(default: ".esep-local", env: ESEP_STATE\)/s);
    const version = cli(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toBe(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version);
  });

  test('ESEP_STATE is the default of --state', () => {
    const state = join(tmp, 'from-env');
    const r = spawnSync(process.execPath, [BIN, 'verify', 'no-such-export'], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, ESEP_STATE: state },
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`no finished run of export "no-such-export" in the state folder ${state}`);
  });
});
