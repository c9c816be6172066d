import {
  type EnvKey,
  FORGET_ENV,
  QUEUE_ENV,
  REPORT_ENV,
  VERIFY_ENV,
  WORKFLOW_ENV,
} from '../functions/adapters/wiring';
import { CEILINGS } from '../functions/core/ceilings';
import {
  chunkSets,
  FORBIDDEN_SETS,
  PIECE_SETS,
  PREFIXES,
  RECEIPTS_PATTERN,
  WITHDRAWABLE,
} from '../functions/core/keys';
import { type DeploymentSizing, queueConcurrency } from '../functions/core/pipeline/capacity';
import { SIZING, type SizedFunction } from '../functions/core/pipeline/sizing';
import { ENTITIES, type Queued } from '../functions/core/pipeline/workers';

/**
 * Every Lambda function of the pipeline, in one table: the stack builds each function, its grants, its
 * event source and its monitoring from its row, so a function cannot be deployed without its alarms or
 * its role. `name` is the function's folder under functions/ (its handler.ts) and its construct id.
 */

/** A bucket of the stateful stack. */
export type BucketName = 'exports' | 'migrated' | 'reports';

/** What a function may do, each grant on the narrowest resource that works. */
export type Grant =
  | { readonly read: BucketName; readonly prefix: string }
  | { readonly put: BucketName; readonly prefix: string }
  /**
   * `s3:DeleteObject` alone (a delete marker; never an older version): withdrawals (core/pipeline/withdraw)
   * on the areas of the migrated layout that a run writes, a worker's own chunk sets once worked (keys.ts
   * `chunkSets`, and `PIECE_SETS`: a kind's last step works its pieces), and validate's pieces and index
   * (`FORBIDDEN_SETS`) of a start that failed.
   */
  | { readonly delete: BucketName; readonly prefix: string }
  | { readonly table: 'read' | 'write' | 'read-write' }
  | { readonly emailKeySecret: 'read' }
  /**
   * Answers the workflow's wait for a stage (states:SendTaskSuccess on the state machine): whoever records
   * a chunk or part done, and the wait itself.
   */
  | { readonly stageTasks: 'answer' }
  /** On every queue of the workflow (entities, report, verify), or `only` one: send, or read their depth. */
  | { readonly entityQueues: 'send' | 'attributes'; readonly only?: Queued };

export interface FunctionSpec {
  readonly name: string;
  /** Its memory and timeout (core/pipeline/sizing.ts, which the AWS estimate reads too). */
  readonly sizing: SizedFunction;
  /** The environment variables it reads at its cold start. */
  readonly env: readonly EnvKey[];
  readonly grants: readonly Grant[];
  /** Fed by a queue of its own: an entity queue, or the registrations' link queue. */
  readonly queue?: { readonly name: Queued | 'link'; readonly batchSize: number };
  /** What it is, on the dashboard. */
  readonly description: string;
}

const ENTITY_QUEUE_ENV = Object.values(QUEUE_ENV);
const readsExport: Grant = { read: 'exports', prefix: PREFIXES.exports };
const readsWork: Grant = { read: 'exports', prefix: PREFIXES.work };
const writesWork: Grant = { put: 'exports', prefix: PREFIXES.work };
/** The report's parts and its summary: the export and working area, the reports bucket, the table. */
const reportWork: readonly Grant[] = [
  readsExport,
  readsWork,
  writesWork,
  { put: 'reports', prefix: '' },
  { table: 'read-write' },
];
/** A withdrawal (rollback, replaced export): the run's results, the target and its links, the receipts. */
const withdraws: readonly Grant[] = [
  readsWork,
  { read: 'migrated', prefix: '' },
  ...WITHDRAWABLE.map((prefix): Grant => ({ delete: 'migrated', prefix })),
  { read: 'reports', prefix: '' },
  { put: 'reports', prefix: '' },
];

/** The most concurrent invocations of a queued function, as deployed (core/pipeline/capacity). */
export const concurrencyOf = (spec: FunctionSpec, settings: DeploymentSizing): number =>
  spec.queue ? queueConcurrency(spec.queue.name, settings) : settings.workerConcurrency;

/** The concurrency the queued workers reserve in all (the link function reserves none). */
export const reservedConcurrency = (settings: Parameters<typeof concurrencyOf>[1]) =>
  FUNCTIONS.filter((spec) => spec.queue && spec.queue.name !== 'link').reduce(
    (sum, spec) => sum + concurrencyOf(spec, settings),
    0,
  );

