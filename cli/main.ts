import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  ConservationError,
  ExportRejectedError,
  LinkRefusedError,
  PolicyError,
  UsageError,
} from '../functions/core/errors';
import type { Estimate } from '../functions/core/estimate/estimate';
import { linkReasonText } from '../functions/core/report/i18n';
import { neutralise } from '../functions/core/report/neutralise';
import type { Summary } from '../functions/core/report/summary';
import { startServicesThread } from '../local/stand-ins/services-thread';
import type { RunResult } from './commands/run';
import { handleInterrupts, isInterrupted } from './interrupt';
import { fileSystemError, isFileSystemError } from './messages';

/**
 * The command line, on commander: per-command `--help` (exit 0), `--version`, `ESEP_STATE` as the default
 * of `--state`, and every error of the arguments as exit 2 with a message that names the argument. The
 * commands' own modules (the CDK, the SDK, the stand-ins) load only when a command runs (`require`, which
 * tsx compiles; its `import()` would not), so `--help` is quick.
 */

const EXIT_HELP = `
Exit status: 0 completed (whatever was dropped or quarantined), 2 the export, the policy or the
arguments were rejected, 130 / 143 stopped by Ctrl-C / SIGTERM (run it again to resume), 1 anything else.
Waves of the default policy: sept-2022, nov-2022, 2023. Rules: shared/spec/migration-rules.md.`;

/** A whole number within bounds, for an option. */
const wholeNumber = (name: string, min: number, max: number) => (raw: string) => {
  if (!/^\d+$/.test(raw)) throw new InvalidArgumentError(`expected a whole number, got "${raw}"`);
  const n = Number(raw);
  if (n < min || n > max) throw new InvalidArgumentError(`expected ${min} to ${max} ${name}, got ${n}`);
  return n;
};

const fraction = (name: string) => (raw: string) => {
  const n = Number(raw);
  if (!/^\d*\.?\d+(e-?\d+)?$/.test(raw) || !(n > 0 && n <= 1))
    throw new InvalidArgumentError(`expected a ${name} above 0 and at most 1, got "${raw}"`);
  return n;
};

/** An option that may be given once: a second value is an error, not silently the one that counts. */
const once = (flag: string) => (value: string, previous: unknown) => {
  if (previous !== undefined)
    throw new InvalidArgumentError(`given twice (${flag} ${previous}, then ${value}): give it once`);
  return value;
};

const stateOption = () =>
  new Option('--state <dir>', 'the local state folder (the stand-ins keep their data there)')
    .env('ESEP_STATE')
    .default('.esep-local');
/**
 * A deployed stack instead of the local state folder (cli/stack.ts): the AWS SDK's own settings say which
 * account, region and endpoints (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_<SERVICE>).
 */
const stackOption = () =>
  new Option(
    '--stack <name>',
    "a deployed pipeline stack instead of the local state (AWS_PROFILE, AWS_REGION and the SDK's other settings choose the account)",
  )
    .env('ESEP_STACK')
    .argParser(once('--stack'));
const waveOption = () =>
  new Option('--wave <id>', 'one wave of the policy, or all (the default): every wave in order').argParser(
    once('--wave'),
  );
const outOption = (what: string) => new Option('--out <dir>', `the report folder (default: ${what})`);
const policyOption = () => new Option('--policy <file>', 'a JSON policy file: only the keys to change');

type ExportResult = {
  summary: Summary;
  outDir: string;
  /** Receipts written (a report in the reports buckets of a stack is not counted here). */
  receipts?: number;
  failed?: boolean;
  estimate?: Estimate;
  throttling?: RunResult['throttling'];
};

/** What the stand-ins refused under AWS's limits, beside what the AWS model counts for them. */
function formatThrottling(t: NonNullable<RunResult['throttling']>): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-GB');
  const share = (x: number) => `${((100 * x) / Math.max(1, t.requests)).toFixed(1)} %`;
  return [
    `\nAWS's limits x ${t.scale} (a new table's 4,000 writes and 12,000 reads a second, a new bucket's 3,500 writes and 5,500 reads):`,
    `  ${n(t.throttled)} of ${n(t.requests)} requests throttled (${share(t.throttled)}), ${(t.waitedMs / 1000).toFixed(1)} s waited before their retries; ${n(t.deadLettered)} messages dead-lettered`,
    `  the AWS model counts ${(100 * t.model.share).toFixed(1)} % throttled for the same requests: ${n(t.model.throttled)}, ${(t.model.waitedMs / 1000).toFixed(1)} s`,
  ].join('\n');
}

