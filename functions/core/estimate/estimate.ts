import { PARTITIONING, receiptPartitions, SIZING } from '../pipeline/sizing';
import type { WavePlan } from '../pipeline/stages';
import { ENTITY_OF_KIND, type Entity } from '../pipeline/workers';
import type { DecidedRecord } from '../rules/decide';
import { copiesFile } from '../rules/decide';
import { INDEXES_BEFORE_DECIDING, isContainerKind, type Kind, PARENTS } from '../rules/kinds';
import { targetPartitions } from '../verify/verify';
import { PRICES, type Prices } from './prices';
import { type AslDefinition, countTransitions } from './transitions';

/**
 * What a run of some waves would ask of AWS, and cost and take there: a model of the deployed pipeline
 * (docs/aws.md, "AWS estimate"), fed with what `plan` learns from the export. Counts are upper bounds where
 * the pipeline may do less (a cache hit, a smaller batch); times rest on the latencies in ASSUMPTIONS.
 */

/** What `plan` measures of one kind file. */
export interface KindWorkload {
  lines: number;
  migrated: number;
  /** Bytes of the kind file (split and validation read it). */
  fileBytes: number;
  /** Files copied to the target, and their bytes. */
  filesCopied: number;
  bytesCopied: number;
  /** Files read to check their SHA-256 (rule step 7), and their bytes. */
  blobChecks: number;
  blobBytes: number;
}

export interface Workload {
  readonly kinds: Partial<Record<Kind, KindWorkload>>;
  /** Receipts written (accounts that own a record of the waves). */
  readonly receipts: number;
  /** Bytes of every kind file of the export (validation hashes them all). */
  readonly exportBytes: number;
}

export interface EstimateSettings {
  /** Concurrent invocations of each entity worker (CDK context workerConcurrency). */
  readonly workerConcurrency: number;
  /** Seconds between progress checks (CDK context pollSeconds). */
  readonly pollSeconds: number;
}

/** The latencies and rates the time and GB-seconds rest on: typical in-region figures, not measured on AWS. */
export const ASSUMPTIONS = {
  /** CPU per line decided in a 1 GB ARM Lambda (about twice this machine's measured plan cost per record). */
  cpuMsPerLine: 0.1,
  /** Fixed cost of a chunk: marker check and write, chunk GET, result PUT. */
  chunkOverheadMs: 120,
  s3PutMs: 30,
  s3CopyMs: 40,
  s3GetMs: 15,
  dynamoBatchMs: 15,
  /** Requests a worker keeps in flight (eachLimited 16 for objects, 8 for DynamoDB batches). */
  parallelRequests: 12,
  /** Reading (and hashing) an S3 object stream in Lambda. */
  readMBps: 80,
  progressCheckMs: 150,
  /** Lambda pollers per SQS event source while it waits for messages, each long-polling every 20 s. */
  idlePollersPerQueue: 5,
  /** Size of one chunk marker in a progress query, bytes. */
  markerBytes: 120,
} as const;

export interface EstimateLine {
  readonly service: 'Lambda' | 'SQS' | 'DynamoDB' | 'S3' | 'Step Functions' | 'EventBridge';
  readonly what: string;
  readonly quantity: number;
  readonly unit: string;
  readonly cost: number;
}

export interface Estimate {
  readonly waves: readonly string[];
  readonly totals: {
    lambdaInvocations: number;
    lambdaGbSeconds: number;
    sqsRequests: number;
    dynamoWriteUnits: number;
    dynamoReadUnits: number;
    s3PutCopyListRequests: number;
    s3GetRequests: number;
    s3BytesCopied: number;
    stateTransitions: number;
    events: number;
  };
  readonly lines: readonly EstimateLine[];
  readonly totalCost: number;
  readonly duration: { seconds: number; text: string; stages: { stage: string; seconds: number }[] };
  /** Steps that one invocation could not finish within the function's timeout, as modelled. */
  readonly warnings: readonly string[];
  readonly assumptions: typeof ASSUMPTIONS & EstimateSettings;
  readonly prices: Prices;
}

