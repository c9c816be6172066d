import type { ChunkCounts } from './pipeline/chunks';
import type { IndexName } from './pipeline/stages';
import type { Queued } from './pipeline/workers';
import type { ParentDecision } from './rules/decide';
import type { Erasure } from './rules/erasure';
import type { HeldKind, Kind, SpaceKind } from './rules/kinds';

export type { HeldKind } from './rules/kinds';

/** What the core needs from the world, implemented by the local file system and by S3. */
export interface ExportSource {
  /** The export's folder or prefix name; it must equal the manifest's exportId. */
  readonly name: string;
  /** The bytes of a file of the export (a path relative to it), or undefined when there is none. */
  open(path: string): Promise<AsyncIterable<Uint8Array> | undefined>;
}

/**
 * The pipeline's state (DynamoDB on AWS, dynalite locally). Every write is idempotent: deterministic keys
 * and conditional writes, no transactions, no counters that a retry could double.
 */
export interface PipelineStore {
  /**
   * The decisions of followed records (projects, groups, accounts) by id (DQ-3, TS-3, GR-4, PR-7); a
   * TwinSpace's or group's is kept with its holder across exports (`decideHeld`).
   */
  containerDecisions(scope: string, kind: Kind, ids: readonly string[]): Promise<Map<string, ParentDecision>>;
  putContainerDecisions(
    scope: string,
    kind: Kind,
    entries: readonly { id: string; decision: ParentDecision }[],
  ): Promise<void>;
  /**
   * The people a run recorded with its decision of each of these TwinSpaces or groups (`decideHeld`):
   * those of a deleted one, whose items' files they are offered (FAQ eTwinning 9, 11).
   */
  heldPeople(scope: string, kind: SpaceKind, ids: readonly string[]): Promise<Map<string, string[]>>;
  /** ER-1: takes an erased account out of the people a run kept of a TwinSpace or group (`decideHeld`). */
  unlistHeldPerson(scope: string, kind: SpaceKind, id: string, accountId: string): Promise<void>;
  /** Which export holds each of these accounts, TwinSpaces or groups across exports (ID-9), by id. */
  containerHolders(kind: HeldKind, ids: readonly string[]): Promise<Map<string, ContainerHolder>>;
  /**
   * Records a TwinSpace's or group's decision in a run (what `containerDecisions` answers for it) and,
   * with `hold`, makes that run's export its holder over the one read (`expected`, undefined: none), in
   * one write; false when the holder changed meanwhile (then nothing is written).
   */
  decideHeld(
    kind: HeldKind,
    id: string,
    decided: {
      readonly scope: string;
      readonly decision: ParentDecision;
      /** A deleted TwinSpace's or group's people (at most HELD_PEOPLE), offered its items' files. */
      readonly people?: readonly string[];
    },
    hold?: { readonly holder: ContainerHolder; readonly expected: ContainerHolder | undefined },
  ): Promise<boolean>;
  /**
   * PR-7 across exports: records held as `ORPHAN_RECORD` because no export held their owner account yet,
   * by owner: the chunks that decided them (a chunk is decided again when its owner arrives).
   */
  awaitOwners(entries: readonly { owner: string; chunk: ChunkRef }[]): Promise<void>;
  /** The chunks awaiting each of these owners (nothing is read when no record awaits any owner). */
  awaitedChunks(owners: readonly string[]): Promise<Map<string, ChunkRef[]>>;
  /** Forgets an owner's awaiting chunks (their markers are forgotten first, so they are decided again). */
  stopAwaiting(owner: string): Promise<void>;
  /** Forgets one chunk's marker: the stage's next run decides that chunk again. */
  forgetChunk(chunk: ChunkRef): Promise<void>;
  addToIndex(scope: string, index: IndexName, keys: readonly string[]): Promise<void>;
  inIndex(scope: string, index: IndexName, keys: readonly string[]): Promise<Set<string>>;
  /** Whether a chunk already recorded its marker (a redelivered message then has nothing to do). */
  hasChunkMarker(scope: string, stage: string, chunk: string): Promise<boolean>;
  /** The chunks of a stage from `first` to `last` (chunk ids, in order) that recorded their marker. */
  chunkMarkersBetween(scope: string, stage: string, first: string, last: string): Promise<string[]>;
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
  /**
   * Counts one more chunk of a stage as done, with its counts (one request: the stage's count is read in
   * O(1), never by summing its markers): the count so far, the chunks the stage expects, and the token of
   * the workflow's task waiting for the stage, if one waits. Without counts, the chunk had recorded its
   * marker before (a redelivery, a worker that stopped between its marker and its count): it is counted
   * again and the count is `uncertain` from then on. So is a count whose request was sent more than once
   * (a retry after a reply lost: it may have landed twice), and one whose stage forgot a marker. An
   * uncertain count may run ahead of the markers, and the markers decide; a certain one is exact.
   */
  countChunk(scope: string, stage: string, counts?: ChunkCounts): Promise<StageCount>;
  /** A stage's count as `countChunk` answers it, without counting (expected Infinity before its split). */
  stageCount(scope: string, stage: string): Promise<StageCount>;
  /** Records the token of the workflow's task that waits for a stage to end (Step Functions' task token). */
  awaitStage(scope: string, stage: string, token: string): Promise<void>;
  putRunStatus(exportId: string, status: RunStatus): Promise<void>;
  /** Every run of an export (one per set of waves and policy), as last recorded. */
  runStatuses(exportId: string): Promise<RunStatus[]>;
  /** Every run of every export in the state, as last recorded (the status panel). */
  allRunStatuses(): Promise<(RunStatus & { readonly exportId: string })[]>;
  /**
   * Takes an export's run lock for an execution: true when taken (or already this execution's, or the
   * holder's is older than `staleBefore`), else the execution that holds it.
   */
  lockRun(exportId: string, holder: RunLock, staleBefore: string): Promise<true | RunLock>;
  /** Gives an export's run lock back (only the execution that holds it can; any, without one). */
  unlockRun(exportId: string, executionId?: string): Promise<void>;
  /** Every run lock held, by export. */
  runLocks(): Promise<(RunLock & { readonly exportId: string })[]>;
  /** Records withdrawals from the target (by record), in a run's ledger (its scope). */
  putWithdrawals(scope: string, entries: readonly Withdrawal[]): Promise<void>;
  /** Every withdrawal recorded for a run's scope. */
  withdrawals(scope: string): Promise<Withdrawal[]>;
  /** Forgets withdrawals that no longer describe the target (their wave ran again). */
  removeWithdrawals(scope: string, entries: readonly Withdrawal[]): Promise<void>;
  /**
   * Forgets a stage's chunk markers and their count (a rolled-back wave runs again); only markers the
   * pipeline wrote.
   */
  clearChunkMarkers(scope: string, stage: string): Promise<void>;
}