/**
 * A command on the local state starts the stand-ins' thread before it loads its own modules, so that both
 * load at once (on the machine's two cores); one on a deployed stack (`--stack`) needs none.
 */
function standInsAhead(o: { readonly stack?: string | undefined }): void {
  if (o.stack === undefined) startServicesThread();
}

/** The summary a plan, run or redrive prints; its exit status (1 when the run failed after its report). */
async function printResult(name: string, title: string, result: ExportResult, policyFile?: string) {
  const { formatSummary, loadPolicy } = require('./commands/plan') as typeof import('./commands/plan');
  const { formatVerification } = require('./commands/verify') as typeof import('./commands/verify');
  const { formatEstimate } =
    require('../functions/core/estimate/estimate') as typeof import('../functions/core/estimate/estimate');
  const s = result.summary;
  console.log(
    `${title} of export ${s.exportId}, waves ${s.waves.join(', ')}${name === 'plan' ? ' (dry run: nothing written to any target)' : ''}\n`,
  );
  console.log(formatSummary(s, (await loadPolicy(policyFile)).waveOf));
  console.log(`\nstatus: ${s.status}`);
  for (const m of s.missing ?? []) {
    const some = m.chunks.slice(0, 5).join(', ') + (m.chunks.length > 5 ? ', ...' : '');
    console.log(`missing: ${m.stage}: ${m.chunks.length} chunks in a dead-letter queue (${some})`);
  }
  if (s.verification) console.log(formatVerification(s.verification));
  if (result.estimate) console.log(`\n${formatEstimate(result.estimate)}`);
  if (result.throttling) console.log(formatThrottling(result.throttling));
  console.log(
    `\nreport: ${result.outDir} (summary.json, decisions.ndjson, report.html, ${result.receipts === undefined ? 'receipts/' : `${result.receipts} receipts`})`,
  );
  if (name === 'plan')
    console.log(
      `one teacher's receipt: esep-migrate receipt ${result.outDir} --account <legacyAccountId> [--as html|text]`,
    );
  return result.failed ? 1 : 0;
}

interface ExportFlags {
  wave?: string;
  out?: string;
  policy?: string;
  state: string;
  concurrency?: number;
  poll?: number;
  tableWrites?: number;
  tableReads?: number;
  bucketPartitions?: number;
  targetBuckets?: number;
  scaleTo?: number;
}
const exportOptions = (exportDir: string, o: ExportFlags) => ({
  exportDir,
  stateDir: o.state,
  ...(o.wave === undefined ? {} : { wave: o.wave }),
  ...(o.out === undefined ? {} : { out: o.out }),
  ...(o.policy === undefined ? {} : { policyFile: o.policy }),
  ...(o.scaleTo === undefined ? {} : { scaleTo: o.scaleTo }),
  estimateSettings: {
    ...(o.concurrency === undefined ? {} : { workerConcurrency: o.concurrency }),
    ...(o.poll === undefined ? {} : { pollSeconds: o.poll }),
    ...(o.tableWrites === undefined ? {} : { tableWritesPerSecond: o.tableWrites }),
    ...(o.tableReads === undefined ? {} : { tableReadsPerSecond: o.tableReads }),
    ...(o.bucketPartitions === undefined ? {} : { bucketPartitions: o.bucketPartitions }),
    ...(o.targetBuckets === undefined ? {} : { targetBuckets: o.targetBuckets }),
  },
});

