import { mkdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { ConservationError, ExportRejectedError, PolicyError, UsageError } from '../functions/core/errors';
import { type Estimate, formatEstimate } from '../functions/core/estimate/estimate';
import { neutralise } from '../functions/core/report/neutralise';
import type { Summary } from '../functions/core/report/summary';
import { checkGenerateOptions, generateExport } from '../tools/generate';
import { formatSummary, loadPolicy, plan } from './commands/plan';
import { redriveLocal } from './commands/redrive';
import { registerLocal } from './commands/register';
import { runLocal } from './commands/run';
import { serve } from './commands/serve';
import { formatVerification, verifyLocal } from './commands/verify';
import { claimFolder, markFolder } from './folders';
import { handleInterrupts, isInterrupted } from './interrupt';
import { fileSystemError, isFileSystemError } from './messages';

const HELP = `esep-migrate — move a legacy eTwinning / School Education Gateway export into ESEP

Usage:
  esep-migrate run <exportDir> [--wave <id>|all] [--out <dir>] [--state <dir>] [--policy <file>]
      Runs the pipeline on this machine, as if the export had been uploaded: the synthesized state
      machine and the real handlers against local stand-ins for S3, DynamoDB and SQS, their data under
      --state (default .esep-local). Writes the report into --out (default <state>/reports/<exportId>).
  esep-migrate register --email <address> --user <esepUserId> [--state <dir>]
      Delivers one ESEP registration, as EU Login would, and prints the outcome as one JSON line:
      {"esepUserId","decision":"linked"|"not-linked","reason","legacyAccountId"?}
  esep-migrate serve [--state <dir>] [--policy <file>]
      Keeps the local stand-ins up, prints their endpoints, and starts a run whenever a manifest.json
      is uploaded under exports/<exportId>/ of the local exports bucket (as EventBridge does on AWS).
      Exit 1 when the run ends incomplete (chunks in a dead-letter queue) or its target fails verification.
  esep-migrate plan <exportDir> [--wave <id>|all] [--out <dir>] [--policy <file>] [--state <dir>]
                    [--concurrency <n>]
      A dry run straight over the files, no services: writes the same report folder (summary.json,
      decisions.ndjson, receipts/, report.html) into --out (default <state>/plans/<exportId>), plus
      estimate.json: what the waves would cost and take on AWS with <n> workers per queue (default 10).
  esep-migrate redrive <exportId> [--state <dir>] [--out <dir>]
      After a fix: moves dead-lettered messages back to their queues and runs the export's latest
      incomplete (or interrupted) run to its end, with the same waves; writes a new report.
  esep-migrate verify <exportId> [--state <dir>]
      Checks the target of the export's latest local run: conservation per kind, every migrated file
      present with its SHA-256, no dropped or quarantined record and no credential in the target.
      Exit 0 when every check passes, 1 when one fails, 2 when the state holds no run of the export.
  esep-migrate generate --out <dir> --accounts <n> [--seed <n>] [--force]
      Writes a realistic synthetic export (deterministic for a seed) with every kind, files and the
      edge cases of the rules. The folder's name is the exportId. A folder that holds other files is
      refused unless --force (which replaces only the files it writes and removes nothing).
  esep-migrate --help

Waves (default policy): sept-2022, nov-2022, 2023. Rules: shared/spec/migration-rules.md.
Exit status: 0 completed (whatever was dropped or quarantined), 2 export or arguments rejected,
1 anything else.`;

type Flags = Record<string, string | boolean | undefined>;

function parse(args: string[], options: Record<string, { type: 'string' | 'boolean' }>) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (cause) {
    throw new UsageError((cause as Error).message, { cause });
  }
}

function wholeNumber(flags: Flags, name: string, fallback?: number): number {
  const raw = flags[name];
  if (raw === undefined) {
    if (fallback === undefined) throw new UsageError(`--${name} is required`);
    return fallback;
  }
  if (typeof raw !== 'string' || !/^\d+$/.test(raw))
    throw new UsageError(`--${name}: expected a whole number, got "${raw}"`);
  return Number(raw);
}

/** Workers per queue, as CDK context workerConcurrency allows them. */
function concurrency(flags: Flags): number {
  const n = wholeNumber(flags, 'concurrency');
  if (n < 2 || n > 1000) throw new UsageError(`--concurrency: expected 2 to 1000 workers, got ${n}`);
  return n;
}

const str = (flags: Flags, name: string) =>
  typeof flags[name] === 'string' ? (flags[name] as string) : undefined;

/** `plan` and `run`: one export folder and the same options; both print the summary and the report's path. */
async function exportCommand(
  name: 'plan' | 'run',
  args: string[],
  title: string,
  action: (options: ExportCommandOptions) => Promise<{
    summary: Summary;
    outDir: string;
    receipts: number;
    failed?: boolean;
    estimate?: Estimate;
  }>,
): Promise<number> {
  const { values, positionals } = parse(args, {
    wave: { type: 'string' },
    out: { type: 'string' },
    policy: { type: 'string' },
    state: { type: 'string' },
    ...(name === 'plan' ? { concurrency: { type: 'string' as const } } : {}),
  });
  if (positionals.length !== 1) throw new UsageError(`${name}: expected one <exportDir>`);
  const options = {
    exportDir: positionals[0] as string,
    wave: str(values, 'wave'),
    out: str(values, 'out'),
    policyFile: str(values, 'policy'),
    stateDir: str(values, 'state'),
    ...(values.concurrency === undefined
      ? {}
      : { estimateSettings: { workerConcurrency: concurrency(values) } }),
  };
  const result = await action(options);
  return printResult(name, title, result, options.policyFile);
}

