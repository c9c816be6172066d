import { SHARDS, targetPartitions } from '../keys';
import { PARTITIONING, receiptPartitions, SIZING, verifyRanges, writerCap } from '../pipeline/sizing';
import type { WavePlan } from '../pipeline/stages';
import { ENTITIES, ENTITY_OF_KIND, type Entity } from '../pipeline/workers';
import type { DecidedRecord } from '../rules/decide';
import { copiesFile } from '../rules/decide';
import { INDEXES_BEFORE_DECIDING, isContainerKind, type Kind, PARENTS } from '../rules/kinds';
import { PRICES, type Prices } from './prices';
import { type AslDefinition, walkRun } from './transitions';

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
  /**
   * Writes per second the state table takes at once: 4,000 for a new on-demand table, more when it is
   * pre-warmed (CDK context tableWarmWrites). Unset: 4,000.
   */
  readonly tableWritesPerSecond?: number;
}

/**
 * Service ceilings and AWS's default quotas that the model holds a run to and the stacks are checked
 * against at synth, each with its source:
 * - DynamoDB developer guide, "Understanding DynamoDB warm throughput in different scenarios": a new
 *   on-demand table starts at 12,000 read and 4,000 write units a second.
 * - DynamoDB developer guide, "Quotas in Amazon DynamoDB", throughput default quotas: an on-demand table
 *   takes at most 40,000 read and 40,000 write request units a second (per table, adjustable on request);
 *   warm throughput above that is refused.
 * - Lambda developer guide, "Lambda quotas" and "Configuring reserved concurrency": 1,000 concurrent
 *   executions per Region by default, of which reserved concurrency may take all but 100.
 */
export const CEILINGS = {
  newTableWritesPerSecond: 4_000,
  newTableReadsPerSecond: 12_000,
  tableWritesQuota: 40_000,
  tableReadsQuota: 40_000,
  lambdaConcurrencyQuota: 1_000,
  lambdaUnreservedMinimum: 100,
  /**
   * PUT/COPY per second per prefix of a bucket. The target's writes spread over the 256 shards of each
   * area (keys.ts shardOf), each a prefix once S3 has partitioned the bucket for the load (it answers
   * SlowDown meanwhile, which the clients' adaptive retry absorbs).
   */
  s3PutsPerPrefix: 3_500,
  historyEvents: 25_000,
  executionSeconds: 24 * 3600,
} as const;

/** One step of the run as its heaviest invocation sees it, against the function's limits. */
export interface FeasibleStep {
  readonly step: string;
  readonly function: string;
  readonly perInvocationSeconds: number;
  readonly timeoutSeconds: number;
  readonly tmpBytes: number;
  readonly tmpLimitBytes: number;
  readonly fits: boolean;
}

/** Whether every step of the run fits AWS's limits, and where the run waits on a service's ceiling. */
export interface Feasibility {
  readonly fits: boolean;
  readonly steps: readonly FeasibleStep[];
  readonly historyEvents: number;
  readonly historyLimit: number;
  /** Stages whose time a service's ceiling sets rather than the workers (table writes, S3 PUTs per prefix). */
  readonly ceilings: readonly {
    stage: string;
    resource: string;
    offered: number;
    limit: number;
    seconds: number;
  }[];
  readonly durationSeconds: number;
  readonly durationLimitSeconds: number;
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
  /** Log lines each invocation writes (start, its counts, end), in bytes. */
  logBytesPerInvocation: 1_500,
  /** Requests to SQS, S3 and DynamoDB per request they make to KMS (data keys reused, bucket keys). */
  requestsPerKmsRequest: 1_000,
} as const;

/** The area of the target each kind's documents and files go under (keys.ts targetKeys). */
const AREA_OF_KIND: Partial<Record<Kind, string>> = {
  accounts: 'profiles',
  activities: 'profiles',
  photos: 'profiles',
  contacts: 'profiles',
  portfolio: 'profiles',
  projects: 'twinspaces',
  'twinspace-items': 'twinspaces',
  groups: 'groups',
  'group-items': 'groups',
  events: 'events',
};

