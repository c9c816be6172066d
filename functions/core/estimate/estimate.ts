import { DEFAULT_TARGET_BUCKETS } from '../bucket-sets';
import { CEILINGS } from '../ceilings';
import {
  buildHeldBytes,
  checkHeldBytes,
  filterObjectBytes,
  forbiddenLayout,
  VALUES_PER_ACCOUNT,
} from '../forbidden';
import { targetPartitions } from '../keys';
import { capacityOf } from '../pipeline/capacity';
import { CUT_CONCURRENCY } from '../pipeline/pieces';
import { PARTITIONING, receiptPartitions, SIZING, verifyRanges } from '../pipeline/sizing';
import { SPLIT_CONCURRENCY } from '../pipeline/split';
import { lastStageOf, stagesInOrder, type WavePlan } from '../pipeline/stages';
import { ENTITY_OF_KIND, type Entity } from '../pipeline/workers';
import type { DecidedRecord } from '../rules/decide';
import { checksFile, copiesFile, isFileOfDeletedSpace } from '../rules/decide';
import {
  AUDIENCE_OF,
  givesAudience,
  INDEXES_BEFORE_DECIDING,
  isContainerKind,
  isHeldKind,
  type Kind,
  PARENTS,
} from '../rules/kinds';
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
  /** Bytes of the kind file (validation reads it, once). */
  fileBytes: number;
  /** Files copied to the target, and their bytes. */
  filesCopied: number;
  bytesCopied: number;
  /** Files read to check their SHA-256 (rule step 7), and their bytes. */
  blobChecks: number;
  blobBytes: number;
  /** Entries its lines gave an index a later stage reads (each chunk writes its distinct ones: at most these). */
  indexKeys: number;
  /**
   * Items with a file of a deleted TwinSpace or group: their chunk reads the space's people from its
   * holder's item (at most one read each), to offer them the file.
   */
  spaceFiles?: number;
  /**
   * Lines of a kind with a parent (PARENTS) whose parent differs from the line before's, in the file's
   * order: a chunk looks up its lines' distinct parents, never more than the runs it holds plus one
   * (its first line's). Scales with the export whatever its order (a shuffled file has a run a line).
   */
  parentRuns?: number;
}

export interface Workload {
  readonly kinds: Partial<Record<Kind, KindWorkload>>;
  /** Receipts written (accounts that own a record of the waves), and their files (JSON, HTML, text, translations). */
  readonly receipts: number;
  readonly receiptFiles?: number;
  /** Bytes of every kind file of the export (validation hashes them all). */
  readonly exportBytes: number;
}

export interface EstimateSettings {
  /** Concurrent invocations of each entity worker (CDK context workerConcurrency). */
  readonly workerConcurrency: number;
  /** Seconds between progress checks (CDK context pollSeconds). */
  readonly pollSeconds: number;
  /**
   * Writes and reads per second the state table takes at once: 4,000 and 12,000 for a new on-demand
   * table, more when it is pre-warmed (CDK context tableWarmWrites, tableWarmReads).
   */
  readonly tableWritesPerSecond?: number;
  readonly tableReadsPerSecond?: number;
  /** Partitions each bucket has from the start (CDK context bucketPartitions). Unset: 1, a new bucket's. */
  readonly bucketPartitions?: number;
  /**
   * Buckets the migrated target and the reports are each spread over (CDK context targetBuckets;
   * core/bucket-sets). Unset: the deployment's default.
   */
  readonly targetBuckets?: number;
}

/** A stage of the run: how long it takes, and what binds it (its workers, or a resource they are paced to). */
export interface EstimateStage {
  readonly stage: string;
  readonly seconds: number;
  readonly binding: string;
}

/** What the run asks of the services, in requests: what bills and what the limits bind. */
export interface WorkloadCounts {
  readonly records: number;
  readonly dynamoWriteUnits: number;
  readonly dynamoReadUnits: number;
  /** PUT, COPY and DELETE requests (LIST apart), and GET and HEAD requests. */
  readonly s3Writes: number;
  readonly s3Reads: number;
}

