import type { ChunkCounts, ChunkMessage } from './pipeline/chunks';
import type { IndexName } from './pipeline/stages';
import type { Entity } from './pipeline/workers';
import type { Summary } from './report/summary';
import type { DecidedRecord, ParentDecision } from './rules/decide';
import type { Kind } from './rules/kinds';
import type { Decision } from './rules/reasons';

/** What the core needs from the world, implemented by the local file system and by S3. */
export interface ExportSource {
  /** The export's folder or prefix name; it must equal the manifest's exportId. */
  readonly name: string;
  /** The bytes of a file of the export (a path relative to it), or undefined when there is none. */
  open(path: string): Promise<AsyncIterable<Uint8Array> | undefined>;
}

/** A decision in the ledger: the record's decision and the line it came from (its occurrence). */
export type LedgerEntry = DecidedRecord & { readonly line: number };

/**
 * The pipeline's state (DynamoDB on AWS, dynalite locally). Every write is idempotent: deterministic keys
 * and conditional writes, no transactions, no counters that a retry could double.
 */
export interface PipelineStore {
  /** The decisions of followed records (projects, groups, accounts) by id (DQ-3, TS-3, GR-4, PR-7). */
  containerDecisions(scope: string, kind: Kind, ids: readonly string[]): Promise<Map<string, ParentDecision>>;
  putContainerDecisions(
    scope: string,
    kind: Kind,
    entries: readonly { id: string; decision: ParentDecision }[],
  ): Promise<void>;
  addToIndex(scope: string, index: IndexName, keys: readonly string[]): Promise<void>;
  inIndex(scope: string, index: IndexName, keys: readonly string[]): Promise<Set<string>>;
  /** The per-record decision ledger, keyed (export, kind, id, occurrence). */
  putDecisions(exportId: string, entries: readonly LedgerEntry[]): Promise<void>;
  /** Whether a chunk already recorded its marker (a redelivered message then has nothing to do). */
  hasChunkMarker(scope: string, stage: string, chunk: string): Promise<boolean>;
  /** Records a chunk's counts once; false when the marker was already there. */
  putChunkMarker(scope: string, stage: string, chunk: string, counts: ChunkCounts): Promise<boolean>;
  /** The sum of a stage's markers, and the ids of the chunks that recorded one. */
  stageProgress(
    scope: string,
    stage: string,
  ): Promise<{ chunks: number; counts: ChunkCounts; ids: string[] }>;
  /** How many chunks each step of a stage was cut into (by `<kind>.<op>`). */
  putStageExpectation(scope: string, stage: string, chunks: Readonly<Record<string, number>>): Promise<void>;
  stageExpectation(scope: string, stage: string): Promise<Readonly<Record<string, number>> | undefined>;
  putRunStatus(exportId: string, status: RunStatus): Promise<void>;
  /** Every run of an export (one per set of waves and policy), as last recorded. */
  runStatuses(exportId: string): Promise<RunStatus[]>;
  /** Every run of every export in the state, as last recorded (the status panel). */
  allRunStatuses(): Promise<(RunStatus & { readonly exportId: string })[]>;
  /** The decision of a record's standing line (its first occurrence) in the ledger. */
  decisionOf(exportId: string, kind: Kind, id: string): Promise<Decision | undefined>;
}

export interface RunStatus {
  readonly scope: string;
  readonly waves: readonly string[];
  readonly state:
    | 'running'
    | 'completed'
    | 'completed-with-quarantine'
    | 'incomplete'
    | 'verification-failed'
    | 'failed';
  readonly at: string;
  readonly error?: string;
  /** When the run started (its status at the start has `at` = `startedAt`). */
  readonly startedAt?: string;
  /** Set when the run wrote its report: its decisions, whether its target passed verification, where. */
  readonly counts?: { readonly migrated: number; readonly dropped: number; readonly quarantined: number };
  readonly verified?: boolean | null;
  readonly reportPrefix?: string;
}

/** Objects of the buckets: exports (with the working area), migrated, reports. */
export interface ObjectStore {
  get(bucket: string, key: string): Promise<AsyncIterable<Uint8Array> | undefined>;
  getText(bucket: string, key: string): Promise<string | undefined>;
  put(bucket: string, key: string, body: string | Uint8Array, contentType?: string): Promise<void>;
  /** Server-side copy. */
  copy(fromBucket: string, fromKey: string, toBucket: string, toKey: string): Promise<void>;
  /** Keys under a prefix in order; with `page`, at most `max` keys after `startAfter`. */
  list(bucket: string, prefix: string, page?: { startAfter?: string; max: number }): Promise<string[]>;
}

/** Sends chunk messages to the queue of an entity worker. */
export type ChunkQueue = (entity: Entity, messages: readonly ChunkMessage[]) => Promise<void>;

/** A sink for the report's records and its summary (a folder, then uploaded on AWS). */
export interface ReportSink {
  add(record: DecidedRecord): void | Promise<void>;
  finish(summary: Summary): Promise<number>;
}

/** The identity index and the links (rules ID-2 to ID-8): keyed hashes of e-mails, never an e-mail. */
export interface IdentityEntry {
  readonly key: string;
  readonly platform: 'etwinning' | 'seg';
  readonly accountId: string;
}

export type LinkReason = 'LINKED' | 'NO_LEGACY_MATCH' | 'AMBIGUOUS_LEGACY_EMAIL' | 'LINK_FROZEN';

export interface LinkOutcome {
  readonly esepUserId: string;
  readonly decision: 'linked' | 'not-linked';
  readonly reason: LinkReason;
  readonly legacyAccountId?: string;
}

export interface IdentityStore {
  putIdentities(entries: readonly IdentityEntry[]): Promise<void>;
  /** The distinct legacy accounts indexed under a key. */
  lookup(key: string): Promise<IdentityEntry[]>;
  /** The first registration's outcome for a user, if any (ID-4: it decides for ever). */
  linkOf(esepUserId: string): Promise<LinkOutcome | undefined>;
  /** Claims a legacy account for a user; false when another user holds it. */
  claimLegacy(accountId: string, esepUserId: string): Promise<boolean>;
  releaseLegacy(accountId: string, esepUserId: string): Promise<void>;
  /** Records a user's outcome once; false when one was recorded first. */
  putLink(outcome: LinkOutcome & { registeredAt: string }): Promise<boolean>;
}
