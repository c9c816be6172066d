import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { plan } from '../../cli/commands/plan';
import { runLocal } from '../../cli/commands/run';
import { s3Objects } from '../../functions/adapters/s3-objects';
import { targetKeys } from '../../functions/core/keys';
import { buildStagePlan, IDENTITY_STAGES, REPORT_STAGES } from '../../functions/core/pipeline/stages';
import { compilePolicy } from '../../functions/core/rules/policy';
import { startLocalPipeline } from '../../local/runtime/pipeline';
import type { TaskHandler } from '../../local/runtime/state-machine';
import { generateExport } from '../../tools/generate';
import { BIN, cli, cliAsync, ROOT } from '../helpers/cli';
import { reportOf, snapshot } from '../helpers/local-state';

/**
 * The main job end to end: `run` through the synthesized state machine, the real handlers and the
 * local stand-ins, on a generated export of sixty accounts (the edge cases these tests look at, at the size that keeps `npm test` within its ten minutes).
 */
jest.setTimeout(180_000);

const FAST = { waitMs: 20, retryMs: 10, redeliverySeconds: 5 };
const ACCOUNTS = 60;
let tmp: string;
let exportDir: string;
let planned: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'esep-run-'));
  exportDir = join(tmp, 'run-export');
  await generateExport({ out: exportDir, accounts: ACCOUNTS, seed: 77 });
  const p = await plan({ exportDir, out: join(tmp, 'plan'), stderr: { write: () => true } });
  planned = readFileSync(join(p.outDir, 'decisions.ndjson'), 'utf8');
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
}, 60_000);

const quiet = { write: () => true };
const decisionsOf = (outDir: string) => readFileSync(join(outDir, 'decisions.ndjson'), 'utf8');
const lines = (text: string) => text.split('\n').filter(Boolean);

describe('esep-migrate serve', () => {
  test('starts a run when a manifest.json is uploaded to the local exports bucket, as EventBridge does', async () => {
    const state = join(tmp, 'state-serve');
    const child = spawn(process.execPath, [BIN, 'serve', '--state', state], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let errors = '';
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    const waitFor = (pattern: RegExp) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const check = () => {
          const m = output.match(pattern);
          if (m) resolve(m);
        };
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          check();
        });
        child.on('exit', (code) => reject(new Error(`serve exited (${code}): ${output}\n${errors}`)));
        check();
      });
    try {
      const endpoints = JSON.parse((await waitFor(/^endpoints: (.*)$/m))[1] as string) as {
        s3: string;
        exports: string;
      };
      const s3 = new S3Client({
        region: 'eu-west-1',
        endpoint: endpoints.s3,
        forcePathStyle: true,
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        requestChecksumCalculation: 'WHEN_REQUIRED',
      });
      const files = readdirSync(exportDir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => join(e.parentPath, e.name).slice(exportDir.length + 1));
      for (const file of [...files.filter((f) => f !== 'manifest.json'), 'manifest.json']) {
        await s3.send(
          new PutObjectCommand({
            Bucket: endpoints.exports,
            Key: `exports/run-export/${file}`,
            Body: readFileSync(join(exportDir, file)),
          }),
        );
      }
      s3.destroy();
      const [, status, report] = (await waitFor(
        /^run of run-export: (\S+), report: (.*)$/m,
      )) as RegExpMatchArray;
      expect(status).toBe('completed-with-quarantine');
      expect(decisionsOf(report as string)).toBe(planned);
      // The settings serve prints put an operator command's AWS path (--stack) on this deployment.
      const env = Object.fromEntries(
        [...output.matchAll(/^ {2}export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]),
      );
      expect(Object.keys(env)).toEqual(
        expect.arrayContaining(['AWS_ENDPOINT_URL_CLOUDFORMATION', 'AWS_REGION']),
      );
      const shown = await cliAsync(['status', '--stack', 'esep-local'], env);
      expect([shown.status, shown.stdout]).toEqual([
        0,
        expect.stringContaining('run-export  sept-2022, nov-2022, 2023  completed-with-quarantine'),
      ]);
    } finally {
      // A serve that already exited has said why in the error above.
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(-(child.pid as number), 'SIGTERM');
        await new Promise((resolve) => child.on('exit', resolve));
      }
    }
    expect(output).toMatch(/esep-migrate serve: stopping/);
  });
});