function program(setExit: (code: number) => void): Command {
  const version = (require('../package.json') as { version: string }).version;
  const cli = new Command('esep-migrate')
    .description('Move a legacy eTwinning / School Education Gateway export into ESEP, by the rules.')
    .version(version, '-V, --version', 'print the version')
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXIT_HELP)
    .exitOverride()
    .configureOutput({
      outputError: (text, write) =>
        write(`esep-migrate: ${neutralise(text.replace(/^error: /, '').trimEnd())}\n`),
    });

  cli
    .command('run')
    .description(
      'run the pipeline on this machine, as if the export had been uploaded: the synthesized state machine and the real handlers against local stand-ins',
    )
    .argument('<exportDir>', 'the export folder (its name is the exportId)')
    .addOption(waveOption())
    .addOption(outOption('<state>/reports/<exportId>/<waves>'))
    .addOption(stateOption())
    .addOption(policyOption())
    .option(
      '--replace',
      'the export changed since it was run under this id: withdraw the earlier run and decide the new content',
    )
    .addOption(
      new Option(
        '--aws-limits [scale]',
        "enforce AWS's limits in the stand-ins (a new table's and a new bucket's rates, times scale: 0 to 1, default 1) and pace the workers to them; limits.json says what was throttled",
      ).argParser(fraction('aws-limits scale')),
    )
    .action(async (exportDir: string, o: ExportFlags & { replace?: boolean; awsLimits?: number | true }) => {
      standInsAhead({});
      const { runLocal } = require('./commands/run') as typeof import('./commands/run');
      const options = {
        ...exportOptions(exportDir, o),
        replace: o.replace === true,
        ...(o.awsLimits === undefined ? {} : { awsLimits: o.awsLimits === true ? 1 : o.awsLimits }),
      };
      setExit(await printResult('run', 'Run', await runLocal(options), o.policy));
    });

  cli
    .command('plan')
    .description(
      'a dry run straight over the files: the same report folder as run in the same state (whose other exports it reads, never writes), and what the waves would cost and take on AWS',
    )
    .argument('<exportDir>', 'the export folder')
    .addOption(waveOption())
    .addOption(outOption('<state>/plans/<exportId>/<waves>'))
    .addOption(stateOption())
    .addOption(policyOption())
    .addOption(
      new Option('--concurrency <n>', 'workers per queue the AWS estimate assumes (default 10)').argParser(
        wholeNumber('workers', 2, 1000),
      ),
    )
    .addOption(
      new Option(
        '--poll <seconds>',
        "seconds between progress checks the estimate assumes (default 30, the deployment's)",
      ).argParser(wholeNumber('poll seconds', 1, 3600)),
    )
    .addOption(
      new Option(
        '--table-writes <n>',
        'writes per second the state table takes (default 4000, a new on-demand table; more when pre-warmed: cdk deploy -c tableWarmWrites=<n>)',
      ).argParser(wholeNumber('table writes', 1000, 1_000_000)),
    )
    .addOption(
      new Option(
        '--table-reads <n>',
        'reads per second the state table takes (default 12000, a new on-demand table; more when pre-warmed: cdk deploy -c tableWarmReads=<n>)',
      ).argParser(wholeNumber('table reads', 1000, 1_000_000)),
    )
    .addOption(
      new Option(
        '--bucket-partitions <n>',
        "partitions each bucket has from the start (default 1, a new bucket's: 3,500 writes and 5,500 reads a second; more only when AWS Support partitioned the buckets: cdk deploy -c bucketPartitions=<n>)",
      ).argParser(wholeNumber('bucket partitions', 1, 1024)),
    )
    .addOption(
      new Option(
        '--target-buckets <n>',
        'buckets the target and the reports are each spread over (default 4, as deployed: cdk deploy -c targetBuckets=<n>)',
      ).argParser(wholeNumber('target buckets', 1, 64)),
    )
    .addOption(
      new Option(
        '--scale-to <accounts>',
        "project the export's workload to this many accounts and say whether that run fits AWS's limits",
      ).argParser(wholeNumber('accounts', 1, 100_000_000)),
    )
    .action(async (exportDir: string, o: ExportFlags) => {
      const { plan } = require('./commands/plan') as typeof import('./commands/plan');
      setExit(await printResult('plan', 'Plan', await plan(exportOptions(exportDir, o)), o.policy));
    });

  cli
    .command('register')
    .description('deliver one ESEP registration, as EU Login would; prints the outcome as one JSON line')
    .requiredOption('--email <address>', 'the e-mail of the EU Login account')
    .requiredOption('--user <esepUserId>', 'the ESEP user id')
    .addOption(stateOption())
    .addOption(stackOption())
    .action(async (o: { email: string; user: string; state: string; stack?: string }) => {
      standInsAhead(o);
      const { registerLocal } = require('./commands/register') as typeof import('./commands/register');
      const outcome = await registerLocal({
        email: o.email,
        esepUserId: o.user,
        stateDir: o.state,
        ...(o.stack === undefined ? {} : { stack: o.stack }),
      });
      console.log(JSON.stringify(outcome));
      setExit(0);
    });

  cli
    .command('link')
    .description(
      'the support desk links a pending or ambiguous registration to a legacy account by hand, once, audited (rule ID-8); prints the outcome as one JSON line',
    )
    .requiredOption('--user <esepUserId>', 'the ESEP user id (it must have registered)')
    .requiredOption('--account <legacyAccountId>', 'the legacy account id')
    .option('--export <exportId>', 'the export that holds the account (when the id is on both platforms)')
    .requiredOption('--reason <text>', 'why (kept in the audit record)')
    .option('--by <name>', "who links (kept in the audit record; default: the operator's login name)")
    .addOption(stateOption())
    .addOption(stackOption())
    .action(
      async (o: {
        user: string;
        account: string;
        export?: string;
        reason: string;
        by?: string;
        state: string;
        stack?: string;
      }) => {
        standInsAhead(o);
        const { linkLocal } = require('./commands/register') as typeof import('./commands/register');
        const outcome = await linkLocal({
          esepUserId: o.user,
          legacyAccountId: o.account,
          reason: o.reason,
          stateDir: o.state,
          ...(o.stack === undefined ? {} : { stack: o.stack }),
          ...(o.export === undefined ? {} : { exportId: o.export }),
          ...(o.by === undefined ? {} : { by: o.by }),
        });
        console.log(JSON.stringify(outcome));
        setExit(0);
      },
    );

  cli
    .command('rollback')
    .description(
      "withdraw from the target what one wave of an export wrote, record by record from the runs' ledgers; the receipts say so and the wave can run again",
    )
    .argument('<exportId>')
    .requiredOption('--wave <id>', 'the wave to withdraw', once('--wave'))
    .addOption(stateOption())
    .addOption(stackOption())
    .addOption(policyOption())
    .action(async (exportId: string, o: { wave: string; state: string; stack?: string; policy?: string }) => {
      standInsAhead(o);
      const { rollbackLocal } = require('./commands/rollback') as typeof import('./commands/rollback');
      const r = await rollbackLocal({
        exportId,
        wave: o.wave,
        stateDir: o.state,
        ...(o.stack === undefined ? {} : { stack: o.stack }),
        ...(o.policy === undefined ? {} : { policyFile: o.policy }),
      });
      console.log(
        r.runs === 0
          ? `nothing to roll back: no run of ${exportId} has wave ${r.wave} in the target`
          : `rolled back wave ${r.wave} of ${exportId}: ${r.withdrawn} records withdrawn from the target (${r.runs} run${r.runs === 1 ? '' : 's'}); run the wave again to migrate it anew`,
      );
      for (const dir of r.reports) console.log(`receipts updated: ${dir}`);
      setExit(0);
    });

  cli
    .command('forget')
    .description(
      'honour an erasure request (GDPR Art. 17, rule ER-1): withdraw everything of a legacy account from the target, its receipts and the decisions, keep an audit record without personal data, and decide it ERASED in every later run',
    )
    .requiredOption(
      '--account <platform:id>',
      'the legacy account: etwinning:<id> or seg:<id>',
      once('--account'),
    )
    .requiredOption(
      '--reason <ticket>',
      'the ticket of the request (kept; never an e-mail address)',
      once('--reason'),
    )
    .addOption(stateOption())
    .addOption(stackOption())
    .action(async (o: { account: string; reason: string; state: string; stack?: string }) => {
      standInsAhead(o);
      const { forgetLocal } = require('./commands/forget') as typeof import('./commands/forget');
      const r = await forgetLocal({
        account: o.account,
        reason: o.reason,
        stateDir: o.state,
        ...(o.stack === undefined ? {} : { stack: o.stack }),
      });
      const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
      console.log(
        r.again
          ? `erasure recorded before (${r.erasure.at}, ticket ${r.erasure.ticket}); withdrawn again what was left`
          : `erasure recorded (${r.erasure.at}, ticket ${r.erasure.ticket}): every later run decides the account ERASED`,
      );
      console.log(
        `withdrawn: ${plural(r.deleted, 'object')} deleted from the target, ${plural(r.rewritten, 'shared document')} rewritten without it (${plural(r.runs, 'run')}); ${plural(r.receipts.deleted, 'receipt')} deleted, ${plural(r.receipts.amended, 'other receipt')} amended, ${plural(r.decisionLines, 'decision line')} made anonymous${r.unlinked ? '; its ESEP link taken back' : ''}`,
      );
      for (const dir of r.folders) console.log(`report folder updated: ${dir}`);
      if (r.remaining.length > 0) {
        console.log(`verification failed: ${plural(r.remaining.length, 'thing')} of the account remain:`);
        for (const left of r.remaining.slice(0, 20)) console.log(`  ${left}`);
        console.log('run the same command again; if it stays, see docs/support-desk.md "Erasure requests"');
        setExit(1);
        return;
      }
      console.log('verified: nothing of the account remains in the target or the reports');
      setExit(0);
    });

  cli
    .command('serve')
    .description(
      'keep the stand-ins up and start a run whenever a manifest.json is uploaded under exports/<exportId>/ of the local exports bucket',
    )
    .addOption(stateOption())
    .addOption(policyOption())
    .action(async (o: { state: string; policy?: string }) => {
      standInsAhead({});
      const { serve } = require('./commands/serve') as typeof import('./commands/serve');
      await serve({ stateDir: o.state, ...(o.policy === undefined ? {} : { policyFile: o.policy }) });
      setExit(0);
    });

  cli
    .command('redrive')
    .description(
      "after a fix: move dead-lettered messages back and run the export's latest incomplete run to its end",
    )
    .argument('<exportId>')
    .addOption(stateOption())
    .addOption(stackOption())
    .addOption(outOption('<state>/reports/<exportId>/<waves>'))
    .action(async (exportId: string, o: { state: string; stack?: string; out?: string }) => {
      standInsAhead(o);
      const { redriveLocal, redriveStack } =
        require('./commands/redrive') as typeof import('./commands/redrive');
      if (o.stack !== undefined && o.out !== undefined)
        throw new UsageError(
          '--out: a redrive on a stack writes its report to the reports buckets, as every run there',
        );
      const result =
        o.stack === undefined
          ? await redriveLocal({
              exportId,
              stateDir: o.state,
              ...(o.out === undefined ? {} : { out: o.out }),
            })
          : await redriveStack(exportId, o.stack);
      if ('nothing' in result) {
        const { waves, state } = result.nothing;
        console.log(
          `nothing to redrive: the latest run of ${exportId} (waves ${waves.join(', ')}) is ${state} and no message is dead-lettered; to migrate a wave again, run it`,
        );
        setExit(0);
        return;
      }
      console.log(`moved ${result.moved} messages from dead-letter queues back to their queues`);
      if ('outDir' in result) {
        setExit(await printResult('redrive', 'Redrive', result));
        return;
      }
      if (result.running !== undefined) {
        console.log(
          `execution ${result.running} still runs this export: it takes the messages moved back (esep-migrate status --stack shows it)`,
        );
        setExit(0);
        return;
      }
      if (result.summary && result.reportFolder) {
        const printed = await printResult('redrive', 'Redrive', {
          summary: result.summary,
          outDir: result.reportFolder,
        });
        setExit(result.failed ? 1 : printed);
        return;
      }
      const { formatStatus } = require('./commands/status') as typeof import('./commands/status');
      console.log(
        result.run
          ? formatStatus({ runs: [result.run] })
          : 'the execution ended without a status row for these waves',
      );
      setExit(result.failed ? 1 : 0);
    });

  cli
    .command('verify')
    .description(
      'check what the export has in the target: every finished local run of it, withdrawn waves included (exit 1 when a check fails, 2 when there is no run)',
    )
    .argument('<exportId>')
    .addOption(stateOption())
    .addOption(stackOption())
    .action(async (exportId: string, o: { state: string; stack?: string }) => {
      standInsAhead(o);
      const { formatVerification, verifyLocal } =
        require('./commands/verify') as typeof import('./commands/verify');
      const { runs, verification } = await verifyLocal({
        exportId,
        stateDir: o.state,
        ...(o.stack === undefined ? {} : { stack: o.stack }),
      });
      const waves = [...new Set(runs.flatMap((r) => r.waves))];
      console.log(`Verify of export ${neutralise(exportId)}, waves ${waves.join(', ')}`);
      console.log(formatVerification(verification));
      setExit(verification.passed ? 0 : 1);
    });

  cli
    .command('status')
    .description(
      'every export and wave run in the state: its state, times, counts, verification and report, and waves run out of order; on a deployed stack also where a running run is, and the dead letters',
    )
    .addOption(stateOption())
    .addOption(stackOption())
    .addOption(policyOption())
    .option('--json', 'JSON instead of lines: the runs (with --stack: {runs, deadLettered})')
    .action(async (o: { state: string; stack?: string; policy?: string; json?: boolean }) => {
      const { formatStatus, status } = require('./commands/status') as typeof import('./commands/status');
      const panel = await status({
        stateDir: o.state,
        ...(o.stack === undefined ? {} : { stack: o.stack }),
        ...(o.policy === undefined ? {} : { policyFile: o.policy }),
      });
      if (!o.json) console.log(formatStatus(panel));
      else console.log(JSON.stringify(o.stack === undefined ? panel.runs : panel, null, 2));
      setExit(0);
    });

  cli
    .command('lookup')
    .description(
      'what happened to a legacy account (or the account of an ESEP user): its link and every decision across exports and waves',
    )
    .option('--account <legacyAccountId>', 'the legacy account id')
    .option('--user <esepUserId>', 'the ESEP user id (its linked account)')
    .addOption(stateOption())
    .addOption(stackOption())
    .option('--json', 'one JSON object instead of lines')
    .action(async (o: { account?: string; user?: string; state: string; stack?: string; json?: boolean }) => {
      const { lookupLocal } = require('./commands/lookup') as typeof import('./commands/lookup');
      const found = await lookupLocal({
        stateDir: o.state,
        ...(o.stack === undefined ? {} : { stack: o.stack }),
        ...(o.account === undefined ? {} : { account: o.account }),
        ...(o.user === undefined ? {} : { user: o.user }),
      });
      if (o.json) console.log(JSON.stringify(found, null, 2));
      else {
        const n = neutralise;
        console.log(
          found.legacyAccountId
            ? `legacy account ${n(found.legacyAccountId)}${found.link ? `, linked to ESEP user ${n(found.link.esepUserId)} (${found.link.reason})` : ', not linked'}`
            : `ESEP user ${n(o.user ?? '')}: ${found.link ? `${found.link.decision} (${found.link.reason})` : 'no registration'}`,
        );
        if (found.link) console.log(`  ${linkReasonText(found.link.reason)}`);
        if (found.erased)
          console.log(
            `erased at its holder's request (ER-1): ${found.erased.at}, ticket ${n(found.erased.ticket)}; nothing of it is migrated, and every later run decides it ERASED`,
          );
        for (const w of found.withdrawals)
          console.log(`withdrawn: ${w.kind} ${n(w.id)} of ${n(w.exportId)} (${w.reason}, ${w.at})`);
        for (const run of found.runs) {
          console.log(`\n${n(run.exportId)}, waves ${run.waves.join(', ')} (${run.state}): ${run.receipt}`);
          for (const r of run.records) console.log(`  ${r.kind} ${n(r.id)}: ${r.decision} (${r.reason})`);
        }
        if (found.legacyAccountId && found.runs.length === 0)
          console.log('no run in this state has a receipt for it');
      }
      setExit(0);
    });

  cli
    .command('receipt')
    .description(
      "one teacher's receipt from a report folder (a plan's or a run's): its JSON, or the page or text the support desk sends",
    )
    .argument('<reportDir>', 'the report folder (plan or run)')
    .requiredOption('--account <legacyAccountId>', 'the legacy account id')
    .addOption(
      new Option('--as <format>', 'json, html or text').choices(['json', 'html', 'text']).default('json'),
    )
    .action(async (reportDir: string, o: { account: string; as: 'json' | 'html' | 'text' }) => {
      const { showReceipt } = require('./commands/receipt') as typeof import('./commands/receipt');
      process.stdout.write(await showReceipt({ reportDir, account: o.account, as: o.as }));
      setExit(0);
    });

  cli
    .command('generate')
    .description(
      'write a realistic synthetic export, deterministic for a seed; the folder name is the exportId',
    )
    .requiredOption('--out <dir>', 'the export folder to write')
    .requiredOption('--accounts <n>', 'how many accounts', wholeNumber('accounts', 1, 100_000_000))
    .option('--seed <n>', 'the seed', wholeNumber('as the seed', 0, 2 ** 31), 1)
    .option('--force', 'write into a folder that holds other files (nothing in it is removed)')
    .action(async (o: { out: string; accounts: number; seed: number; force?: boolean }) => {
      const { checkGenerateOptions, generateExport } =
        require('../tools/generate') as typeof import('../tools/generate');
      const { takeFolder } = require('./folders') as typeof import('./folders');
      let result: Awaited<ReturnType<typeof generateExport>>;
      try {
        checkGenerateOptions({ out: o.out, accounts: o.accounts });
        // A folder that holds anything but an export generated earlier is refused (unless --force).
        const claim = await takeFolder(o.out, 'export', '--out', { force: o.force === true });
        result = await generateExport({
          out: o.out,
          accounts: o.accounts,
          seed: o.seed,
          replacePrevious: claim.ours,
        });
      } catch (error) {
        if (error instanceof RangeError) throw new UsageError(error.message, { cause: error });
        throw error;
      }
      console.log(
        `generated export ${result.exportId} in ${o.out}: ${o.accounts} accounts, ${result.records} lines`,
      );
      setExit(0);
    });

  for (const command of cli.commands) {
    command.exitOverride().showHelpAfterError('(add --help for usage)');
    command.configureOutput({
      outputError: (text, write) =>
        write(`esep-migrate ${command.name()}: ${neutralise(text.replace(/^error: /, '').trimEnd())}\n`),
    });
  }
  return cli;
}

