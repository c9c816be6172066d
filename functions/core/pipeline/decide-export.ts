import { randomBytes } from 'node:crypto';
import { IdTable } from '../id-table';
import type { ContainerHolder, ExportSource, HeldKind, IdentityStore, PipelineStore } from '../ports';
import { checkConservation, Tally } from '../report/summary';
import {
  type BlobStatus,
  type DecidedRecord,
  type DecisionContext,
  decideLine,
  indexEntries,
  namesFile,
  type ParentDecision,
  type ParentStatus,
  parentDecisionOf,
  parseLine,
  peopleOf,
  settleBlob,
  withAudienceOf,
  withPeopleOfDeletedSpace,
} from '../rules/decide';
import { erasedNow, type IsErased, isErasedRecord, NONE_ERASED } from '../rules/erasure';
import { emailKey } from '../rules/identity';
import {
  AUDIENCE_OF,
  givesAudience,
  isContainerKind,
  isHeldKind,
  isSpaceKind,
  type Kind,
  PARENTS,
} from '../rules/kinds';
import { accountsElsewhere } from '../rules/linking';
import type { ValidatedExport } from '../rules/manifest';
import { type Line, readLines, sha256OfSize } from '../rules/ndjson';
import type { CompiledPolicy } from '../rules/policy';
import type { FileRef } from '../rules/schemas';
import { keptPeople, laterThan, platformsOf, statusForChild } from './holders';
import type { IndexName, Step, WavePlan } from './stages';

/** Progress of a long pass: a step begun, lines read so far of its kind file, and the step done. */
export interface ProgressEvent {
  readonly wave: string;
  readonly stage: string;
  readonly step: Step;
  readonly lines: number;
  readonly done: boolean;
}

export interface DecideExportOptions {
  readonly source: ExportSource;
  readonly validated: ValidatedExport;
  readonly policy: CompiledPolicy;
  readonly waves: readonly WavePlan[];
  /** Receives every decision, in stage order and file order; awaited (back-pressure). */
  readonly sink: (record: DecidedRecord) => void | Promise<void>;
  readonly onProgress?: (event: ProgressEvent) => void;
  /** Lines between progress events. */
  readonly progressEvery?: number;
  /** How many index entries each line of an index step gave (the AWS estimate's index writes). */
  readonly onIndexed?: (kind: Kind, entries: number) => void;
  /** What a state holding other exports knows (`plan --state`); without it, this export alone is seen. */
  readonly elsewhere?: Elsewhere;
}

/**
 * What a state that holds other exports knows, read by `plan` so that it decides as `run` would decide in
 * that state: the accounts of other exports (a record's owner, PR-7; an eTwinning account superseding an
 * SEG one, ID-3), the accounts, TwinSpaces, groups and events a later export holds (ID-9) and the
 * erasures (ER-1).
 */
export interface Elsewhere {
  /** Standing accounts of any export by id: migrated, or superseded (an SEG account with an eTwinning twin). */
  accounts(ids: readonly string[]): Promise<ReadonlyMap<string, 'migrated' | 'superseded'>>;
  /** Which of these e-mails a standing eTwinning account of any export has. */
  etwinningEmails(emails: readonly string[]): Promise<ReadonlySet<string>>;
  /**
   * The ids of these accounts (with the platform of each id's line), TwinSpaces, groups or events that a
   * later export than this one holds, with that export's holder.
   */
  laterHolding(
    kind: HeldKind,
    ids: readonly string[],
    platforms?: ReadonlyMap<string, string>,
  ): Promise<ReadonlyMap<string, ContainerHolder>>;
  readonly isErased: IsErased;
}