/** A kind with nothing in it. */
export const EMPTY_KIND: KindWorkload = {
  lines: 0,
  migrated: 0,
  fileBytes: 0,
  filesCopied: 0,
  bytesCopied: 0,
  blobChecks: 0,
  blobBytes: 0,
};

/** Gathers a Workload from the decisions `plan` makes. */
export class WorkloadTally {
  readonly kinds: Partial<Record<Kind, KindWorkload>> = {};

  kind(kind: Kind): KindWorkload {
    this.kinds[kind] ??= { ...EMPTY_KIND };
    return this.kinds[kind];
  }

  add(d: DecidedRecord): void {
    const k = this.kind(d.kind);
    k.lines++;
    if (d.decision === 'migrated') k.migrated++;
    // Step 7 reads the file of every record that step 6 migrates: those migrated, and those it quarantined.
    const checked =
      d.file !== undefined &&
      (d.decision === 'migrated' || d.reason === 'BLOB_MISSING' || d.reason === 'BLOB_CHECKSUM_MISMATCH');
    if (checked && d.file) {
      k.blobChecks++;
      k.blobBytes += d.file.size;
    }
    if (copiesFile(d) && d.file) {
      k.filesCopied++;
      k.bytesCopied += d.file.size;
    }
  }
}

const GB = 1e9;
/** Partitions of the target that verify checks. */
const targetPartitionCount = targetPartitions('export').length;
const mb = (memoryMb: number) => memoryMb / 1024;