/** Runs the command line; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const cli = program((c) => {
    code = c;
  });
  // A reader that closes the pipe early (`| head`) ends the output, not the command: the command finishes
  // what it does and exits with its own status, without a stack trace.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  // `serve` runs until it is stopped: a signal is its normal end. Every other command is interrupted.
  if (argv[0] !== 'serve')
    handleInterrupts(
      process.stderr,
      'Nothing that was done is lost: run the same command again and it resumes where it stopped.',
    );
  // Every message may quote the export (a path, a field): written with its control characters escaped.
  const say = (text: string) => console.error(`esep-migrate: ${neutralise(text)}`);
  try {
    if (argv.length === 0) {
      cli.outputHelp({ error: true });
      return 2;
    }
    await cli.parseAsync(argv, { from: 'user' });
    return code;
  } catch (caught) {
    // --help and --version end the parse this way; every other error of commander is of the arguments.
    if (caught instanceof CommanderError) return caught.exitCode === 0 ? 0 : 2;
    // A signal stops the work; its handler says how to resume and sets the exit status.
    if (isInterrupted()) return new Promise<number>(() => undefined);
    const error = isFileSystemError(caught) ? fileSystemError(caught) : caught;
    if (process.env.ESEP_DEBUG) console.error(caught);
    if (error instanceof UsageError || error instanceof PolicyError) {
      say(error.message);
      return 2;
    }
    if (error instanceof LinkRefusedError) {
      say(`link refused: ${error.message}`);
      return 2;
    }
    if (error instanceof ExportRejectedError) {
      say(`export rejected: ${error.message}`);
      return 2;
    }
    if (error instanceof ConservationError) say(`internal error: ${error.message}`);
    else say((error as Error)?.message ?? String(error));
    return 1;
  }
}