/** A state's `Elsewhere` for an export (`me`): read from its table alone, never written. */
export async function elsewhereIn(
  state: { readonly store: PipelineStore; readonly identities: IdentityStore; secret(): Promise<string> },
  me: ContainerHolder,
): Promise<Elsewhere> {
  const known = accountsElsewhere(state.identities);
  const secret = await state.secret();
  return {
    accounts: known.accounts,
    etwinningEmails: async (emails) => {
      const keyed = new Map(emails.map((e) => [emailKey(secret, e), e]));
      const found = await known.etwinningKeys([...keyed.keys()]);
      return new Set([...found].map((k) => keyed.get(k) as string));
    },
    laterHolding: async (kind, ids, platforms) =>
      laterThan(await state.store.containerHolders(kind, ids), me, platforms),
    isErased: await erasedNow(state.identities, state.secret),
  };
}

/** Lines decided together when a state is asked (plan --state): what it knows of them is read once. */
const ELSEWHERE_BATCH = { lines: 500, bytes: 8 * 1024 * 1024 };

/** The distinct non-empty strings among some field values (the ids a batch of lines names). */
export const distinctIds = (values: unknown[]): string[] => [
  ...new Set(values.filter((v): v is string => typeof v === 'string' && v !== '')),
];

const BLOB_CACHE_LIMIT = 50_000;

/** What a followed record's decision may be (the values of the waves' compact tables of them). */
const PARENT_DECISIONS = Object.keys({
  migrated: true,
  dropped: true,
  quarantined: true,
  superseded: true,
  later: true,
} satisfies Record<ParentDecision, true>) as ParentDecision[];

/**
 * Step 7's look-up, cached by hash and size: `blobs/<sha256>` present, of the reference's size, and
 * hashing to its name and to the reference. A blob is read only as far as its declared size (and a byte
 * over), so that a record's check costs what its line declares, which its chunk was cut by
 * (PARTITIONING.chunkFileBytes), whatever the blob holds. One checker per export (the plan's reader, or a
 * chunk worker on its export's prefix).
 */
export function blobChecker(source: ExportSource): (ref: FileRef) => Promise<BlobStatus> {
  const cache = new Map<string, BlobStatus>();
  return async (ref) => {
    const key = `${ref.sha256}:${ref.size}`;
    const cached = cache.get(key);
    if (cached) return cached;
    const bytes = await source.open(`blobs/${ref.sha256}`);
    const read = bytes ? await sha256OfSize(bytes, ref.size) : undefined;
    const status: BlobStatus = !read
      ? 'missing'
      : 'length' in read
        ? 'size'
        : read.sha256 === ref.sha256
          ? 'ok'
          : 'mismatch';
    if (cache.size >= BLOB_CACHE_LIMIT) cache.clear();
    cache.set(key, status);
    return status;
  };
}

/**
 * Runs the stage plan of the selected waves over a validated export, in memory, keeping only the
 * per-id indexes the rules need (ids of the kind being decided, the decisions of projects, groups and
 * accounts, the groups' activity, the eTwinning e-mails as short keyed hashes). Only this export is
 * seen, and what `elsewhere` says of the others. Returns the tally, conservation checked.
 */