export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 90) return `${s} s`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min`;
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  return `${h} h ${m} min`;
}

/** The estimate for running `plan`'s waves on AWS. */
export function estimate(
  workload: Workload,
  waves: readonly WavePlan[],
  settings: EstimateSettings,
  definition: AslDefinition,
  prices: Prices = PRICES,
): Estimate {
  const a = ASSUMPTIONS;
  const mem = (name: keyof typeof SIZING.functions) => SIZING.functions[name].memoryMb;
  const kindOf = (kind: Kind) => workload.kinds[kind] ?? EMPTY_KIND;
  const t = {
    lambdaInvocations: 0,
    lambdaGbSeconds: 0,
    sqsRequests: 0,
    dynamoWriteUnits: 0,
    dynamoReadUnits: 0,
    s3PutCopyListRequests: 0,
    s3GetRequests: 0,
    s3BytesCopied: 0,
    stateTransitions: 0,
    events: 0,
  };
  const invoke = (count: number, seconds: number, memoryMb: number) => {
    t.lambdaInvocations += count;
    t.lambdaGbSeconds += seconds * mb(memoryMb);
  };
  const readSeconds = (bytes: number) => bytes / (a.readMBps * 1e6);
  const stages: { stage: string; seconds: number }[] = [];
  const warnings: string[] = [];
  const withinTimeout = (step: string, seconds: number) => {
    if (seconds > SIZING.longTaskSeconds)
      warnings.push(
        `${step} would take about ${formatDuration(seconds)} in one invocation, beyond the function's ${SIZING.longTaskSeconds / 60} minutes`,
      );
  };

  // Validate (hashes every kind file), then index identities (reads accounts, one write per account).
  const kindFiles = Object.values(workload.kinds).filter((k) => k.lines > 0).length;
  const validateSeconds = readSeconds(workload.exportBytes) + 0.5;
  invoke(1, validateSeconds, mem('validate'));
  withinTimeout('validate', validateSeconds);
  t.s3GetRequests += 1 + kindFiles;
  const accounts = kindOf('accounts');
  const identitySeconds =
    readSeconds(accounts.fileBytes) +
    accounts.lines * (a.cpuMsPerLine / 1000) +
    (Math.ceil(accounts.lines / 25) * a.dynamoBatchMs) / 1000 / a.parallelRequests +
    0.5;
  invoke(1, identitySeconds, mem('index-identities'));
  withinTimeout('index identities', identitySeconds);
  t.s3GetRequests += 2;
  t.dynamoWriteUnits += accounts.lines + 1;
  let seconds = validateSeconds + identitySeconds;

  const shape: { wave: string; stagePolls: number[] }[] = [];
  let decideChunks = 0;
  let records = 0;
  for (const wave of waves) {
    const stagePolls: number[] = [];
    shape.push({ wave: wave.wave, stagePolls });
    for (const stage of wave.stages) {
      let splitSeconds = 0.3;
      let stageChunks = 0;
      const entitySeconds = new Map<Entity, number>();
      t.s3GetRequests += 1; // the manifest
      for (const step of stage.steps) {
        const k = kindOf(step.kind);
        if (k.lines === 0) continue;
        const chunks = Math.ceil(k.lines / PARTITIONING.chunkLines);
        stageChunks += chunks;
        // split: reads the file, PUTs each chunk one after another, sends the messages in batches.
        t.s3GetRequests += 1;
        t.s3PutCopyListRequests += chunks;
        t.sqsRequests += Math.ceil(chunks / SIZING.sendBatchSize);
        splitSeconds += readSeconds(k.fileBytes) + (chunks * a.s3PutMs) / 1000;
        // workers: one invocation per batch of messages; receive and delete per batch.
        const batches = Math.ceil(chunks / SIZING.workerBatchSize);
        t.sqsRequests += 2 * batches;
        t.dynamoReadUnits += chunks; // marker check (strongly consistent get)
        t.dynamoWriteUnits += chunks; // marker
        t.s3GetRequests += chunks; // chunk object
        let writes = 0;
        let reads = 0;
        let objects = 0;
        if (step.op === 'index') {
          writes = k.lines; // at most one index key per line
        } else {
          decideChunks += chunks;
          records += k.lines;
          writes = k.lines + (isContainerKind(step.kind) ? k.lines : 0); // ledger, container decisions
          reads = (PARENTS[step.kind] ? k.lines : 0) + (INDEXES_BEFORE_DECIDING[step.kind] ? k.lines : 0);
          objects = k.migrated + k.filesCopied + chunks; // documents, copies, results
          t.s3PutCopyListRequests += objects;
          t.s3GetRequests += k.blobChecks;
          t.s3BytesCopied += k.bytesCopied;
        }
        t.dynamoWriteUnits += writes;
        t.dynamoReadUnits += reads;
        const workSeconds =
          (chunks * a.chunkOverheadMs +
            k.lines * a.cpuMsPerLine +
            ((k.migrated + chunks) * a.s3PutMs +
              k.filesCopied * a.s3CopyMs +
              k.blobChecks * a.s3GetMs +
              (Math.ceil(writes / 25) + Math.ceil(reads / 100)) * a.dynamoBatchMs) /
              a.parallelRequests) /
            1000 +
          readSeconds(k.blobBytes);
        invoke(batches, workSeconds, mem('worker'));
        const entity = ENTITY_OF_KIND[step.kind];
        entitySeconds.set(entity, (entitySeconds.get(entity) ?? 0) + workSeconds);
      }
      invoke(1, splitSeconds, mem('split'));
      withinTimeout(`${stage.id} split`, splitSeconds);
      t.dynamoWriteUnits += 1; // the stage's expectation
      t.dynamoReadUnits += 1;
      // Each entity's chunks spread over its concurrent workers; the stage ends at the next check.
      const workers = Math.max(0, ...[...entitySeconds.values()].map((s) => s / settings.workerConcurrency));
      const stageSeconds = splitSeconds + workers + settings.pollSeconds;
      const polls = Math.ceil((workers + settings.pollSeconds) / settings.pollSeconds);
      invoke(polls, (polls * a.progressCheckMs) / 1000, mem('progress'));
      t.dynamoReadUnits += polls * (1 + Math.max(1, Math.ceil((stageChunks * a.markerBytes) / 4096)));
      t.sqsRequests += polls * 4; // GetQueueAttributes of each entity queue
      stagePolls.push(polls);
      stages.push({ stage: stage.id, seconds: stageSeconds });
      seconds += stageSeconds;
    }
  }

  // The report and verify, fanned out (core/pipeline/report-parts): map parts over the results, verify
  // partitions a page at a time, then the receipts' partitions; the summary merges their tallies.
  const P = PARTITIONING;
  const migrated = Object.values(workload.kinds).reduce((n, k) => n + k.migrated, 0);
  const files = Object.values(workload.kinds).reduce((n, k) => n + k.filesCopied, 0);
  const allRecords = Object.values(workload.kinds).reduce((n, k) => n + k.lines, 0);
  const partitions = receiptPartitions(allRecords, P);
  const mapParts = Math.ceil(decideChunks / P.reportResults);
  const mapSeconds =
    (P.reportResults * P.chunkLines * a.cpuMsPerLine) / 1000 +
    (P.reportResults * a.s3GetMs + partitions * a.s3PutMs) / 1000 / a.parallelRequests +
    0.3;
  const verifyInvocations = Math.ceil((migrated + files) / P.verifyKeys) + targetPartitionCount;
  const verifySeconds =
    (Math.min(P.verifyKeys, migrated + files) * (a.s3GetMs + a.dynamoBatchMs)) / 1000 / a.parallelRequests +
    0.3;
  const accountsPerPartition = workload.receipts / partitions;
  const receiptsSeconds =
    (mapParts * a.s3GetMs + accountsPerPartition * 3 * a.s3PutMs) / 1000 / a.parallelRequests +
    (records / partitions) * (a.cpuMsPerLine / 1000) +
    0.3;
  invoke(mapParts, mapParts * mapSeconds, mem('report'));
  invoke(verifyInvocations, verifyInvocations * verifySeconds, mem('verify'));
  invoke(partitions, partitions * receiptsSeconds, mem('report'));
  withinTimeout('a report part', mapSeconds);
  withinTimeout('a verify page', verifySeconds);
  withinTimeout('a receipts partition', receiptsSeconds);
  t.s3GetRequests += decideChunks + migrated + files + mapParts * partitions;
  t.s3PutCopyListRequests +=
    mapParts * (partitions + 2) + Math.ceil((migrated + files) / 500) + workload.receipts * 3 + partitions;
  t.dynamoReadUnits += migrated + mapParts + verifyInvocations + partitions;
  t.dynamoWriteUnits += mapParts + targetPartitionCount + partitions;
  t.sqsRequests += 3 * (mapParts + verifyInvocations + partitions);
  const concurrency = settings.workerConcurrency;
  const partsStage =
    Math.max((mapParts * mapSeconds) / concurrency, (verifyInvocations * verifySeconds) / concurrency) +
    settings.pollSeconds;
  const receiptsStage = (partitions * receiptsSeconds) / concurrency + settings.pollSeconds;
  const reportPolls = [
    Math.ceil(partsStage / settings.pollSeconds),
    Math.ceil(receiptsStage / settings.pollSeconds),
  ];
  const polls = reportPolls.reduce((x, y) => x + y, 0);
  invoke(polls, (polls * a.progressCheckMs) / 1000, mem('progress'));
  // The summary reads every part's tally and writes summary.json, report.html and the decisions' index.
  const summarySeconds =
    ((mapParts + verifyInvocations + partitions) * a.s3GetMs) / 1000 / a.parallelRequests + 1;
  invoke(1, summarySeconds, mem('summary'));
  t.s3GetRequests += mapParts + targetPartitionCount + partitions + 1;
  t.s3PutCopyListRequests += 3;
  t.dynamoWriteUnits += 1;
  t.events += 1;
  stages.push(
    { stage: 'report and verify', seconds: partsStage },
    { stage: 'receipts', seconds: receiptsStage },
  );
  seconds += partsStage + receiptsStage + summarySeconds;
  // Every state the synthesized state machine goes through for this run.
  t.stateTransitions = countTransitions(definition, { waves: shape, reportPolls });

  // Lambda's pollers long-poll every entity queue and the link queue for the whole run.
  t.sqsRequests += Math.ceil((seconds / 20) * a.idlePollersPerQueue * 5);

  const p = prices;
  const lines: EstimateLine[] = [
    line(
      'Lambda',
      'invocations',
      t.lambdaInvocations,
      'requests',
      (t.lambdaInvocations / 1e6) * p.lambda.perMillionRequests,
    ),
    line(
      'Lambda',
      'compute (ARM)',
      t.lambdaGbSeconds,
      'GB-seconds',
      t.lambdaGbSeconds * p.lambda.perGbSecondArm,
    ),
    line(
      'SQS',
      'send, receive, delete, attributes, idle polls',
      t.sqsRequests,
      'requests',
      (t.sqsRequests / 1e6) * p.sqs.perMillionRequests,
    ),
    line(
      'DynamoDB',
      'writes (on demand)',
      t.dynamoWriteUnits,
      'write units',
      (t.dynamoWriteUnits / 1e6) * p.dynamodb.perMillionWriteUnits,
    ),
    line(
      'DynamoDB',
      'reads (strongly consistent)',
      t.dynamoReadUnits,
      'read units',
      (t.dynamoReadUnits / 1e6) * p.dynamodb.perMillionReadUnits,
    ),
    line(
      'S3',
      'PUT, COPY, LIST',
      t.s3PutCopyListRequests,
      'requests',
      (t.s3PutCopyListRequests / 1000) * p.s3.perThousandPutCopyList,
    ),
    line('S3', 'GET', t.s3GetRequests, 'requests', (t.s3GetRequests / 1000) * p.s3.perThousandGet),
    line(
      'S3',
      'bytes copied into the target, first month stored',
      t.s3BytesCopied,
      'bytes',
      (t.s3BytesCopied / GB) * p.s3.perGbMonthStandard,
    ),
    line(
      'Step Functions',
      'state transitions (standard)',
      t.stateTransitions,
      'transitions',
      (t.stateTransitions / 1000) * p.stepFunctions.perThousandTransitions,
    ),
    line(
      'EventBridge',
      'Migration Run Finished',
      t.events,
      'events',
      (t.events / 1e6) * p.eventBridge.perMillionEvents,
    ),
  ];
  return {
    waves: waves.map((w) => w.wave),
    totals: t,
    lines,
    totalCost: lines.reduce((sum, l) => sum + l.cost, 0),
    duration: { seconds, text: formatDuration(seconds), stages },
    warnings,
    assumptions: { ...ASSUMPTIONS, ...settings },
    prices: p,
  };
}

function line(
  service: EstimateLine['service'],
  what: string,
  quantity: number,
  unit: string,
  cost: number,
): EstimateLine {
  return { service, what, quantity, unit, cost };
}

/** The estimate as the lines `plan` prints. */
export function formatEstimate(e: Estimate): string {
  const rows = e.lines.map(
    (l) =>
      `  ${l.service.padEnd(15)} ${l.what.padEnd(50)} ${Math.round(l.quantity).toLocaleString('en-GB').padStart(16)} ${l.unit.padEnd(12)} $${l.cost.toFixed(2).padStart(9)}`,
  );
  return [
    `on AWS (${e.prices.region}, prices of ${e.prices.asOf}; ${e.assumptions.workerConcurrency} workers per queue, progress every ${e.assumptions.pollSeconds} s):`,
    ...rows,
    `  total about $${e.totalCost.toFixed(2)}, about ${e.duration.text}`,
    ...e.warnings.map((w) => `  warning: ${w}`),
  ].join('\n');
}