/** A stage's chunks counted done so far, those it expects, and who waits for it. */
export interface StageCount {
  readonly done: number;
  readonly expected: number;
  readonly token?: string;
  /** Lines of the chunks counted. */
  readonly lines: number;
  /** The count may differ from the markers (ports `countChunk`): the markers decide. */
  readonly uncertain?: true;
}

/** Answers the workflow's task that waits for a stage (Step Functions' SendTaskSuccess). */
export interface StageTasks {
  /** Ends the wait with this output; a token that no longer waits (timed out, answered) is no error. */
  succeed(token: string, output: object): Promise<void>;
}

/** Which execution runs an export, since when. */
export interface RunLock {
  readonly executionId: string;
  readonly at: string;
}

/** A record withdrawn from the target: why, when, and how many of its objects were deleted. */
export interface Withdrawal {
  readonly kind: Kind;
  readonly id: string;
  /**
   * A withdrawal's own reasons, or the decision the record would have had if its run had come after
   * what withdrew it (a later export took its TwinSpace or group: the same end state in either order).
   */
  readonly reason:
    | 'SEG_SUPERSEDED'
    | 'ROLLED_BACK'
    | 'REPLACED'
    | 'ERASED'
    | 'IN_LATER_EXPORT'
    | 'PARENT_NOT_MIGRATED';
  readonly at: string;
  readonly objects: number;
  readonly wave?: string;
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
    | 'failed'
    | 'rolled-back';
  readonly at: string;
  readonly error?: string;
  /** When the run started (its status at the start has `at` = `startedAt`). */
  readonly startedAt?: string;
  /** When the export's content first ran these waves (kept by every run again). */
  readonly firstStartedAt?: string;
  /** Set when the run wrote its report: its decisions, whether its target passed verification, where. */
  readonly counts?: { readonly migrated: number; readonly dropped: number; readonly quarantined: number };
  readonly verified?: boolean | null;
  readonly reportPrefix?: string;
  /** The export's files as this run read them (path → SHA-256): a changed export is told from it. */
  readonly files?: Readonly<Record<string, string>>;
  /** Waves of this run withdrawn from the target again (rollback, replaced export), and why. */
  readonly rolledBackWaves?: readonly string[];
  readonly withdrawnBecause?: Withdrawal['reason'];
  /** On a rolled-back wave's own row: how many records were withdrawn. */
  readonly withdrawn?: number;
}