export async function decideExport(options: DecideExportOptions): Promise<Tally> {
  const { source, validated, policy, waves, sink, onProgress, elsewhere } = options;
  const isErased = elsewhere?.isErased ?? NONE_ERASED;
  const every = options.progressEvery ?? 10_000;
  const tally = new Tally(waves.flatMap((w) => w.kinds));
  const blobStatus = blobChecker(source);
  const secret = randomBytes(32);
  const shortKey = (email: string) => emailKey(secret, email).slice(0, 24);

  /**
   * The ids whose people a later kind takes: the events a Learning Lab names (AUDIENCE_OF), the TwinSpaces
   * and groups an item with a file names (offered its file when the space is deleted).
   */
  const namedBy = async (of: Kind): Promise<Set<string>> => {
    const ids = new Set<string>();
    const takers = [
      ...(Object.entries(AUDIENCE_OF) as [Kind, { kind: Kind; field: string }][]).map(([kind, from]) => ({
        kind,
        from,
        withFile: false,
      })),
      ...(Object.entries(PARENTS) as [Kind, { kind: Kind; field: string }][])
        .filter(([, from]) => isSpaceKind(from.kind))
        .map(([kind, from]) => ({ kind, from, withFile: true })),
    ];
    for (const { kind, from, withFile } of takers) {
      const file = from.kind === of ? validated.files.get(kind) : undefined;
      const bytes = file && (await source.open(file.path));
      if (!bytes) continue;
      for await (const line of readLines(bytes)) {
        const parsed = 'unreadable' in line ? undefined : parseLine(line.text);
        if (!parsed?.ok || (withFile && !namesFile(parsed.raw))) continue;
        const id = parsed.raw[from.field];
        if (typeof id === 'string') ids.add(id);
      }
    }
    return ids;
  };
  for (const wave of waves) {
    /** What became of each standing line of the kinds that others follow (projects, groups, accounts). */
    const parents = new Map<Kind, IdTable<ParentDecision>>();
    /** The people of the records a later kind takes its audience from, of those it names only. */
    const audience = new Map<Kind, Map<string, string[]>>();
    const indexes: Record<IndexName, IdTable> = {
      'group-activity': new IdTable(),
      'group-activity-unknown': new IdTable(),
      'etwinning-emails': new IdTable(),
    };
    /** What the state knows of the lines being decided (`elsewhere`), read a batch at a time. */
    const outside = {
      accounts: new Map<string, ParentDecision>() as ReadonlyMap<string, ParentDecision>,
      etwinning: new Set<string>() as ReadonlySet<string>,
      later: new Map<string, ContainerHolder>() as ReadonlyMap<string, ContainerHolder>,
      /** The accounts a later export holds, as the batch's kind reads them (statusForChild). */
      heldLater: new Map<string, ParentStatus>() as ReadonlyMap<string, ParentStatus>,
    };
    const ctx: DecisionContext = {
      policy,
      parentStatus: (kind, id) =>
        (kind === 'accounts' ? outside.heldLater.get(id) : undefined) ??
        parents.get(kind)?.get(id) ??
        (kind === 'accounts' ? outside.accounts.get(id) : undefined) ??
        'absent',
      groupActivity: (groupId) =>
        indexes['group-activity'].has(groupId)
          ? 'active'
          : indexes['group-activity-unknown'].has(groupId)
            ? 'unknown'
            : 'inactive',
      hasEtwinningAccount: (email) =>
        indexes['etwinning-emails'].has(shortKey(email)) || outside.etwinning.has(email),
      laterExportHolding: (_kind, id) => outside.later.get(id)?.exportId,
      isErased,
    };
    /** Reads what the state knows of a batch of lines of `kind`, as a run's chunk reads it. */
    const lookOutside = async (kind: Kind, batch: readonly Line[]) => {
      if (!elsewhere) return;
      const raws = batch.flatMap((l) => {
        const p = 'unreadable' in l ? undefined : parseLine(l.text);
        return p?.ok ? [p.raw] : [];
      });
      const parent = PARENTS[kind];
      if (parent?.kind === 'accounts') {
        const own = parents.get('accounts');
        const ids = distinctIds(raws.map((r) => r[parent.field]));
        const missing = ids.filter((id) => !own?.has(id));
        outside.accounts = missing.length > 0 ? await elsewhere.accounts(missing) : new Map();
        // An account a later export holds gives its records of the kinds that export carries (ID-9).
        const later = ids.filter((id) => own?.get(id) === 'later');
        const holders = later.length > 0 ? await elsewhere.laterHolding('accounts', later) : new Map();
        outside.heldLater = new Map(later.map((id) => [id, statusForChild('later', kind, holders.get(id))]));
      }
      if (kind === 'accounts')
        outside.etwinning = await elsewhere.etwinningEmails(
          distinctIds(raws.filter((r) => r.platform === 'seg').map((r) => r.email)),
        );
      if (isHeldKind(kind))
        outside.later = await elsewhere.laterHolding(
          kind,
          distinctIds(raws.map((r) => r.id)),
          kind === 'accounts' ? platformsOf(raws) : undefined,
        );
    };

    for (const stage of wave.stages) {
      for (const step of stage.steps) {
        const file = validated.files.get(step.kind);
        let lines = 0;
        const progress = (done: boolean) =>
          onProgress?.({ wave: wave.wave, stage: stage.id, step, lines, done });
        // The step begins (a progress display names it before its first lines are counted).
        progress(false);
        if (!file) {
          progress(true);
          continue;
        }
        const bytes = await source.open(file.path);
        if (!bytes) throw new Error(`${file.path} disappeared after validation`);
        const seen = new IdTable();
        const claim = (id: string) => seen.add(id);

        if (step.op === 'index') {
          for await (const line of readLines(bytes)) {
            if (++lines % every === 0) progress(false);
            if ('unreadable' in line) continue;
            const parsed = parseLine(line.text);
            const standing = parsed.ok && claim(parsed.id);
            // An erased account's line adds to no index (ER-1), as in a run.
            if (parsed.raw && isErasedRecord(step.kind, parsed.raw, isErased)) continue;
            let entries = 0;
            for (const [index, key] of indexEntries(
              step.index,
              step.kind,
              parsed,
              standing,
              policy,
              shortKey,
            )) {
              indexes[index].add(key);
              entries++;
            }
            options.onIndexed?.(step.kind, entries);
          }
        } else {
          const followed = isContainerKind(step.kind)
            ? new IdTable<ParentDecision>(PARENT_DECISIONS)
            : undefined;
          const named =
            givesAudience(step.kind) || isSpaceKind(step.kind) ? await namedBy(step.kind) : undefined;
          const people = named && new Map<string, string[]>();
          const from = AUDIENCE_OF[step.kind];
          const peopleFrom = from && audience.get(from.kind);
          const parent = PARENTS[step.kind];
          const spacePeople = parent && isSpaceKind(parent.kind) ? audience.get(parent.kind) : undefined;
          const batch: Line[] = [];
          const decideOne = async (line: Line) => {
            let stood = false;
            const decidedLine = decideLine(step.kind, wave.wave, file.path, line, ctx, (id) => {
              stood = claim(id);
              return stood;
            });
            const result = peopleFrom
              ? withAudienceOf(decidedLine, peopleFrom, isErased)
              : spacePeople
                ? withPeopleOfDeletedSpace(decidedLine, spacePeople, isErased)
                : decidedLine;
            const decided = result.needsBlob
              ? settleBlob(result, await blobStatus(result.needsBlob))
              : result.decided;
            if (stood) followed?.set(decided.id, parentDecisionOf(decided));
            // An event's people for its Learning Lab; a deleted space's for its items' files (as run keeps them).
            if (stood && named?.has(decided.id)) {
              const kept = isSpaceKind(step.kind) ? keptPeople(step.kind, decided) : peopleOf(decided);
              if (kept) people?.set(decided.id, kept);
            }
            tally.add(decided);
            await sink(decided);
          };
          const decideBatch = async () => {
            await lookOutside(step.kind, batch);
            for (const line of batch) await decideOne(line);
            batch.length = 0;
          };
          // A line at a time, or with a state to ask, a batch bounded in lines and bytes (a line may be huge).
          let batchBytes = 0;
          for await (const line of readLines(bytes)) {
            if (++lines % every === 0) progress(false);
            batch.push(line);
            batchBytes += 'text' in line ? line.text.length : 0;
            if (!elsewhere || batch.length >= ELSEWHERE_BATCH.lines || batchBytes >= ELSEWHERE_BATCH.bytes) {
              await decideBatch();
              batchBytes = 0;
            }
          }
          await decideBatch();
          if (followed) parents.set(step.kind, followed);
          if (people) audience.set(step.kind, people);
        }
        progress(true);
      }
    }
  }
  const expected = new Map<Kind, number>();
  for (const wave of waves) {
    for (const kind of wave.kinds) {
      const file = validated.files.get(kind);
      expected.set(kind, file ? file.records : 0);
    }
  }
  checkConservation(tally.counts, expected);
  return tally;
}