/**
 * Refuses, at synth, reserved concurrency the account cannot grant: Lambda keeps 100 of the account's
 * concurrent executions unreserved (CEILINGS), so the workers may reserve the quota less 100.
 */
export function assertReservable(
  settings: Parameters<typeof concurrencyOf>[1] & { readonly quotas: { readonly lambdaConcurrency: number } },
): void {
  const reserved = reservedConcurrency(settings);
  const grantable = settings.quotas.lambdaConcurrency - CEILINGS.lambdaUnreservedMinimum;
  if (reserved > grantable)
    throw new RangeError(
      `the workers would reserve ${reserved} concurrent executions, but an account with a quota of ${settings.quotas.lambdaConcurrency} can reserve ${grantable} (Lambda keeps ${CEILINGS.lambdaUnreservedMinimum} unreserved): lower -c workerConcurrency, or ask AWS to raise "Concurrent executions" (Service Quotas, Lambda) and deploy with -c lambdaConcurrencyQuota=<granted>`,
    );
}

/** The entity workers that decide TwinSpaces and groups, which one export holds across exports. */
const HOLDS_CONTAINERS: ReadonlySet<string> = new Set(['twinspace', 'group']);

export const FUNCTIONS: readonly FunctionSpec[] = [
  {
    name: 'validate',
    sizing: 'validate',
    env: FORGET_ENV,
    // A corrected export under a finished id replaces the earlier run: what withdrawal needs. The e-mail
    // key keys the export's credentials and addresses into the run's index for verify (core/forbidden),
    // written to the exports bucket's work area.
    // It cuts the kind files into pieces in the work area as it reads them; a start that fails deletes them,
    // and the index it put.
    grants: [
      readsExport,
      { table: 'read-write' },
      ...withdraws,
      { emailKeySecret: 'read' },
      writesWork,
      { delete: 'exports', prefix: PIECE_SETS },
      { delete: 'exports', prefix: FORBIDDEN_SETS },
    ],
    description: 'validates an uploaded export, cuts its kind files into pieces and opens the run',
  },
  {
    name: 'rollback',
    sizing: 'rollback',
    env: FORGET_ENV,
    grants: [
      readsExport,
      { table: 'read-write' },
      ...withdraws,
      // An erasure (ER-1): the account id is kept as a keyed hash; shared documents are rewritten without
      // it, and its receipts deleted.
      { emailKeySecret: 'read' },
      ...WITHDRAWABLE.filter((p) => p !== PREFIXES.links && p !== PREFIXES.stagedProfiles).map(
        (prefix): Grant => ({ put: 'migrated', prefix }),
      ),
      { delete: 'reports', prefix: RECEIPTS_PATTERN },
    ],
    description: "withdraws a wave's target by the runs' ledgers, or what an erased account has there",
  },
  {
    name: 'index-identities',
    sizing: 'index-identities',
    env: [...WORKFLOW_ENV, 'emailKeySecret', 'migratedBucket', 'reportsBucket', QUEUE_ENV.identities],
    grants: [
      readsExport,
      readsWork,
      writesWork,
      { table: 'read-write' },
      { stageTasks: 'answer' },
      { emailKeySecret: 'read' },
      // Its chunks of the export's accounts (e-mail addresses among them) once worked, pieces among them.
      ...chunkSets(['identify', 'link']).map((prefix): Grant => ({ delete: 'exports', prefix })),
      { delete: 'exports', prefix: PIECE_SETS },
      { put: 'migrated', prefix: PREFIXES.links },
      // ID-8 after the fact: a link a later export made ambiguous is taken back with its document.
      { delete: 'migrated', prefix: PREFIXES.links },
      // ID-3: the staged data of an SEG account that an eTwinning account supersedes is withdrawn, and
      // its receipts are told.
      { read: 'migrated', prefix: '' },
      { delete: 'migrated', prefix: PREFIXES.stagedProfiles },
      { read: 'reports', prefix: '' },
      { put: 'reports', prefix: '' },
    ],
    queue: { name: 'identities', batchSize: 1 },
    description:
      "indexes a chunk of the export's accounts, or links what they match (withdrawing superseded SEG data)",
  },
  {
    name: 'split',
    sizing: 'split',
    env: [...WORKFLOW_ENV, 'capacity', ...ENTITY_QUEUE_ENV],
    grants: [
      // It copies the pieces validate cut to the stage's chunks (no export file read). The report's
      // splits read the manifest (the run's results are keyed from its pieces, not listed).
      readsExport,
      readsWork,
      writesWork,
      // It writes a stage's expectation and reads which chunks are done already (a re-run sends only the rest).
      { table: 'read-write' },
      { entityQueues: 'send' },
    ],
    description: "puts a stage's chunks in place, a page at a time, and queues them",
  },
  {
    name: 'progress',
    sizing: 'progress',
    env: ['table', ...ENTITY_QUEUE_ENV],
    grants: [{ table: 'read-write' }, { entityQueues: 'attributes' }, { stageTasks: 'answer' }],
    description: "waits for a stage's last chunk (a task token), or sums its chunk markers",
  },
  {
    name: 'verify',
    sizing: 'verify',
    env: [...VERIFY_ENV, QUEUE_ENV.verify],
    // Verify reads the target back (documents, files' stored checksums) and records its partitions.
    grants: [
      readsExport,
      readsWork,
      writesWork,
      { read: 'migrated', prefix: '' },
      { table: 'read-write' },
      { stageTasks: 'answer' },
      // The rest of a range goes back to its own queue.
      { entityQueues: 'send', only: 'verify' },
      // A document that names an erased account is a problem (ER-1): found by keyed id; so is a value
      // that must never reach the target, by its key in the run's index (core/forbidden).
      { emailKeySecret: 'read' },
    ],
    queue: { name: 'verify', batchSize: 1 },
    description: "checks one partition of the run's target, a page at a time",
  },
  {
    name: 'report',
    sizing: 'report',
    env: [...REPORT_ENV, QUEUE_ENV.report],
    grants: [
      ...reportWork,
      { stageTasks: 'answer' },
      // The rest of a receipts partition's join goes back to its own queue.
      { entityQueues: 'send', only: 'report' },
      // The keyed ids of erased accounts (ER-1): their rows are read as erased, and they get no receipt.
      { emailKeySecret: 'read' },
    ],
    queue: { name: 'report', batchSize: 1 },
    description: "counts a part of the run's results, or writes one partition's receipts",
  },
  {
    name: 'summary',
    sizing: 'summary',
    env: [...REPORT_ENV],
    // The run's totals, a page of the parts' tallies merged per invocation (pipeline/tallies).
    grants: reportWork,
    description:
      "merges the parts' tallies a page at a time; writes summary.json, report.html, the run status",
  },
  {
    name: 'run-status',
    sizing: 'run-status',
    env: ['table'],
    grants: [{ table: 'write' }],
    description: 'records why a run failed',
  },
  ...ENTITIES.map(
    (entity): FunctionSpec => ({
      name: entity,
      sizing: 'worker',
      env: [...WORKFLOW_ENV, 'migratedBucket', 'reportsBucket', 'emailKeySecret', QUEUE_ENV[entity]],
      grants: [
        readsExport,
        readsWork,
        writesWork,
        // Its chunks once worked (the export's lines as they came), pieces among them.
        ...chunkSets(['index', 'decide']).map((prefix): Grant => ({ delete: 'exports', prefix })),
        { delete: 'exports', prefix: PIECE_SETS },
        { put: 'migrated', prefix: '' },
        { table: 'read-write' },
        { stageTasks: 'answer' },
        // Account chunks compare keyed e-mails (the profile worker's), and every worker's chunks the keyed
        // ids of erased accounts (ER-1).
        { emailKeySecret: 'read' },
        // ID-9 extended: a later export's TwinSpace or group withdraws an earlier export's copy of it
        // (document, items, files) and tells that export's receipts.
        ...(HOLDS_CONTAINERS.has(entity)
          ? ([
              { read: 'migrated', prefix: '' },
              { delete: 'migrated', prefix: entity === 'twinspace' ? '*/twinspaces/' : '*/groups/' },
              { read: 'reports', prefix: '' },
              { put: 'reports', prefix: '' },
            ] as const)
          : []),
      ],
      queue: { name: entity, batchSize: SIZING.workerBatchSize },
      description: `the ${entity} worker: decides its kinds' chunks`,
    }),
  ),
  {
    name: 'account-link',
    sizing: 'account-link',
    env: ['table', 'emailKeySecret', 'migratedBucket'],
    grants: [
      { table: 'read-write' },
      { emailKeySecret: 'read' },
      { put: 'migrated', prefix: PREFIXES.links },
    ],
    queue: { name: 'link', batchSize: SIZING.linkBatchSize },
    description: 'links ESEP registrations to legacy accounts',
  },
];