/** Objects of the buckets: exports (with the working area), migrated, reports. */
export interface ObjectStore {
  get(bucket: string, key: string): Promise<AsyncIterable<Uint8Array> | undefined>;
  getText(bucket: string, key: string): Promise<string | undefined>;
  put(bucket: string, key: string, body: string | Uint8Array, contentType?: string): Promise<void>;
  /** Deletes one object (only ever one the pipeline wrote: a withdrawal, by its ledger). */
  delete(bucket: string, key: string): Promise<void>;
  /** Server-side copy. */
  copy(fromBucket: string, fromKey: string, toBucket: string, toKey: string): Promise<void>;
  /** Keys under a prefix in order; with `page`, at most `max` keys after `startAfter`. */
  list(bucket: string, prefix: string, page?: { startAfter?: string; max: number }): Promise<string[]>;
  /**
   * The SHA-256 (hex) that the store keeps with an object, without reading it (S3: the checksum that
   * `copy` and `put` ask it to keep); `exists: false` for a missing object, no `sha256` when the store
   * keeps none for it (then the caller hashes the bytes).
   */
  storedSha256(bucket: string, key: string): Promise<{ exists: boolean; sha256?: string }>;
}

/** Sends messages to the queue of a queued function (an entity worker, report parts, verify partitions). */
export type ChunkQueue = (worker: Queued, messages: readonly object[]) => Promise<void>;

/** The legacy platforms. */
export type Platform = 'etwinning' | 'seg';

/** One chunk of one stage of one run (its marker's place). */
export interface ChunkRef {
  readonly scope: string;
  readonly stage: string;
  readonly chunk: string;
}

/**
 * The export that holds a TwinSpace or group across exports: the latest (by `exportedAt`, then export
 * id) whose standing, schema-valid line has it, and the earlier exports whose staged copies it withdraws.
 */
export interface ContainerHolder {
  readonly exportId: string;
  /** `exportedAt` as epoch milliseconds (offsets compared as instants). */
  readonly exportedMs: number;
  readonly replaced?: readonly string[];
  /** An account's holder: the kinds its export carries (its records of those kinds replace earlier ones). */
  readonly kinds?: readonly Kind[];
  /** An account's holder: the account's platform (an id is an account's only with its platform, ID-9). */
  readonly platform?: string;
  /** The decision of each run (scope) that decided it, read back with the holder. */
  readonly decisions?: Readonly<Record<string, ParentDecision>>;
}