/** The summary a plan, run or redrive prints; its exit status (1 when the run failed after its report). */
async function printResult(
  name: string,
  title: string,
  result: Awaited<ReturnType<Parameters<typeof exportCommand>[3]>>,
  policyFile?: string,
): Promise<number> {
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
  console.log(
    `\nreport: ${result.outDir} (summary.json, decisions.ndjson, report.html, ${result.receipts} receipts)`,
  );
  return result.failed ? 1 : 0;
}

type ExportCommandOptions = {
  exportDir: string;
  estimateSettings?: { workerConcurrency: number };
  wave?: string;
  out?: string;
  policyFile?: string;
  stateDir?: string;
};

const planCommand = (args: string[]) => exportCommand('plan', args, 'Plan', plan);
const runCommand = (args: string[]) => exportCommand('run', args, 'Run', runLocal);

async function serveCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { state: { type: 'string' }, policy: { type: 'string' } });
  if (positionals.length > 0) throw new UsageError(`serve: unexpected argument "${positionals[0]}"`);
  await serve({ stateDir: str(values, 'state'), policyFile: str(values, 'policy') });
  return 0;
}

async function registerCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    email: { type: 'string' },
    user: { type: 'string' },
    state: { type: 'string' },
  });
  if (positionals.length > 0) throw new UsageError(`register: unexpected argument "${positionals[0]}"`);
  const email = str(values, 'email');
  const esepUserId = str(values, 'user');
  if (!email) throw new UsageError('--email is required');
  if (!esepUserId) throw new UsageError('--user is required');
  const outcome = await registerLocal({ email, esepUserId, stateDir: str(values, 'state') });
  console.log(JSON.stringify(outcome));
  return 0;
}

async function generateCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    out: { type: 'string' },
    accounts: { type: 'string' },
    seed: { type: 'string' },
    force: { type: 'boolean' },
  });
  if (positionals.length > 0) throw new UsageError(`generate: unexpected argument "${positionals[0]}"`);
  const out = str(values, 'out');
  if (!out) throw new UsageError('--out is required');
  const accounts = wholeNumber(values, 'accounts');
  const seed = wholeNumber(values, 'seed', 1);
  let result: Awaited<ReturnType<typeof generateExport>>;
  try {
    checkGenerateOptions({ out, accounts });
    // A folder that holds anything but an export generated earlier is refused (unless --force).
    const claim = await claimFolder(out, 'export', '--out', { force: values.force === true });
    await mkdir(out, { recursive: true });
    await markFolder(out, 'export');
    result = await generateExport({ out, accounts, seed, replacePrevious: claim.ours });
  } catch (error) {
    if (error instanceof RangeError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
  console.log(`generated export ${result.exportId} in ${out}: ${accounts} accounts, ${result.records} lines`);
  return 0;
}

async function verifyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { state: { type: 'string' } });
  if (positionals.length !== 1) throw new UsageError('verify: expected one <exportId>');
  const { run, verification } = await verifyLocal({
    exportId: positionals[0] as string,
    stateDir: str(values, 'state'),
  });
  console.log(`Verify of export ${run.exportId}, waves ${run.waves.join(', ')}`);
  console.log(formatVerification(verification));
  return verification.passed ? 0 : 1;
}

async function redriveCommand(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { state: { type: 'string' }, out: { type: 'string' } });
  if (positionals.length !== 1) throw new UsageError('redrive: expected one <exportId>');
  const result = await redriveLocal({
    exportId: positionals[0] as string,
    stateDir: str(values, 'state'),
    out: str(values, 'out'),
  });
  console.log(`moved ${result.moved} messages from dead-letter queues back to their queues`);
  return printResult('redrive', 'Redrive', result);
}

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  run: runCommand,
  redrive: redriveCommand,
  verify: verifyCommand,
  serve: serveCommand,
  register: registerCommand,
  plan: planCommand,
  generate: generateCommand,
};

/** Runs the command line; returns the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    console.log(HELP);
    return command === undefined ? 2 : 0;
  }
  const run = COMMANDS[command];
  // `serve` runs until it is stopped: a signal is its normal end. Every other command is interrupted.
  if (command !== 'serve')
    handleInterrupts(
      process.stderr,
      'Nothing that was done is lost: run the same command again and it resumes where it stopped.',
    );
  // Every message may quote the export (a path, a field): written with its control characters escaped.
  const say = (text: string) => console.error(`esep-migrate: ${neutralise(text)}`);
  try {
    if (!run) throw new UsageError(`unknown command "${command}" (see esep-migrate --help)`);
    return await run(rest);
  } catch (caught) {
    // A signal stops the work; its handler says how to resume and sets the exit status.
    if (isInterrupted()) return new Promise<number>(() => undefined);
    const error = isFileSystemError(caught) ? fileSystemError(caught) : caught;
    if (process.env.ESEP_DEBUG) console.error(caught);
    if (error instanceof UsageError || error instanceof PolicyError) {
      say(error.message);
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