/** One step of the run as its heaviest invocation sees it, against the function's limits. */
export interface FeasibleStep {
  readonly step: string;
  readonly function: string;
  readonly perInvocationSeconds: number;
  readonly timeoutSeconds: number;
  readonly tmpBytes: number;
  readonly tmpLimitBytes: number;
  /**
   * What its heaviest invocation holds in memory that grows with the export (split: the ids of a kind
   * file, DQ-2; verify: the values that must never reach the target), beside the runtime's own
   * (ASSUMPTIONS.runtimeBytes), against the function's memory.
   */
  readonly heldBytes: number;
  readonly memoryLimitBytes: number;
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
  /**
   * Requests throttled although every worker is paced to its share (DynamoDB and S3 repartitioning, the
   * share's rounding): retried after one backoff. Not measured on AWS; throttled requests are not billed.
   */
  throttledShare: 0.01,
  /** The SDK's first backoff after throttling, on average (full jitter up to 2 × 500 ms, SIZING.sdkRetry). */
  retryBackoffMs: 500,
  /** Files of a receipt when `plan` did not count them (JSON, HTML and text in English). */
  filesPerReceipt: 3,
  /** Requests a worker keeps in flight (eachLimited 16 for objects, 8 for DynamoDB batches). */
  parallelRequests: 12,
  /** Reading (and hashing) an S3 object stream in Lambda. */
  readMBps: 80,
  progressCheckMs: 150,
  /**
   * From a stage's last chunk done to its next state: the chunk's count, the markers read, SendTaskSuccess
   * and Step Functions starting the next state. Not measured on AWS.
   */
  stageAnswerSeconds: 1,
  /** Lambda pollers per SQS event source while it waits for messages, each long-polling every 20 s. */
  idlePollersPerQueue: 5,
  /** Bytes of one expected document in verify's spool (its key, kind and id). */
  expectedBytesPerDocument: 120,
  /**
   * Keying one line of the accounts file into the run's index of the values that must never reach the
   * target (validate, core/forbidden): 9.7-11.4 µs measured here (JSON.parse of lines of 478 characters,
   * then a keyed digest a value: 3 values a line of the generated export), doubled for Lambda's ARM cores;
   * not measured on AWS.
   */
  forbiddenMsPerLine: 0.02,
  /**
   * Cutting one line into its piece (validate, pipeline/pieces): parsed for its id (DQ-2), its file's
   * declared size and, for an account, its credentials left out; encoded into the piece. 2.8-3.7 µs a
   * line measured here besides the check (`npx tsx bench/cut-cost.ts`, the 175,962 lines of 10,000
   * generated accounts, seed 5), the most of it doubled for ARM; not measured on AWS.
   */
  cutMsPerLine: 0.0075,
  /**
   * Checking one migrated document against that index (verify): each of its strings, and its lower case,
   * keyed (2.1-2.6 µs a string here), for 20 strings a document (assumed: not measured on real
   * documents), doubled for ARM. The filter's false positives (about 1.4 in 10^6 strings at full size) each
   * read one shard: not counted.
   */
  forbiddenCheckMsPerDocument: 0.2,
  /**
   * Bytes one id of a kind file takes in validate's table of the ids seen as it cuts the file (DQ-2,
   * core/id-table, pipeline/pieces): 39.5
   * measured here for ids of 17 characters parsed from JSON, 54.8 for 32 (Node 20, 1,000,000 ids), taken
   * as 55 (ids of up to 32 characters).
   */
  seenIdBytes: 55,
  /** What a function holds besides (Node, the SDK, buffers of a stream, a page of work). Not measured on AWS. */
  runtimeBytes: 256 * 1024 * 1024,
  /** Size of one chunk marker in a progress query, bytes. */
  markerBytes: 120,
  /** Log lines each invocation writes (start, its counts, end), in bytes. */
  logBytesPerInvocation: 1_500,
  /** Requests to SQS, S3 and DynamoDB per request they make to KMS (data keys reused, bucket keys). */
  requestsPerKmsRequest: 1_000,
} as const;

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
  readonly duration: { seconds: number; text: string; stages: EstimateStage[] };
  /** The longest stage, and what binds it. */
  readonly binding: EstimateStage;
  readonly workload: WorkloadCounts;
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
  indexKeys: 0,
};

/** Gathers a Workload from the decisions `plan` makes. */
export class WorkloadTally {
  readonly kinds: Partial<Record<Kind, KindWorkload>> = {};
  /** Each kind's last line's parent, for its runs. */
  private readonly lastParent = new Map<Kind, string | undefined>();

  kind(kind: Kind): KindWorkload {
    this.kinds[kind] ??= { ...EMPTY_KIND };
    return this.kinds[kind];
  }

  add(d: DecidedRecord): void {
    const k = this.kind(d.kind);
    k.lines++;
    const parent = PARENTS[d.kind];
    if (parent) {
      // An account's records name it as their owner; an item its space as its parent. A line whose
      // parent is not known (unreadable, erased) counts as a run of its own.
      const id = parent.kind === 'accounts' ? d.owners[0] : d.parent?.id;
      if (id === undefined || id !== this.lastParent.get(d.kind)) k.parentRuns = (k.parentRuns ?? 0) + 1;
      this.lastParent.set(d.kind, id);
    }
    if (d.decision === 'migrated') k.migrated++;
    // Step 7 reads the file of every record that stands, and of those it quarantined.
    if (checksFile(d) && d.file) {
      k.blobChecks++;
      k.blobBytes += d.file.size;
    }
    if (copiesFile(d) && d.file) {
      k.filesCopied++;
      k.bytesCopied += d.file.size;
    }
    if (isFileOfDeletedSpace(d)) k.spaceFiles = (k.spaceFiles ?? 0) + 1;
  }