export interface EstimateLine {
  readonly service:
    | 'Lambda'
    | 'SQS'
    | 'DynamoDB'
    | 'S3'
    | 'Step Functions'
    | 'EventBridge'
    | 'KMS'
    | 'CloudWatch Logs';
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
    kmsRequests: number;
    logBytes: number;
    ephemeralGbSeconds: number;
  };
  readonly lines: readonly EstimateLine[];
  readonly totalCost: number;
  readonly duration: { seconds: number; text: string; stages: { stage: string; seconds: number }[] };
  /** Steps that one invocation could not finish within the function's timeout, as modelled. */
  readonly warnings: readonly string[];
  readonly feasibility: Feasibility;
  readonly assumptions: typeof ASSUMPTIONS & EstimateSettings;
  readonly prices: Prices;
  /** Accounts the export's workload was projected to (`plan --scale-to`). */
  readonly scaledTo?: number;
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
    kmsRequests: 0,
    logBytes: 0,
    ephemeralGbSeconds: 0,
  };
  const steps: FeasibleStep[] = [];
  const ceilings: Feasibility['ceilings'][number][] = [];
  const tableRate = settings.tableWritesPerSecond ?? CEILINGS.newTableWritesPerSecond;
  // The writers run no more at once than the table takes (lib/functions.ts concurrencyOf, as deployed).
  const entityWorkers = Math.min(settings.workerConcurrency, writerCap(tableRate, ENTITIES.length));
  const identityWorkers = Math.min(settings.workerConcurrency, writerCap(tableRate, 1));
  /** `count` invocations of `name` taking `seconds` in all; the heaviest one takes `heaviest`. */
  const invoke = (
    count: number,
    seconds: number,
    memoryMb: number,
    step?: { step: string; name: keyof typeof SIZING.functions; heaviest: number },
  ) => {
    t.lambdaInvocations += count;
    t.lambdaGbSeconds += seconds * mb(memoryMb);
    t.logBytes += count * a.logBytesPerInvocation;
    if (!step || count === 0) return;
    const sized = SIZING.functions[step.name];
    t.ephemeralGbSeconds += (seconds * Math.max(0, sized.tmpMb - 512)) / 1024;
    const fn = step.name === 'worker' ? 'entity worker' : step.name;
    // One row per step, in the order the run first reaches it, with its heaviest invocation.
    const at = steps.findIndex((x) => x.step === step.step);
    if (at >= 0 && (steps[at]?.perInvocationSeconds ?? 0) >= step.heaviest) return;
    steps.splice(at >= 0 ? at : steps.length, at >= 0 ? 1 : 0, {
      step: step.step,
      function: fn,
      perInvocationSeconds: Math.round(step.heaviest * 10) / 10,
      timeoutSeconds: sized.timeoutSeconds,
      // No function writes to /tmp: each streams, or works one bounded part in memory.
      tmpBytes: 0,
      tmpLimitBytes: sized.tmpMb * 1024 * 1024,
      fits: step.heaviest <= sized.timeoutSeconds,
    });
  };
  /** How long `writes` to the table and `puts` into one prefix take at the ceilings, if longer than `seconds`. */
  const atCeilings = (stage: string, seconds: number, writes: number, putsPerPrefix: number) => {
    let longest = seconds;
    for (const [resource, offered, limit] of [
      ['DynamoDB writes per second', writes, tableRate],
      ['S3 PUT/COPY per second on one prefix', putsPerPrefix, CEILINGS.s3PutsPerPrefix],
    ] as const) {
      const needed = offered / limit;
      if (needed > seconds && offered > 0) {
        ceilings.push({
          stage,
          resource,
          offered: Math.round(offered / Math.max(seconds, 1)),
          limit,
          seconds: needed,
        });
        longest = Math.max(longest, needed);
      }
    }
    return longest;
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

  // Validate (hashes every kind file, streaming).
  const kindFiles = Object.values(workload.kinds).filter((k) => k.lines > 0).length;
  const validateSeconds = readSeconds(workload.exportBytes) + 0.5;
  invoke(1, validateSeconds, mem('validate'), {
    step: 'validate',
    name: 'validate',
    heaviest: validateSeconds,
  });
  withinTimeout('validate', validateSeconds);
  t.s3GetRequests += 1 + kindFiles;
  let seconds = validateSeconds;

  // The identity stages over chunks of accounts: index each (a get, a conditional put, its e-mail
  // entry), then link what each matches (pending registrations, the e-mail's accounts, the holder).
  const accounts = kindOf('accounts');
  const accountChunks = Math.ceil(accounts.lines / PARTITIONING.chunkLines);
  const identityPolls: number[] = [];
  for (const [stage, reads, writes] of [
    ['identities/index', 1, 2],
    ['identities/link', 4, 0],
  ] as const) {
    const perChunk =
      a.chunkOverheadMs / 1000 +
      (Math.min(accounts.lines, PARTITIONING.chunkLines) *
        (a.cpuMsPerLine + ((reads + writes) * a.dynamoBatchMs) / a.parallelRequests)) /
        1000;
    const splitSeconds = readSeconds(accounts.fileBytes) + (accountChunks * a.s3PutMs) / 1000 / 16 + 0.3;
    invoke(1, splitSeconds, mem('split'), { step: 'split', name: 'split', heaviest: splitSeconds });
    invoke(accountChunks, accountChunks * perChunk, mem('index-identities'), {
      step: stage,
      name: 'index-identities',
      heaviest: perChunk,
    });
    t.dynamoReadUnits += accounts.lines * reads + 2 * accountChunks;
    t.dynamoWriteUnits += accounts.lines * writes + accountChunks + 1;
    t.s3PutCopyListRequests += 2 * accountChunks;
    t.s3GetRequests += accountChunks + 2;
    t.sqsRequests += 3 * accountChunks;
    const work = splitSeconds + (accountChunks * perChunk) / identityWorkers;
    const stageSeconds = atCeilings(stage, work, accounts.lines * writes, 0) + settings.pollSeconds;
    const polls = Math.ceil(stageSeconds / settings.pollSeconds);
    invoke(polls, (polls * a.progressCheckMs) / 1000, mem('progress'));
    identityPolls.push(polls);
    stages.push({ stage, seconds: stageSeconds });
    seconds += stageSeconds;
  }

  const shape: { wave: string; stagePolls: number[] }[] = [];
  let decideChunks = 0;
  let records = 0;
  let maxSplitSeconds = 0;
  for (const wave of waves) {
    const stagePolls: number[] = [];
    shape.push({ wave: wave.wave, stagePolls });
    for (const stage of wave.stages) {
      let splitSeconds = 0.3;
      let stageChunks = 0;
      let stageWrites = 0;
      const putsByArea = new Map<string, number>();
      const entitySeconds = new Map<Entity, number>();
      t.s3GetRequests += 1; // the manifest
      for (const step of stage.steps) {
        const k = kindOf(step.kind);
        if (k.lines === 0) continue;
        const chunks = Math.ceil(k.lines / PARTITIONING.chunkLines);
        stageChunks += chunks;
        // split: reads the file, PUTs 16 chunks at once, sends each chunk's message as it is stored.
        t.s3GetRequests += 1;
        t.s3PutCopyListRequests += chunks;
        t.sqsRequests += chunks;
        splitSeconds += readSeconds(k.fileBytes) + (chunks * a.s3PutMs) / 1000 / 16;
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
          const area = AREA_OF_KIND[step.kind] ?? step.kind;
          putsByArea.set(area, (putsByArea.get(area) ?? 0) + k.migrated + k.filesCopied);
          t.s3GetRequests += k.blobChecks;
          t.s3BytesCopied += k.bytesCopied;
        }
        t.dynamoWriteUnits += writes;
        t.dynamoReadUnits += reads;
        stageWrites += writes;
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
        // A worker invocation takes a batch of chunks of this kind.
        const perBatch = (workSeconds / Math.max(1, chunks)) * Math.min(chunks, SIZING.workerBatchSize);
        invoke(batches, workSeconds, mem('worker'), {
          step: 'decide a batch of chunks',
          name: 'worker',
          heaviest: perBatch,
        });
        const entity = ENTITY_OF_KIND[step.kind];
        entitySeconds.set(entity, (entitySeconds.get(entity) ?? 0) + workSeconds);
      }
      invoke(1, splitSeconds, mem('split'), { step: 'split', name: 'split', heaviest: splitSeconds });
      maxSplitSeconds = Math.max(maxSplitSeconds, splitSeconds);
      withinTimeout(`${stage.id} split`, splitSeconds);
      t.dynamoWriteUnits += 1; // the stage's expectation
      t.dynamoReadUnits += 1;
      // Each entity's chunks spread over its concurrent workers; the stage ends at the next check.
      const workers = Math.max(0, ...[...entitySeconds.values()].map((s) => s / entityWorkers));
      // The workers go no faster than the table takes their writes, nor one prefix its PUTs.
      const paced = atCeilings(stage.id, workers, stageWrites, Math.max(0, ...putsByArea.values()) / SHARDS);
      const stageSeconds = splitSeconds + paced + settings.pollSeconds;
      const polls = Math.ceil((paced + settings.pollSeconds) / settings.pollSeconds);
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
  // Partitions of the target that verify checks.
  const targetPartitionCount = targetPartitions('export', verifyRanges(allRecords, P)).length;
  const mapParts = Math.ceil(decideChunks / P.reportResults);
  // A part reads up to reportResults result objects (the heaviest part: full ones).
  const partRows = Math.min(records, P.reportResults * P.chunkLines);
  const mapSeconds =
    a.chunkOverheadMs / 1000 +
    (partRows * a.cpuMsPerLine) / 1000 +
    (Math.min(decideChunks, P.reportResults) * a.s3GetMs + partitions * a.s3PutMs) /
      1000 /
      a.parallelRequests;
  const verifyInvocations = Math.ceil((migrated + files) / P.verifyKeys) + targetPartitionCount;
  const verifySeconds =
    a.chunkOverheadMs / 1000 +
    (Math.min(P.verifyKeys, migrated + files) * (a.s3GetMs + a.dynamoBatchMs)) / 1000 / a.parallelRequests;
  const accountsPerPartition = workload.receipts / partitions;
  const receiptsSeconds =
    a.chunkOverheadMs / 1000 +
    (mapParts * a.s3GetMs + accountsPerPartition * 3 * a.s3PutMs) / 1000 / a.parallelRequests +
    (records / partitions) * (a.cpuMsPerLine / 1000);
  invoke(mapParts, mapParts * mapSeconds, mem('report'), {
    step: 'report part',
    name: 'report',
    heaviest: mapSeconds,
  });
  invoke(verifyInvocations, verifyInvocations * verifySeconds, mem('verify'), {
    step: 'verify page',
    name: 'verify',
    heaviest: verifySeconds,
  });
  invoke(partitions, partitions * receiptsSeconds, mem('report'), {
    step: 'receipts partition',
    name: 'report',
    heaviest: receiptsSeconds,
  });
  withinTimeout('a report part', mapSeconds);
  withinTimeout('a verify page', verifySeconds);
  withinTimeout('a receipts partition', receiptsSeconds);
  t.s3GetRequests += decideChunks + migrated + files + mapParts * partitions;
  t.s3PutCopyListRequests +=
    mapParts * (partitions + 2) + Math.ceil((migrated + files) / 500) + workload.receipts * 3 + partitions;
  t.dynamoReadUnits += migrated + mapParts + verifyInvocations + partitions;
  t.dynamoWriteUnits += mapParts + targetPartitionCount + partitions;
  t.sqsRequests += 3 * (mapParts + verifyInvocations + partitions);
  // The report's splits: list the results, send a message per part (ten to a batch).
  const reportSplitSeconds =
    0.3 +
    ((Math.ceil(decideChunks / 1000) + (mapParts + targetPartitionCount + partitions) / 10) * a.s3PutMs) /
      1000;
  invoke(2, 2 * reportSplitSeconds, mem('split'), {
    step: 'split',
    name: 'split',
    heaviest: reportSplitSeconds,
  });
  t.s3PutCopyListRequests += Math.ceil(decideChunks / 1000);
  t.sqsRequests += Math.ceil((mapParts + targetPartitionCount + partitions) / 10);
  const concurrency = settings.workerConcurrency;
  const partsStage =
    reportSplitSeconds +
    Math.max((mapParts * mapSeconds) / concurrency, (verifyInvocations * verifySeconds) / concurrency) +
    settings.pollSeconds;
  const receiptsStage =
    reportSplitSeconds + (partitions * receiptsSeconds) / concurrency + settings.pollSeconds;
  const reportPolls = [
    Math.ceil(partsStage / settings.pollSeconds),
    Math.ceil(receiptsStage / settings.pollSeconds),
  ];
  const polls = reportPolls.reduce((x, y) => x + y, 0);
  invoke(polls, (polls * a.progressCheckMs) / 1000, mem('progress'));
  // The summary reads every part's tally and writes summary.json, report.html and the decisions' index.
  const summarySeconds =
    ((mapParts + verifyInvocations + partitions) * a.s3GetMs) / 1000 / a.parallelRequests + 1;
  invoke(1, summarySeconds, mem('summary'), { step: 'summary', name: 'summary', heaviest: summarySeconds });
  t.s3GetRequests += mapParts + targetPartitionCount + partitions + 1;
  t.s3PutCopyListRequests += 3;
  t.dynamoWriteUnits += 1;
  t.events += 1;
  stages.push(
    { stage: 'report and verify', seconds: partsStage },
    { stage: 'receipts', seconds: receiptsStage },
  );
  seconds += partsStage + receiptsStage + summarySeconds;
  // Every state the synthesized state machine goes through for this run, and its history events.
  const walked = walkRun(definition, { waves: shape, reportPolls, identityPolls });
  t.stateTransitions = walked.transitions;

  // Lambda's pollers long-poll every queue of the workflow and the link queue for the whole run.
  t.sqsRequests += Math.ceil((seconds / 20) * a.idlePollersPerQueue * 8);
  // The customer-managed key: SQS reuses data keys, S3 uses bucket keys and DynamoDB caches its table
  // key, so KMS sees about one request per KMS_REQUESTS_PER of theirs.
  t.kmsRequests = Math.ceil(
    (t.sqsRequests + t.s3PutCopyListRequests + t.s3GetRequests + t.dynamoWriteUnits + t.dynamoReadUnits) /
      a.requestsPerKmsRequest,
  );
  const feasibility: Feasibility = {
    fits:
      steps.every((x) => x.fits) &&
      walked.historyEvents <= CEILINGS.historyEvents &&
      seconds <= CEILINGS.executionSeconds,
    steps,
    historyEvents: walked.historyEvents,
    historyLimit: CEILINGS.historyEvents,
    ceilings,
    durationSeconds: Math.round(seconds),
    durationLimitSeconds: CEILINGS.executionSeconds,
  };

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
      'Lambda',
      'ephemeral storage above 512 MB',
      t.ephemeralGbSeconds,
      'GB-seconds',
      t.ephemeralGbSeconds * p.lambdaEphemeral.perGbSecond,
    ),
    line(
      'KMS',
      'requests on the customer-managed key',
      t.kmsRequests,
      'requests',
      (t.kmsRequests / 1e4) * p.kms.perTenThousandRequests,
    ),
    line(
      'CloudWatch Logs',
      'log ingestion (Powertools JSON lines)',
      t.logBytes,
      'bytes',
      (t.logBytes / GB) * p.cloudWatchLogs.perGbIngested,
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
    feasibility,
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
  const f = e.feasibility;
  const tightest = [...f.steps].sort(
    (x, y) => y.perInvocationSeconds / y.timeoutSeconds - x.perInvocationSeconds / x.timeoutSeconds,
  )[0];
  const table = e.assumptions.tableWritesPerSecond ?? CEILINGS.newTableWritesPerSecond;
  return [
    `on AWS (${e.prices.region}, prices of ${e.prices.asOf}; ${e.assumptions.workerConcurrency} workers per queue, progress every ${e.assumptions.pollSeconds} s, table ${table.toLocaleString('en-GB')} writes/s)${e.scaledTo ? `, projected to ${e.scaledTo.toLocaleString('en-GB')} accounts` : ''}:`,
    ...rows,
    `  total about $${e.totalCost.toFixed(2)}, about ${e.duration.text}`,
    `  fits AWS's limits: ${f.fits ? 'yes' : 'NO'}${
      tightest
        ? ` (tightest: ${tightest.step}, ${tightest.perInvocationSeconds} s of ${tightest.timeoutSeconds} s per invocation)`
        : ''
    }; history ${f.historyEvents.toLocaleString('en-GB')} of ${f.historyLimit.toLocaleString('en-GB')} events`,
    ...f.steps
      .filter((x) => !x.fits)
      .map((x) => `  does not fit: ${x.step} takes ${x.perInvocationSeconds} s, over ${x.timeoutSeconds} s`),
    ...f.ceilings.map(
      (c) =>
        `  waits on ${c.resource} in ${c.stage}: ${Math.round(c.seconds)} s at ${c.limit.toLocaleString('en-GB')}/s`,
    ),
    ...e.warnings.map((w) => `  warning: ${w}`),
  ].join('\n');
}

/**
 * The export's workload projected to `accounts` accounts (`plan --scale-to`): every kind's lines, files
 * and bytes, the receipts and the export's bytes in proportion to the accounts file, as a larger export
 * of the same make-up would have them.
 */
export function scaleWorkload(workload: Workload, accounts: number): Workload {
  const now = workload.kinds.accounts?.lines ?? 0;
  if (now === 0) throw new RangeError('the export has no accounts to project from');
  const f = accounts / now;
  const kinds: Partial<Record<Kind, KindWorkload>> = {};
  for (const [kind, k] of Object.entries(workload.kinds) as [Kind, KindWorkload][])
    kinds[kind] = Object.fromEntries(
      Object.entries(k).map(([field, n]) => [field, Math.round(n * f)]),
    ) as unknown as KindWorkload;
  return {
    kinds,
    receipts: Math.round(workload.receipts * f),
    exportBytes: Math.round(workload.exportBytes * f),
  };
}