/** A legacy account across exports (ID-9): its platform and id. */
export interface AccountRef {
  readonly platform: Platform;
  readonly accountId: string;
}

/** What the identity index holds of a standing account: as the latest export that holds it has it. */
export interface IndexedAccount extends AccountRef {
  readonly exportId: string;
  readonly exportedAt: string;
  /** The keyed hash of its normalised e-mail (ID-5): never the e-mail. */
  readonly emailKey: string;
  /** The export that brought a changed e-mail for this account, if one did (LEGACY_EMAIL_CHANGED). */
  readonly emailChangedIn?: string;
  /**
   * The export whose corrected content (`run --replace`) no longer holds this account: it stands in no
   * export until one holds it again (ID-9). Kept, not deleted, so that the e-mail it had is still known.
   */
  readonly withdrawnIn?: string;
}

/** A user's link as the state keeps it (ID-4): the first registration's keyed e-mail decides for ever. */
export interface UserLink {
  readonly esepUserId: string;
  readonly state: 'linked' | 'pending';
  readonly reason: 'LINKED' | 'RELINKED' | 'LINK_PENDING' | 'AMBIGUOUS_LEGACY_EMAIL';
  readonly emailKey: string;
  readonly registeredAt: string;
  readonly account?: AccountRef;
  /** Written only over the version it was read at (concurrent deliveries). */
  readonly version: number;
  /** A link made by hand by the support desk (ID-8): who, when, why. */
  readonly audit?: { readonly by: string; readonly at: string; readonly why: string };
}

export type LinkReason = UserLink['reason'] | 'LINK_FROZEN';

/** What `register` prints (outputs.md). */
export interface LinkOutcome {
  readonly esepUserId: string;
  readonly decision: 'linked' | 'not-linked';
  readonly reason: LinkReason;
  readonly legacyAccountId?: string;
  readonly platform?: Platform;
  readonly exportId?: string;
}

/**
 * The identity index and the links (rules ID-2 to ID-9), outliving every run (ID-6): keyed hashes of
 * e-mails, never an e-mail. Primitive, conditional operations; the rules are in core/rules/linking.
 */
export interface IdentityStore {
  /** The indexed accounts among `refs`, by `platform#id`. */
  accounts(refs: readonly AccountRef[]): Promise<Map<string, IndexedAccount>>;
  /** Writes an account over the one read (`expected`, undefined: none); false when it changed meanwhile. */
  putAccount(account: IndexedAccount, expected: IndexedAccount | undefined): Promise<boolean>;
  /** The accounts ever indexed under a keyed e-mail (check their current e-mail with `accounts`). */
  withEmail(emailKey: string): Promise<AccountRef[]>;
  putEmailEntries(
    entries: readonly { readonly emailKey: string; readonly account: AccountRef }[],
  ): Promise<void>;
  userLink(esepUserId: string): Promise<UserLink | undefined>;
  /** Writes a user's link over the version read (`expected`, undefined: none yet); false otherwise. */
  putUserLink(link: UserLink, expected: number | undefined): Promise<boolean>;
  /** The user that holds an account, if any. */
  holderOf(account: AccountRef): Promise<string | undefined>;
  /** Claims an account for a user; false when another user holds it. */
  claim(account: AccountRef, esepUserId: string): Promise<boolean>;
  release(account: AccountRef, esepUserId: string): Promise<void>;
  /** The users whose first registration waits under a keyed e-mail. */
  pending(emailKey: string): Promise<string[]>;
  addPending(emailKey: string, esepUserId: string): Promise<void>;
  removePending(emailKey: string, esepUserId: string): Promise<void>;
  /** ER-1: records an erasure under its keyed hash once; the one recorded (an earlier one stands). */
  erase(key: string, erasure: Erasure): Promise<Erasure>;
  /** Every erasure, by its keyed hash (a few: one per request, never per record). */
  erasures(): Promise<Map<string, Erasure>>;
}
