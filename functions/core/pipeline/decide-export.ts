import { randomBytes } from 'node:crypto';
import type { ExportSource } from '../ports';
import { checkConservation, Tally } from '../report/summary';
import {
  type BlobStatus,
  type DecidedRecord,
  type DecisionContext,
  decideLine,
  indexEntries,
  namesFile,
  type ParentDecision,
  parentDecisionOf,
  parseLine,
  peopleOf,
  settleBlob,
  withAudienceOf,
  withPeopleOfDeletedSpace,
} from '../rules/decide';
import { NONE_ERASED } from '../rules/erasure';
import { emailKey } from '../rules/identity';
import { AUDIENCE_OF, givesAudience, isContainerKind, isHeldKind, type Kind, PARENTS } from '../rules/kinds';
import type { ValidatedExport } from '../rules/manifest';
import { readLines, sha256Of } from '../rules/ndjson';
import type { CompiledPolicy } from '../rules/policy';
import type { FileRef } from '../rules/schemas';
import { keptPeople } from './holders';
import type { IndexName, Step, WavePlan } from './stages';

/** Progress of a long pass: lines read so far of the step's kind file. */
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
}

const BLOB_CACHE_LIMIT = 50_000;

/**
 * Step 7's look-up, cached by hash: `blobs/<sha256>` present, and hashing to its name and to the
 * reference. One checker per export (the plan's reader, or a chunk worker on its export's prefix).
 */
export function blobChecker(source: ExportSource): (ref: FileRef) => Promise<BlobStatus> {
  const cache = new Map<string, BlobStatus>();
  return async (ref) => {
    const cached = cache.get(ref.sha256);
    if (cached) return cached;
    const bytes = await source.open(`blobs/${ref.sha256}`);
    const status: BlobStatus = !bytes
      ? 'missing'
      : (await sha256Of(bytes)) === ref.sha256
        ? 'ok'
        : 'mismatch';
    if (cache.size >= BLOB_CACHE_LIMIT) cache.clear();
    cache.set(ref.sha256, status);
    return status;
  };
}

/**
 * Runs the stage plan of the selected waves over a validated export, in memory, keeping only the
 * per-id indexes the rules need (ids of the kind being decided, the decisions of projects, groups and
 * accounts, the groups' activity, the eTwinning e-mails as short keyed hashes). Only this export is
 * seen: its accounts are the only ones indexed (a plan has no state). Returns the tally, conservation checked.
 */
export async function decideExport(options: DecideExportOptions): Promise<Tally> {
  const { source, validated, policy, waves, sink, onProgress } = options;
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
        .filter(([, from]) => isHeldKind(from.kind))
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
    const parents = new Map<Kind, Map<string, ParentDecision>>();
    /** The people of the records a later kind takes its audience from, of those it names only. */
    const audience = new Map<Kind, Map<string, string[]>>();
    const indexes: Record<IndexName, Set<string>> = {
      'group-activity': new Set(),
      'group-activity-unknown': new Set(),
      'etwinning-emails': new Set(),
    };
    const ctx: DecisionContext = {
      policy,
      parentStatus: (kind, id) => parents.get(kind)?.get(id) ?? 'absent',
      groupActivity: (groupId) =>
        indexes['group-activity'].has(groupId)
          ? 'active'
          : indexes['group-activity-unknown'].has(groupId)
            ? 'unknown'
            : 'inactive',
      hasEtwinningAccount: (email) => indexes['etwinning-emails'].has(shortKey(email)),
    };

    for (const stage of wave.stages) {
      for (const step of stage.steps) {
        const file = validated.files.get(step.kind);
        let lines = 0;
        const progress = (done: boolean) =>
          onProgress?.({ wave: wave.wave, stage: stage.id, step, lines, done });
        if (!file) {
          progress(true);
          continue;
        }
        const bytes = await source.open(file.path);
        if (!bytes) throw new Error(`${file.path} disappeared after validation`);
        const seen = new Set<string>();
        const claim = (id: string) => !seen.has(id) && seen.add(id) !== undefined;

        if (step.op === 'index') {
          for await (const line of readLines(bytes)) {
            if (++lines % every === 0) progress(false);
            if ('unreadable' in line) continue;
            const parsed = parseLine(line.text);
            const standing = parsed.ok && claim(parsed.id);
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
          const followed = isContainerKind(step.kind) ? new Map<string, ParentDecision>() : undefined;
          const named =
            givesAudience(step.kind) || isHeldKind(step.kind) ? await namedBy(step.kind) : undefined;
          const people = named && new Map<string, string[]>();
          const from = AUDIENCE_OF[step.kind];
          const peopleFrom = from && audience.get(from.kind);
          const parent = PARENTS[step.kind];
          const spacePeople = parent && isHeldKind(parent.kind) ? audience.get(parent.kind) : undefined;
          for await (const line of readLines(bytes)) {
            if (++lines % every === 0) progress(false);
            let stood = false;
            const decidedLine = decideLine(step.kind, wave.wave, file.path, line, ctx, (id) => {
              stood = claim(id);
              return stood;
            });
            const result = peopleFrom
              ? withAudienceOf(decidedLine, peopleFrom, NONE_ERASED)
              : spacePeople
                ? withPeopleOfDeletedSpace(decidedLine, spacePeople, NONE_ERASED)
                : decidedLine;
            const decided = result.needsBlob
              ? settleBlob(result, await blobStatus(result.needsBlob))
              : result.decided;
            if (stood) followed?.set(decided.id, parentDecisionOf(decided));
            // An event's people for its Learning Lab; a deleted space's for its items' files (as run keeps them).
            if (stood && named?.has(decided.id)) {
              const kept = isHeldKind(step.kind) ? keptPeople(step.kind, decided) : peopleOf(decided);
              if (kept) people?.set(decided.id, kept);
            }
            tally.add(decided);
            await sink(decided);
          }
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