  /** Adds what another tally counted (a wave decided on a thread of its own). */
  merge(kinds: WorkloadTally['kinds']): void {
    for (const [kind, from] of Object.entries(kinds) as [Kind, KindWorkload][]) {
      const into = this.kind(kind) as unknown as Record<string, number>;
      for (const [field, n] of Object.entries(from)) into[field] = (into[field] ?? 0) + n;
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

/** What a stage offers the table and the buckets, in requests (units). */
interface Offered {
  tableWrites: number;
  tableReads: number;
  /** PUT/COPY/DELETE and GET/HEAD on each bucket. */
  writes: Record<Bucket, number>;
  reads: Record<Bucket, number>;
}
type Bucket = 'exports' | 'migrated' | 'reports';
const BUCKETS: readonly Bucket[] = ['exports', 'migrated', 'reports'];
const noLoad = (): Offered => ({
  tableWrites: 0,
  tableReads: 0,
  writes: { exports: 0, migrated: 0, reports: 0 },
  reads: { exports: 0, migrated: 0, reports: 0 },
});

/**
 * Invocations of a fold of `objects` objects, `max` a step (pipeline/page-fold): the step that finds
 * fewer than `max` is the last, so a full last page takes one more that finds none.
 */
const foldSteps = (objects: number, max: number) => Math.floor(objects / max) + 1;

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
  let s3Writes = 0;
  const steps: FeasibleStep[] = [];
  const ceilings: Feasibility['ceilings'][number][] = [];
  // The capacity as deployed (core/pipeline/capacity): each queue's workers and what they are paced to.
  const capacity = capacityOf({
    workerConcurrency: settings.workerConcurrency,
    tableWarmWrites: settings.tableWritesPerSecond ?? CEILINGS.newTableWritesPerSecond,
    tableWarmReads: settings.tableReadsPerSecond ?? CEILINGS.newTableReadsPerSecond,
    bucketPartitions: settings.bucketPartitions ?? 1,
  });
  const targetBuckets = settings.targetBuckets ?? DEFAULT_TARGET_BUCKETS;
  /** Buckets in each bucket set: the exports bucket is one; the target and the reports are spread. */
  const bucketsIn = (b: Bucket) => (b === 'exports' ? 1 : targetBuckets);
  const warnings: string[] = [];
  const MiB = 1024 * 1024;
  /**
   * `count` invocations of `name` taking `seconds` in all; the heaviest one takes `heaviest` and holds
   * `held`. A heaviest invocation beyond its function's timeout or memory is a warning, naming `label`
   * (the step, by default), and its step does not fit.
   */
  const invoke = (
    count: number,
    seconds: number,
    memoryMb: number,
    step?: {
      step: string;
      name: keyof typeof SIZING.functions;
      heaviest: number;
      held?: number;
      label?: string;
    },
  ) => {
    t.lambdaInvocations += count;
    t.lambdaGbSeconds += seconds * mb(memoryMb);
    t.logBytes += count * a.logBytesPerInvocation;
    if (!step || count === 0) return;
    const sized = SIZING.functions[step.name];
    t.ephemeralGbSeconds += (seconds * Math.max(0, sized.tmpMb - 512)) / 1024;
    const label = step.label ?? step.step;
    const held = Math.round(step.held ?? 0);
    const memoryLimitBytes = sized.memoryMb * MiB;
    const overTime = step.heaviest > sized.timeoutSeconds;
    const overMemory = held + a.runtimeBytes > memoryLimitBytes;
    const warn = (text: string) => warnings.includes(text) || warnings.push(text);
    if (overTime)
      warn(
        `${label} would take about ${formatDuration(step.heaviest)} in one invocation, beyond the function's ${sized.timeoutSeconds / 60} minutes`,
      );
    if (overMemory)
      warn(
        `${label} would hold about ${Math.round(held / MiB)} MB besides the runtime's ${Math.round(a.runtimeBytes / MiB)} MB, beyond the function's ${sized.memoryMb} MB`,
      );
    const fn = step.name === 'worker' ? 'entity worker' : step.name;
    // One row per step, in the order the run first reaches it, with its heaviest invocation (in time and
    // in what it holds).
    const at = steps.findIndex((x) => x.step === step.step);
    const before = at >= 0 ? steps[at] : undefined;
    const heavier = !before || step.heaviest > before.perInvocationSeconds;
    const heldBytes = Math.max(before?.heldBytes ?? 0, held);
    steps.splice(at >= 0 ? at : steps.length, at >= 0 ? 1 : 0, {
      step: step.step,
      function: fn,
      perInvocationSeconds: heavier ? Math.round(step.heaviest * 10) / 10 : before.perInvocationSeconds,
      timeoutSeconds: sized.timeoutSeconds,
      // No function writes to /tmp: each streams, or works one bounded part in memory.
      tmpBytes: 0,
      tmpLimitBytes: sized.tmpMb * MiB,
      heldBytes,
      memoryLimitBytes,
      // An earlier invocation of the step that did not fit keeps it from fitting.
      fits: (before?.fits ?? true) && !overTime && !overMemory,
    });
  };
  /** Requests of a stage: counted for the bill and for the stage's load on the table and buckets. */
  const put = (load: Offered, bucket: Bucket, n: number) => {
    load.writes[bucket] += n;
    t.s3PutCopyListRequests += n;
    s3Writes += n;
  };
  const get = (load: Offered, bucket: Bucket, n: number) => {
    load.reads[bucket] += n;
    t.s3GetRequests += n;
  };
  const list = (n: number) => {
    t.s3PutCopyListRequests += n;
  };
  const write = (load: Offered, n: number) => {
    load.tableWrites += n;
    t.dynamoWriteUnits += n;
  };
  const read = (load: Offered, n: number) => {
    load.tableReads += n;
    t.dynamoReadUnits += n;
  };
  /** Requests a second each resource takes: the capacity the workers are paced to. */
  const limits = (load: Offered): [string, number, number][] => [
    ['DynamoDB writes per second', load.tableWrites, capacity.tableWritesPerSecond],
    ['DynamoDB reads per second', load.tableReads, capacity.tableReadsPerSecond],
    ...BUCKETS.flatMap((b): [string, number, number][] => [
      [
        `S3 writes per second on the ${b} bucket${bucketsIn(b) > 1 ? 's' : ''}`,
        load.writes[b],
        bucketsIn(b) * capacity.bucketWritesPerSecond,
      ],
      [
        `S3 reads per second on the ${b} bucket${bucketsIn(b) > 1 ? 's' : ''}`,
        load.reads[b],
        bucketsIn(b) * capacity.bucketReadsPerSecond,
      ],
    ]),
  ];
  /**
   * How long a stage's work takes: its workers' time, or longer where a resource takes its requests no
   * faster (the workers are paced to it); a share of the requests is throttled anyway and retried after
   * a backoff. Returns the time and what binds it.
   */
  const paced = (stage: string, workerSeconds: number, load: Offered) => {
    let longest = workerSeconds;
    let binding = 'workers';
    for (const [resource, offered, limit] of limits(load)) {
      const needed = (offered * (1 + a.throttledShare)) / limit;
      // A resource that holds a stage back by less than a second is not named (its time still counts).
      if (needed > workerSeconds && needed >= 1)
        ceilings.push({
          stage,
          resource,
          offered: Math.round(offered / Math.max(workerSeconds, 1)),
          limit,
          seconds: needed,
        });
      if (needed > longest) {
        longest = needed;
        if (needed >= 1) binding = resource;
      }
    }
    return { seconds: longest, binding };
  };
  /** The workers' time lost to throttled requests: each waits one backoff, `parallelRequests` at once. */
  const throttleSeconds = (load: Offered, workers: number) => {
    const requests =
      load.tableWrites / 25 +
      load.tableReads / 100 +
      BUCKETS.reduce((n, b) => n + load.writes[b] + load.reads[b], 0);
    return (
      (requests * a.throttledShare * a.retryBackoffMs) / 1000 / a.parallelRequests / Math.max(1, workers)
    );
  };
  /**
   * A stage's end: its last chunk answers the stage's wait (reading the markers once; every chunk's count
   * is in the stage's load); until then the wait times out every pollSeconds and a check reads the
   * markers (and the queues' depth). Counts it all; returns the stage's seconds after its split and the
   * waits it took (the state machine's walk).
   */
  const stageEnd = (busy: number, chunks: number) => {
    const waits = Math.max(1, Math.ceil(busy / settings.pollSeconds));
    const markerReads = 1 + Math.max(1, Math.ceil((chunks * a.markerBytes) / 4096));
    const checks = 2 * waits - 1;
    invoke(checks, (checks * a.progressCheckMs) / 1000, mem('progress'));
    t.dynamoWriteUnits += waits;
    t.dynamoReadUnits += (checks + 1) * markerReads;
    t.sqsRequests += (waits - 1) * 4; // each check's GetQueueAttributes of the entity queues
    return { seconds: busy + a.stageAnswerSeconds, waits };
  };
  const readSeconds = (bytes: number) => bytes / (a.readMBps * 1e6);
  const stages: EstimateStage[] = [];

  /**
   * A kind's pieces (pipeline/pieces), which every stage that works it copies as its chunks: cut by lines,
   * and by the files its lines carry. A piece closed by its files holds chunkFiles of them (a line carries
   * one: never before its lines when chunkFiles is not below chunkLines); one closed by their bytes, with
   * the next line's file, holds more than chunkFileBytes (each file counted at most twice): so at most
   * this many pieces.
   */
  const piecesOf = (k: KindWorkload) => {
    const { chunkLines, chunkFiles, chunkFileBytes } = PARTITIONING;
    return Math.ceil(
      k.lines / chunkLines +
        (chunkFiles < chunkLines ? k.blobChecks / chunkFiles : 0) +
        (2 * k.blobBytes) / chunkFileBytes,
    );
  };
  // The stages that work kind files, in the order they run: the last that works a kind sends its pieces
  // themselves, the others copy them.
  const ordered = stagesInOrder(
    waves,
    waves.map((w) => w.wave),
  );
  const cutKinds = [...new Set(ordered.flatMap((st) => st.steps.map((step) => step.kind)))];

  // A start (validate): the manifest and the run lock, then every listed file checked at once, one
  // invocation each (hashed as it streams; the accounts file's credentials and addresses keyed into the
  // run's index for verify, core/forbidden, its shards and filter put once checked; each kind the stages
  // work cut into pieces, pipeline/pieces: CUT_CONCURRENCY puts at once beside the read, the ids of the
  // file kept for DQ-2), then the run opened. The longest file's check is on the run's path.
  const listed = (Object.entries(workload.kinds) as [Kind, KindWorkload][]).filter(([, k]) => k.lines > 0);
  const accounts = kindOf('accounts');
  const forbidden = forbiddenLayout(accounts.lines);
  const indexPuts = forbidden.shards + 1;
  const checks = listed.map(([kind, k]) => {
    const cut = cutKinds.includes(kind);
    const keyed = kind === 'accounts';
    const pieces = cut ? piecesOf(k) : 0;
    return {
      pieces,
      seconds:
        Math.max(
          readSeconds(k.fileBytes) +
            ((keyed ? k.lines * a.forbiddenMsPerLine : 0) + (cut ? k.lines * a.cutMsPerLine : 0)) / 1000,
          (pieces * a.s3PutMs) / 1000 / CUT_CONCURRENCY,
        ) + (keyed ? (indexPuts * a.s3PutMs) / 1000 / a.parallelRequests : 0),
      held:
        (keyed ? buildHeldBytes(forbidden, accounts.lines * VALUES_PER_ACCOUNT) : 0) +
        (cut ? k.lines * a.seenIdBytes : 0),
    };
  });
  const longestCheck = Math.max(0, ...checks.map((c) => c.seconds));
  // Without an accounts file the run opened puts an empty index (verify reads one for every run).
  const opened = 0.5 + (accounts.lines > 0 ? 0 : (indexPuts * a.s3PutMs) / 1000 / a.parallelRequests);
  const validateSeconds = opened + longestCheck;
  invoke(2 + checks.length, opened + checks.reduce((n, c) => n + c.seconds, 0), mem('validate'), {
    step: 'validate',
    name: 'validate',
    heaviest: longestCheck,
    held: Math.max(0, ...checks.map((c) => c.held)),
  });
  const validateLoad = noLoad();
  get(validateLoad, 'exports', 1 + listed.length);
  put(validateLoad, 'exports', indexPuts + checks.reduce((n, c) => n + c.pieces, 0));
  let seconds = validateSeconds;

  /**
   * A stage's split, a page of PARTITIONING.splitChunks chunks an invocation: the page's markers (one
   * query a step), the copies of the chunks of steps that do not work their kind last (SPLIT_CONCURRENCY
   * at once; the last works the pieces themselves), then the page's messages, ten to a batch (about as
   * long as a PUT each). Counts it all; returns its seconds and its pages (the state machine's walk).
   */
  const split = (label: string, chunks: number, copies: number, load: Offered) => {
    const pages = Math.max(1, Math.ceil(chunks / PARTITIONING.splitChunks));
    const page = (n: number, copied: number) =>
      0.3 +
      (2 * a.dynamoBatchMs + (copied * a.s3CopyMs) / SPLIT_CONCURRENCY) / 1000 +
      (Math.ceil(n / SIZING.sendBatchSize) * a.s3PutMs) / 1000;
    const splitSeconds = page(chunks, copies) + (pages - 1) * (0.3 + (2 * a.dynamoBatchMs) / 1000);
    read(load, 2 * pages);
    put(load, 'exports', copies);
    const inPage = Math.min(chunks, PARTITIONING.splitChunks);
    invoke(pages, splitSeconds, mem('split'), {
      step: 'split',
      name: 'split',
      heaviest: page(inPage, Math.min(copies, inPage)),
      label: `${label} split`,
    });
    return { seconds: splitSeconds, pages };
  };

  // The identity stages over chunks of accounts: index each (a get, a conditional put, its e-mail
  // entry), then link what each matches (pending registrations, the e-mail's accounts, the holder).
  const accountChunks = piecesOf(accounts);
  const identityPolls: number[] = [];
  const identitySplits: number[] = [];
  for (const [stage, reads, writes] of [
    ['identities/index', 1, 2],
    ['identities/link', 4, 0],
  ] as const) {
    const load = noLoad();
    const perChunk =
      a.chunkOverheadMs / 1000 +
      (Math.min(accounts.lines, PARTITIONING.chunkLines) *
        (a.cpuMsPerLine + ((reads + writes) * a.dynamoBatchMs) / a.parallelRequests)) /
        1000;
    const { seconds: splitSeconds, pages } = split(
      stage,
      accountChunks,
      lastStageOf(ordered, 'accounts') === stage ? 0 : accountChunks,
      load,
    );
    identitySplits.push(pages);
    invoke(accountChunks, accountChunks * perChunk, mem('index-identities'), {
      step: stage,
      name: 'index-identities',
      heaviest: perChunk,
    });
    // + each chunk's marker check, its marker's count, and the erasures (ER-1, one query of a few items).
    read(load, accounts.lines * reads + 3 * accountChunks);
    write(load, accounts.lines * writes + 2 * accountChunks + 1); // + each chunk's marker and count
    put(load, 'exports', 2 * accountChunks); // its tally, and the chunk's delete once worked
    get(load, 'exports', accountChunks + 2);
    t.sqsRequests += 3 * accountChunks;
    const workers = capacity.workers.identities;
    const work = (accountChunks * perChunk) / workers + throttleSeconds(load, workers);
    const { seconds: busy, binding } = paced(stage, work, load);
    const end = stageEnd(busy, accountChunks);
    const stageSeconds = splitSeconds + end.seconds;
    identityPolls.push(end.waits);
    stages.push({ stage, seconds: stageSeconds, binding });
    seconds += stageSeconds;
  }

  const shape: { wave: string; stagePolls: number[]; stageSplits: number[] }[] = [];
  let decideChunks = 0;
  let records = 0;
  for (const wave of waves) {
    const stagePolls: number[] = [];
    const stageSplits: number[] = [];
    shape.push({ wave: wave.wave, stagePolls, stageSplits });
    for (const stage of wave.stages) {
      const load = noLoad();
      let stageChunks = 0;
      let copies = 0;
      const entitySeconds = new Map<Entity, number>();
      for (const step of stage.steps) {
        const k = kindOf(step.kind);
        if (k.lines === 0) continue;
        // Its chunks are the kind's pieces (copied by the stage's split, below).
        const chunks = piecesOf(k);
        stageChunks += chunks;
        // Copied from them unless this is the run's last step that works the kind (none works it twice).
        if (lastStageOf(ordered, step.kind) !== stage.id) copies += chunks;
        t.sqsRequests += chunks;
        // workers: one invocation per batch of messages; receive and delete per batch.
        const batches = Math.ceil(chunks / SIZING.workerBatchSize);
        t.sqsRequests += 2 * batches;
        read(load, 2 * chunks); // marker check (strongly consistent get), the erasures (ER-1: one query)
        write(load, chunks); // marker
        get(load, 'exports', chunks); // chunk object
        put(load, 'exports', chunks); // its delete once worked
        let writes = 0;
        let reads = 0;
        if (step.op === 'index') {
          // Each chunk writes its lines' distinct index entries: at most as many as the lines gave.
          writes = k.indexKeys;
        } else {
          decideChunks += chunks;
          records += k.lines;
          // Followed records' decisions, for their children; the ledger is the chunk's result object.
          // Accounts, TwinSpaces and groups also read their holder across exports (pipeline/holders), whose item
          // takes the run's decision in the same write; the manifest is read once a chunk for its exportedAt.
          const held = isHeldKind(step.kind) ? k.lines : 0;
          if (held > 0) get(load, 'exports', chunks);
          writes = isContainerKind(step.kind) || held > 0 ? k.lines : 0;
          // A chunk's distinct parents: at most its runs of one parent, each chunk starting one.
          reads =
            (PARENTS[step.kind] ? Math.min(k.lines, (k.parentRuns ?? k.lines) + chunks) : 0) +
            // A group is looked up in its activity index and in the index of the groups its quarantined
            // items named (GR-1); an account in the eTwinning e-mails (ID-3: SEG accounts only, all counted).
            (INDEXES_BEFORE_DECIDING[step.kind] ? k.lines * (step.kind === 'groups' ? 2 : 1) : 0) +
            held +
            (k.spaceFiles ?? 0);
          // An event's people for its Learning Lab (one object each), read back by id (AUDIENCE_OF).
          if (givesAudience(step.kind)) put(load, 'exports', k.lines);
          if (AUDIENCE_OF[step.kind]) get(load, 'exports', k.lines);
          // Documents and copies into the target, the chunk's results into the working area.
          put(load, 'migrated', k.migrated + k.filesCopied);
          put(load, 'exports', chunks);
          get(load, 'exports', k.blobChecks);
          t.s3BytesCopied += k.bytesCopied;
        }
        write(load, writes);
        read(load, reads);
        const workSeconds =
          (chunks * a.chunkOverheadMs +
            k.lines * a.cpuMsPerLine +
            // Documents, each decide chunk's result object, each chunk's delete once worked.
            ((k.migrated + (step.op === 'decide' ? chunks : 0) + chunks) * a.s3PutMs +
              k.filesCopied * a.s3CopyMs +
              k.blobChecks * a.s3GetMs +
              (Math.ceil(writes / 25) + Math.ceil(reads / 100)) * a.dynamoBatchMs) /
              a.parallelRequests) /
            1000 +
          readSeconds(k.blobBytes);
        // A worker invocation takes a batch of chunks of this kind; its heaviest reads its chunks' most
        // file bytes (PARTITIONING.chunkFileBytes each), however the files spread over the chunks.
        const inBatch = Math.min(chunks, SIZING.workerBatchSize);
        const perBatch = Math.max(
          (workSeconds / Math.max(1, chunks)) * inBatch,
          (inBatch * a.chunkOverheadMs) / 1000 +
            readSeconds(Math.min(k.blobBytes, inBatch * PARTITIONING.chunkFileBytes)),
        );
        invoke(batches, workSeconds, mem('worker'), {
          step: 'decide a batch of chunks',
          name: 'worker',
          heaviest: perBatch,
        });
        const entity = ENTITY_OF_KIND[step.kind];
        entitySeconds.set(entity, (entitySeconds.get(entity) ?? 0) + workSeconds);
      }
      const { seconds: splitSeconds, pages } = split(stage.id, stageChunks, copies, load);
      stageSplits.push(pages);
      write(load, 1 + stageChunks); // the stage's expectation, each chunk's count toward it
      read(load, 1);
      // Each entity's chunks spread over its queue's workers; they share the table and buckets (a stage
      // of one entity gives it all), paced to their budget; the stage ends at the next check.
      const queues = [...entitySeconds.keys()];
      const workers = queues.reduce((n, e) => n + capacity.workers[e], 0);
      const work =
        Math.max(0, ...queues.map((e) => (entitySeconds.get(e) ?? 0) / capacity.workers[e])) +
        throttleSeconds(load, workers);
      const { seconds: busy, binding } = paced(stage.id, work, load);
      const end = stageEnd(busy, stageChunks);
      const stageSeconds = splitSeconds + end.seconds;
      stagePolls.push(end.waits);
      stages.push({ stage: stage.id, seconds: stageSeconds, binding });
      seconds += stageSeconds;
    }
  }

  // The report and verify, fanned out (core/pipeline/report-parts): map parts over the results (spooling
  // to the receipts' and verify's partitions), then the receipts' partitions beside verify's, a page at
  // a time; the summary merges their tallies.
  const P = PARTITIONING;
  const migrated = Object.values(workload.kinds).reduce((n, k) => n + k.migrated, 0);
  const files = Object.values(workload.kinds).reduce((n, k) => n + k.filesCopied, 0);
  const allRecords = Object.values(workload.kinds).reduce((n, k) => n + k.lines, 0);
  const partitions = receiptPartitions(allRecords, P);
  // Partitions of the target that verify checks.
  const targetPartitionCount = targetPartitions('export', verifyRanges(allRecords, P)).length;
  const mapParts = Math.ceil(decideChunks / P.reportResults);
  const receiptFiles = workload.receiptFiles ?? workload.receipts * a.filesPerReceipt;
  // A part reads up to reportResults result objects (the heaviest part: full ones).
  const partRows = Math.min(records, P.reportResults * P.chunkLines);
  // A part spools an object to each receipts and verify partition its decisions reach (counted as all of
  // them), spoolPuts an invocation: each invocation more reads the part's results again.
  const spoolObjects = partitions + targetPartitionCount;
  const mapSteps = Math.ceil(spoolObjects / P.spoolPuts);
  const mapInvocations = mapParts * mapSteps;
  const mapSeconds =
    a.chunkOverheadMs / 1000 +
    (partRows * a.cpuMsPerLine) / 1000 +
    (Math.min(decideChunks, P.reportResults) * a.s3GetMs + Math.min(spoolObjects, P.spoolPuts) * a.s3PutMs) /
      1000 /
      a.parallelRequests;
  // A partition first joins the parts' spool, joinObjects of their objects an invocation (the last one
  // goes on to the first page): one invocation more for each further page of spool objects.
  const joinSteps = foldSteps(mapParts, P.joinObjects);
  const verifyPages = Math.ceil((migrated + files) / P.verifyKeys) + targetPartitionCount;
  const verifyInvocations = verifyPages + targetPartitionCount * (joinSteps - 1);
  // A page reads its partition's expected documents (one object; the one after the join read a page of
  // the parts' spool), then each key's document (and a file's checksum).
  const verifyPageSeconds =
    a.chunkOverheadMs / 1000 +
    (Math.min(mapParts, P.joinObjects) * a.s3GetMs) / 1000 / a.parallelRequests +
    readSeconds((migrated / targetPartitionCount) * a.expectedBytesPerDocument) +
    (Math.min(P.verifyKeys, migrated + files) * a.s3GetMs) / 1000 / a.parallelRequests +
    (Math.min(P.verifyKeys, migrated) * a.forbiddenCheckMsPerDocument) / 1000;
  // Each verify container first reads the filter of the run's index of the values that must never reach
  // the target (core/forbidden: at most 16 MiB, whatever the export's size), once, in its first page.
  const forbiddenSeconds = readSeconds(filterObjectBytes(forbidden));
  // ... and holds it, with the shards it read, for every page it checks.
  const forbiddenBytes = checkHeldBytes(forbidden);
  const verifyWorkers = capacity.workers.verify;
  const verifyContainers = Math.min(verifyWorkers, verifyInvocations);
  const verifySeconds = verifyPageSeconds + forbiddenSeconds;
  const accountsPerPartition = workload.receipts / partitions;
  // A receipts partition joins its spool as verify does, a page of the parts' objects a step; the step
  // that ends the join builds the first receiptsPerStep accounts' receipts from the lines it joined, and
  // each step after the next, reading the joined spool again (one GET) and grouping it by account.
  const receiptsSteps = Math.max(1, Math.ceil(accountsPerPartition / P.receiptsPerStep));
  const receiptsInvocations = partitions * (joinSteps + receiptsSteps - 1);
  const joinGetsSeconds = (Math.min(mapParts, P.joinObjects) * a.s3GetMs) / 1000 / a.parallelRequests;
  const joinStepSeconds = a.chunkOverheadMs / 1000 + joinGetsSeconds + a.s3PutMs / 1000 / a.parallelRequests;
  // A page of accounts: the joined spool read again (but by the first page, in the invocation that ends
  // the join), then each account's receipt files, built from its share of the partition's lines.
  const joinedGetSeconds = a.s3GetMs / 1000 / a.parallelRequests;
  const accountSeconds =
    (receiptFiles * a.s3PutMs) / Math.max(1, workload.receipts) / 1000 / a.parallelRequests +
    ((records / partitions / Math.max(1, accountsPerPartition)) * a.cpuMsPerLine) / 1000;
  // The heaviest: the step that ends the join and builds the first page.
  const receiptsSeconds =
    joinStepSeconds + Math.min(accountsPerPartition, P.receiptsPerStep) * accountSeconds;
  // All of a partition's steps: the join's, then the pages'.
  const partitionSeconds =
    joinSteps * joinStepSeconds +
    ((receiptsSteps - 1) * a.chunkOverheadMs) / 1000 +
    (receiptsSteps - 1) * joinedGetSeconds +
    accountsPerPartition * accountSeconds;
  invoke(mapInvocations, mapInvocations * mapSeconds, mem('report'), {
    step: 'report part',
    name: 'report',
    heaviest: mapSeconds,
    label: 'a report part',
  });
  invoke(
    verifyInvocations,
    verifyInvocations * verifyPageSeconds + verifyContainers * forbiddenSeconds,
    mem('verify'),
    {
      step: 'verify page',
      name: 'verify',
      heaviest: verifySeconds,
      held: forbiddenBytes,
      label: 'a verify page',
    },
  );
  invoke(receiptsInvocations, partitions * partitionSeconds, mem('report'), {
    step: 'receipts partition',
    name: 'report',
    heaviest: receiptsSeconds,
    label: 'a receipts partition',
  });
  const partsLoad = noLoad();
  const receiptsLoad = noLoad();
  // Map parts: the result objects; decisions.ndjson's parts; a spool object per receipts and verify partition.
  get(partsLoad, 'exports', decideChunks * mapSteps);
  put(partsLoad, 'reports', mapParts);
  put(partsLoad, 'exports', mapParts * (partitions + targetPartitionCount));
  read(partsLoad, 2 * mapInvocations); // each part's marker check, the erasures (ER-1)
  write(partsLoad, 2 * mapParts); // each part's marker and count
  // Receipts: their spool (joined a page of its objects a step, each step after the first reading what
  // the one before kept), their files; verify: its spool joined the same way (read back by each page but
  // the first), the target's documents and files, page by page.
  get(
    receiptsLoad,
    'exports',
    mapParts * (partitions + targetPartitionCount) +
      (partitions + targetPartitionCount) * (joinSteps - 1) +
      partitions * (receiptsSteps - 1) +
      (verifyPages - targetPartitionCount),
  );
  put(receiptsLoad, 'reports', receiptFiles);
  put(receiptsLoad, 'exports', (targetPartitionCount + partitions) * joinSteps);
  get(receiptsLoad, 'migrated', migrated + files);
  get(receiptsLoad, 'exports', verifyContainers); // each verify container's index filter
  // Each page lists every bucket of the target (core/bucket-sets).
  list(targetBuckets * Math.ceil((migrated + files) / 500));
  read(receiptsLoad, verifyInvocations + 2 * partitions); // a receipts partition reads the erasures too
  write(receiptsLoad, 2 * (targetPartitionCount + partitions)); // each part's marker and count
  t.sqsRequests += 3 * (mapInvocations + verifyInvocations + receiptsInvocations);
  // The report's splits, a page of splitChunks parts an invocation: the manifest, the page's markers (a
  // query an op), a message a part (ten to a batch); the result objects' keys come from the run's pieces,
  // nothing is listed.
  const reportSplit = (parts: number, ops: number, load: Offered) => {
    const pages = Math.max(1, Math.ceil(parts / P.splitChunks));
    const pageFixed = 0.3 + (a.s3GetMs + ops * a.dynamoBatchMs) / 1000;
    const seconds = pages * pageFixed + (Math.ceil(parts / SIZING.sendBatchSize) * a.s3PutMs) / 1000;
    invoke(pages, seconds, mem('split'), {
      step: 'split',
      name: 'split',
      heaviest:
        pageFixed + (Math.ceil(Math.min(parts, P.splitChunks) / SIZING.sendBatchSize) * a.s3PutMs) / 1000,
    });
    get(load, 'exports', pages);
    read(load, ops * pages);
    t.sqsRequests += Math.ceil(parts / SIZING.sendBatchSize);
    return { seconds, pages };
  };
  const partsSplit = reportSplit(mapParts, 1, partsLoad);
  const receiptsSplit = reportSplit(partitions + targetPartitionCount, 2, receiptsLoad);
  const reportWorkers = capacity.workers.report;
  const partsWork = paced(
    'report',
    (mapInvocations * mapSeconds) / reportWorkers + throttleSeconds(partsLoad, reportWorkers),
    partsLoad,
  );
  const partsEnd = stageEnd(partsWork.seconds, mapParts);
  const partsStage = partsSplit.seconds + partsEnd.seconds;
  // Verify checks in the second stage, beside the receipts: it reads what the map parts spooled.
  const receiptsWork = paced(
    'receipts and verify',
    Math.max(
      (partitions * partitionSeconds) / reportWorkers,
      (verifyInvocations * verifyPageSeconds) / verifyWorkers + forbiddenSeconds,
    ) + throttleSeconds(receiptsLoad, reportWorkers + verifyWorkers),
    receiptsLoad,
  );
  const receiptsEnd = stageEnd(receiptsWork.seconds, partitions + targetPartitionCount);
  const receiptsStage = receiptsSplit.seconds + receiptsEnd.seconds;
  const reportPolls = [partsEnd.waits, receiptsEnd.waits];
  // The summary merges the parts' tallies (each identity chunk's, report part's, verify partition's and
  // receipts partition's), a page per invocation (a loop of the state machine), then writes summary.json,
  // report.html and the decisions' index.
  const tallies = 2 * accountChunks + mapParts + targetPartitionCount + partitions;
  const folds = foldSteps(tallies, P.summaryTallies);
  // Each reads a page of tallies and the totals before it, and puts the totals after it.
  const foldsSeconds = (((tallies + folds) * a.s3GetMs) / a.parallelRequests + folds * a.s3PutMs) / 1000;
  const heaviestFold =
    (((Math.min(tallies, P.summaryTallies) + 1) * a.s3GetMs) / a.parallelRequests + a.s3PutMs) / 1000;
  invoke(folds, foldsSeconds, mem('summary'), {
    step: 'summary merge',
    name: 'summary',
    heaviest: heaviestFold,
  });
  const summarySeconds = 1;
  invoke(1, summarySeconds, mem('summary'), { step: 'summary', name: 'summary', heaviest: summarySeconds });
  const summaryLoad = noLoad();
  get(summaryLoad, 'exports', tallies + folds + 1);
  list(folds);
  put(summaryLoad, 'exports', folds);
  put(summaryLoad, 'reports', 2);
  write(summaryLoad, 1);
  t.events += 1;
  stages.push(
    { stage: 'report', seconds: partsStage, binding: partsWork.binding },
    { stage: 'receipts and verify', seconds: receiptsStage, binding: receiptsWork.binding },
  );
  seconds += partsStage + receiptsStage + foldsSeconds + summarySeconds;
  // Every state the synthesized state machine goes through for this run, and its history events.
  const walked = walkRun(definition, {
    files: listed.length,
    waves: shape,
    reportPolls,
    identityPolls,
    identitySplits,
    reportSplits: [partsSplit.pages, receiptsSplit.pages],
    summaryFolds: folds,
  });
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
    binding: stages.reduce((x, y) => (y.seconds > x.seconds ? y : x)),
    workload: {
      records: allRecords,
      dynamoWriteUnits: t.dynamoWriteUnits,
      dynamoReadUnits: t.dynamoReadUnits,
      s3Writes,
      s3Reads: t.s3GetRequests,
    },
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
  const n = (x: number) => Math.round(x).toLocaleString('en-GB');
  const writes = e.assumptions.tableWritesPerSecond ?? CEILINGS.newTableWritesPerSecond;
  const reads = e.assumptions.tableReadsPerSecond ?? CEILINGS.newTableReadsPerSecond;
  const partitions = e.assumptions.bucketPartitions ?? 1;
  const spread = e.assumptions.targetBuckets ?? DEFAULT_TARGET_BUCKETS;
  const w = e.workload;
  return [
    `on AWS (${e.prices.region}, prices of ${e.prices.asOf}; ${e.assumptions.workerConcurrency} workers per queue, progress every ${e.assumptions.pollSeconds} s, table ${n(writes)} writes/s and ${n(reads)} reads/s, ${partitions} partition${partitions === 1 ? '' : 's'} a bucket, target and reports each over ${spread} bucket${spread === 1 ? '' : 's'})${e.scaledTo ? `, projected to ${n(e.scaledTo)} accounts` : ''}:`,
    ...rows,
    `  total about $${e.totalCost.toFixed(2)}, about ${e.duration.text}; the longest stage is ${e.binding.stage}, ${formatDuration(e.binding.seconds)}, bound by ${e.binding.binding}`,
    `  workload: ${n(w.records)} records, ${n(w.dynamoWriteUnits)} table writes (${(w.dynamoWriteUnits / Math.max(1, w.records)).toFixed(2)} a record), ${n(w.dynamoReadUnits)} table reads, ${n(w.s3Writes)} S3 writes, ${n(w.s3Reads)} S3 reads`,
    `  fits AWS's limits: ${f.fits ? 'yes' : 'NO'}${
      tightest
        ? ` (tightest: ${tightest.step}, ${tightest.perInvocationSeconds} s of ${tightest.timeoutSeconds} s per invocation)`
        : ''
    }; history ${f.historyEvents.toLocaleString('en-GB')} of ${f.historyLimit.toLocaleString('en-GB')} events`,
    ...f.steps
      .filter((x) => !x.fits)
      .map((x) => `  does not fit: ${x.step} takes ${x.perInvocationSeconds} s, over ${x.timeoutSeconds} s`),
    // Each stage's binding resource, where one binds it (feasibility.ceilings has every one it waits on).
    ...f.ceilings
      .filter((c) => e.duration.stages.some((x) => x.stage === c.stage && x.binding === c.resource))
      .map(
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