describe('esep-migrate run', () => {
  describe('a run, run again, then tampered with', () => {
    // The runs every test of this block reads, made once here: each test stands on its own.
    const state = () => join(tmp, 'state-main');
    let first: Awaited<ReturnType<typeof runLocal>>;
    let second: Awaited<ReturnType<typeof runLocal>>;
    let afterFirst: Awaited<ReturnType<typeof snapshot>>;
    let afterSecond: Awaited<ReturnType<typeof snapshot>>;
    /** What the first run's progress function was asked, and what the first run printed as it went. */
    const progressEvents: { taskToken?: string; stage?: string }[] = [];
    let firstProgress = '';
    beforeAll(async () => {
      first = await runLocal({
        exportDir,
        stateDir: state(),
        out: join(tmp, 'out-1'),
        stderr: {
          write: (text: string) => {
            firstProgress += text;
            return true;
          },
        },
        // A stage's wait times out only after ten minutes: the run ends within the test's timeout only
        // if every stage is answered when its last chunk is done.
        pipeline: {
          ...FAST,
          waitMs: 600_000,
          wrap: (id, handler) =>
            id.startsWith('progressFunction')
              ? async (event) => {
                  progressEvents.push(event as { taskToken?: string; stage?: string });
                  return handler(event);
                }
              : handler,
        },
      });
      afterFirst = await snapshot(state());
      second = await runLocal({
        exportDir,
        stateDir: state(),
        out: join(tmp, 'out-2'),
        stderr: quiet,
        pipeline: FAST,
      });
      afterSecond = await snapshot(state());
    });

    test('every stage ends when its last chunk is done, answered by that chunk, not by a check', () => {
      expect(first.summary.verification?.passed).toBe(true);
      const waits = progressEvents.filter((e) => e.taskToken !== undefined);
      // One wait for each stage (the identities', every wave's, the report's), and no check: none of them
      // timed out.
      const stages = [
        ...IDENTITY_STAGES.map((s) => s.id),
        ...buildStagePlan(compilePolicy()).flatMap((w) => w.stages.map((s) => s.id)),
        ...Object.values(REPORT_STAGES),
      ];
      expect(waits.map((e) => e.stage).sort()).toEqual(stages.sort());
      expect(progressEvents.filter((e) => e.taskToken === undefined)).toEqual([]);
      // The progress lines follow the answers: every step, in order, to the last.
      const lines = [...firstProgress.matchAll(/^\[run\] step (\d+) of (\d+)/gm)];
      const steps = lines.map((m) => Number(m[1]));
      const total = Number(lines[0]?.[2]);
      expect(steps).toEqual([...steps].sort((a, b) => a - b));
      expect(new Set(steps)).toEqual(new Set(Array.from({ length: total }, (_, i) => i + 1)));
    });

    test('agrees with plan decision for decision, and running it again changes nothing', () => {
      expect(first.failed).toBe(false);
      expect(first.summary.status).toBe('completed-with-quarantine');
      expect(decisionsOf(first.outDir)).toBe(planned);
      // A receipt for nearly every account, and more than one target object for each.
      expect(first.receipts).toBeGreaterThan(0.75 * ACCOUNTS);
      expect(afterFirst.objects.length).toBeGreaterThan(1.5 * ACCOUNTS);
      // The table holds no item per record: the ledger is the result objects, a row per line.
      expect(afterFirst.items.filter((i) => i.includes('"D#'))).toEqual([]);
      expect(afterFirst.results.reduce((n, r) => n + r.rows, 0)).toBe(lines(planned).length);
      expect(reportOf(second.outDir)).toEqual(reportOf(first.outDir));
      expect(afterSecond).toEqual(afterFirst);
    });

    test('lookup: what happened to one legacy account, by its id, across the runs; never by e-mail', () => {
      const account = lines(planned)
        .map((l) => JSON.parse(l))
        .find((d) => d.kind === 'accounts' && d.decision === 'migrated' && /^[a-z0-9-]+$/.test(d.id))
        .id as string;
      const r = cli(['lookup', '--account', account, '--state', state(), '--json']);
      expect(r.status).toBe(0);
      const found = JSON.parse(r.stdout);
      expect(found.legacyAccountId).toBe(account);
      expect(found.runs).toHaveLength(1); // both runs of beforeAll are one export and set of waves
      expect(found.runs[0].receipt).toBe(join(second.outDir, 'receipts', `${account}.json`));
      expect(found.runs[0].records).toContainEqual(
        expect.objectContaining({ kind: 'accounts', id: account, decision: 'migrated' }),
      );
      expect(r.stdout).not.toContain('@');
      expect(cli(['lookup', '--user', 'nobody', '--state', state()]).stdout).toContain(
        'ESEP user nobody: no registration',
      );
      expect(cli(['lookup', '--state', state()]).status).toBe(2);
    });

    test('while another command holds the state folder, status and lookup answer through it; a command that writes is refused', async () => {
      // A command at work on the folder (as a run is): it holds the lock and serves its table.
      const holder = spawn(
        process.execPath,
        [
          '-r',
          'tsx/cjs',
          '-e',
          `require('./local/runtime/pipeline.ts').startLocalPipeline({ stateDir: process.argv[1] }).then((p) => {
            console.log('ready');
            process.stdin.on('end', () => p.stop().then(() => process.exit(0)));
            process.stdin.resume();
          });`,
          state(),
        ],
        { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
      );
      try {
        await new Promise<void>((resolve, reject) => {
          holder.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
          holder.on('exit', (code) => reject(new Error(`the holder exited (${code})`)));
        });
        const status = cli(['status', '--state', state()]);
        expect(status.status).toBe(0);
        expect(status.stderr).toContain(`read while esep-migrate (pid ${holder.pid}) works in`);
        expect(status.stdout).toMatch(/completed/);
        const lookup = cli(['lookup', '--user', 'nobody', '--state', state()]);
        expect([lookup.status, lookup.stdout]).toEqual([
          0,
          expect.stringContaining('ESEP user nobody: no registration'),
        ]);
        const rollback = cli(['rollback', 'no-such-export', '--wave', 'sept-2022', '--state', state()]);
        expect([rollback.status, rollback.stderr]).toEqual([
          1,
          expect.stringContaining(`another esep-migrate (pid ${holder.pid}) is using the state folder`),
        ]);
      } finally {
        const ended = new Promise((resolve) => holder.on('exit', resolve));
        holder.stdin.end();
        await ended;
      }
      // Free again: status reads with its own stand-ins, and says nothing about another command.
      expect(cli(['status', '--state', state()]).stderr).not.toContain('read while');
    });

    test('lookup into a pipe whose reader has gone (| head): it ends quietly, with its own exit status', () => {
      const account = lines(planned)
        .map((l) => JSON.parse(l))
        .find((d) => d.kind === 'accounts' && /^[a-z0-9-]+$/.test(d.id)).id as string;
      // `true` reads nothing and exits at once: every line lookup writes meets a closed pipe (EPIPE).
      const r = spawnSync(
        'bash',
        [
          '-c',
          'set -o pipefail; "$0" "$1" lookup --account "$2" --state "$3" | true',
          process.execPath,
          BIN,
          account,
          state(),
        ],
        { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ESEP_DEBUG: '' } },
      );
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    });

    test('the run is announced with its counts; verify passes, and fails on a tampered target, as does the next run', async () => {
      const events = lines(readFileSync(join(state(), 'events.ndjson'), 'utf8')).map((l) => JSON.parse(l));
      expect(events).toHaveLength(2); // the two runs of beforeAll
      const summary = JSON.parse(readFileSync(join(first.outDir, 'summary.json'), 'utf8'));
      expect(events[0]).toMatchObject({
        source: 'esep.migration',
        detailType: 'Migration Run Finished',
        detail: {
          exportId: 'run-export',
          waves: ['sept-2022', 'nov-2022', '2023'],
          status: 'completed-with-quarantine',
          verified: true,
          counts: summary.counts,
          reasons: summary.reasons,
        },
      });
      expect(summary.verification.passed).toBe(true);
      const passed = cli(['verify', 'run-export', '--state', state()]);
      expect(passed.stdout).toContain('verification: passed');
      expect(passed.status).toBe(0);

      // A dropped item's document appears in the target.
      const dropped = lines(planned)
        .map((l) => JSON.parse(l))
        .find((d) => d.kind === 'twinspace-items' && d.decision === 'dropped');
      const pipeline = await startLocalPipeline({ stateDir: state() });
      try {
        await s3Objects(pipeline.clients.s3).put(
          pipeline.resources.buckets.migrated,
          `${targetKeys.item('run-export', 'twinspaces', 'p', dropped.id)}.json`,
          JSON.stringify({ kind: 'twinspace-items', id: dropped.id, wave: 'sept-2022' }),
        );
      } finally {
        await pipeline.stop();
      }
      const failed = cli(['verify', 'run-export', '--state', state()]);
      expect(failed.status).toBe(1);
      expect(failed.stdout).toContain('verification: FAILED');
      expect(failed.stdout).toContain(
        `twinspace-items ${dropped.id} is in the target but was not migrated by this run`,
      );
      const next = await runLocal({
        exportDir,
        stateDir: state(),
        out: join(tmp, 'out-3'),
        stderr: quiet,
        pipeline: FAST,
      });
      expect(next.failed).toBe(true);
      expect(next.summary.status).toBe('verification-failed');
      expect(next.summary.verification?.checks.find((c) => c.name === 'not-migrated')?.passed).toBe(false);
      expect(readFileSync(join(next.outDir, 'report.html'), 'utf8')).toContain(
        'Verification: <span class="quarantined">failed',
      );
      const last = JSON.parse(lines(readFileSync(join(state(), 'events.ndjson'), 'utf8')).at(-1) as string);
      expect(last.detail).toMatchObject({ status: 'verification-failed', verified: false });
    });
  });

  test('each wave alone decides its own kinds, as plan does', async () => {
    const state = join(tmp, 'state-waves');
    const byWave = new Map<string, string[]>();
    for (const line of lines(planned)) {
      const { wave } = JSON.parse(line);
      byWave.set(wave, [...(byWave.get(wave) ?? []), line]);
    }
    for (const wave of ['nov-2022', '2023', 'sept-2022']) {
      const r = await runLocal({
        exportDir,
        wave,
        stateDir: state,
        stderr: quiet,
        pipeline: FAST,
      });
      expect(r.summary.waves).toEqual([wave]);
      // One report folder per export and set of waves: no run overwrites another's report.
      expect(r.outDir).toBe(join(state, 'reports', 'run-export', wave));
      expect(lines(decisionsOf(r.outDir))).toEqual(byWave.get(wave));
    }
    // The panel shows each run, and flags the two that ran before sept-2022 had completed (2023 ran after nov-2022).
    const status = cli(['status', '--state', state, '--json']);
    expect(status.status).toBe(0);
    const rows = JSON.parse(status.stdout) as {
      waves: string[];
      state: string;
      outOfOrder: string[];
      report: string;
    }[];
    expect(rows.map((r) => [r.waves.join('+'), r.state, r.outOfOrder])).toEqual([
      ['nov-2022', 'completed-with-quarantine', ['sept-2022']],
      ['2023', 'completed-with-quarantine', ['sept-2022']],
      ['sept-2022', 'completed-with-quarantine', []],
    ]);
    expect(rows.map((r) => r.report)).toEqual(
      ['nov-2022', '2023', 'sept-2022'].map((w) => join(state, 'reports', 'run-export', w)),
    );
    for (const row of rows)
      expect(readFileSync(join(row.report, 'summary.json'), 'utf8')).toContain(row.waves[0]);
  });

  test('a handler that fails transiently is retried, and the run completes with the same decisions', async () => {
    const failures = { worker: 0, split: 0 };
    const wrap = (id: string, handler: TaskHandler): TaskHandler => {
      if (id.startsWith('twinspaceFunction')) {
        return async (event) => {
          if (failures.worker < 2) {
            failures.worker++;
            throw Object.assign(new Error('connection reset'), { name: 'TimeoutError' });
          }
          return handler(event);
        };
      }
      if (id.startsWith('splitFunction')) {
        return async (event) => {
          if (failures.split < 1) {
            failures.split++;
            throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
          }
          return handler(event);
        };
      }
      return handler;
    };
    const r = await runLocal({
      exportDir,
      stateDir: join(tmp, 'state-faults'),
      out: join(tmp, 'out-faults'),
      stderr: quiet,
      pipeline: { ...FAST, wrap },
    });
    expect(failures).toEqual({ worker: 2, split: 1 });
    expect(decisionsOf(r.outDir)).toBe(planned);
  });

  test('a chunk that takes longer than the redelivery delay is worked on once: not delivered again, not dead-lettered', async () => {
    const deliveries = new Map<string, number>();
    let slowed = false;
    const wrap = (id: string, handler: TaskHandler): TaskHandler =>
      id.startsWith('groupFunction')
        ? async (event) => {
            for (const r of (event as { Records: { messageId: string }[] }).Records)
              deliveries.set(r.messageId, (deliveries.get(r.messageId) ?? 0) + 1);
            if (!slowed) {
              // Longer than five redelivery delays: the template's maxReceiveCount.
              slowed = true;
              await new Promise((resolve) => setTimeout(resolve, 6_000));
            }
            return handler(event);
          }
        : handler;
    const r = await runLocal({
      exportDir,
      wave: 'nov-2022',
      stateDir: join(tmp, 'state-slow'),
      out: join(tmp, 'out-slow'),
      stderr: quiet,
      pipeline: { ...FAST, redeliverySeconds: 1, wrap },
    });
    expect(slowed).toBe(true);
    expect(deliveries.size).toBeGreaterThan(0);
    expect([...deliveries.values()].every((n) => n === 1)).toBe(true);
    expect(r.failed).toBe(false);
    expect(r.summary.missing).toBeUndefined();
    expect(r.summary.verification?.passed).toBe(true);
  });

  test('a poison message reaches the dead-letter queue, and the report says which chunk is missing', async () => {
    let attempts = 0;
    const wrap = (id: string, handler: TaskHandler): TaskHandler =>
      id.startsWith('groupFunction')
        ? async (event) => {
            const records = (event as { Records: { body: string }[] }).Records;
            if (
              records.some(
                (r) => r.body.includes('"kind":"group-items","path"') && r.body.includes('"op":"decide"'),
              )
            ) {
              attempts++;
              throw new Error('this chunk always fails');
            }
            return handler(event);
          }
        : handler;
    const r = await runLocal({
      exportDir,
      wave: 'nov-2022',
      stateDir: join(tmp, 'state-poison'),
      out: join(tmp, 'out-poison'),
      stderr: quiet,
      pipeline: { ...FAST, redeliverySeconds: 1, wrap },
    });
    // Retried, then dead-lettered after the template's maxReceiveCount (5) receives. local-aws-sqs can count
    // one receive twice when a long poll hands out the same message twice, so it may take one invocation less.
    expect(attempts).toBeGreaterThanOrEqual(4);
    expect(attempts).toBeLessThanOrEqual(5);
    expect(r.failed).toBe(true);
    expect(r.summary.status).toBe('incomplete');
    expect(r.summary.missing).toEqual([
      { stage: 'nov-2022/decide-2', chunks: ['group-items.decide.000000'] },
    ]);
    expect(r.summary.counts['group-items']).toEqual({ migrated: 0, dropped: 0, quarantined: 0 });
    expect(r.summary.counts.groups?.migrated).toBeGreaterThan(0);
  });
});
