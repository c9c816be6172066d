import { eachLimited } from '../concurrency';
import { HolderChangedError } from '../errors';
import type { ContainerHolder, HeldKind, PipelineStore } from '../ports';
import {
  type DecidedRecord,
  type ParentDecision,
  type ParentStatus,
  parentDecisionOf,
  peopleOf,
} from '../rules/decide';
import { isSpaceKind, type Kind } from '../rules/kinds';

/**
 * ID-9, for accounts and extended to TwinSpaces, groups and events (docs/support-desk.md): an account,
 * project, group or event that several exports hold (a corrected re-export under a new id) is migrated as
 * the latest export (by `exportedAt`, then export id) has it, whatever order the exports run in. An earlier export's line is
 * decided `IN_LATER_EXPORT`; a later export that meets a copy an earlier one staged withdraws that copy.
 */

/**
 * The people of a deleted TwinSpace or group kept with its decision (ids of up to 512 bytes: at most
 * ~51 KB of the holder's 400 KB item), offered its items' files on their receipts (FAQ eTwinning 9, 11).
 * A space with more: the first this many are offered the files; every member is still told it is deleted.
 */
export const HELD_PEOPLE = 100;

/**
 * The people a run keeps with a decided record: a deleted TwinSpace's or group's (its first HELD_PEOPLE);
 * undefined for any other record. `run`, `plan` and `forget` ask it alike.
 */
export function keptPeople(
  kind: Kind,
  d: Pick<DecidedRecord, 'decision' | 'reason' | 'owners' | 'members'>,
): string[] | undefined {
  return isSpaceKind(kind) && parentDecisionOf(d) === 'dropped'
    ? peopleOf(d).slice(0, HELD_PEOPLE)
    : undefined;
}

/** Whether holder `a` is a later export than `b`. */
export const isLater = (a: ContainerHolder, b: ContainerHolder): boolean =>
  a.exportedMs > b.exportedMs || (a.exportedMs === b.exportedMs && a.exportId > b.exportId);

/**
 * Whether a holder holds the same record as `me`: an account's holder only the account of its platform
 * (an SEG and an eTwinning account may share an id; neither holds the other).
 */
const sameRecord = (h: ContainerHolder, me: ContainerHolder) =>
  h.platform === undefined || me.platform === undefined || h.platform === me.platform;

/**
 * Of the current holders of some ids, those that are a later export than `me` (with the platform of each
 * id, for accounts): id -> that holder.
 */
export function laterThan(
  current: ReadonlyMap<string, ContainerHolder>,
  me: ContainerHolder,
  platforms?: ReadonlyMap<string, string>,
): Map<string, ContainerHolder> {
  const later = new Map<string, ContainerHolder>();
  for (const [id, h] of current) {
    const mine = platformed(me, platforms, id);
    if (h.exportId !== me.exportId && sameRecord(h, mine) && isLater(h, mine)) later.set(id, h);
  }
  return later;
}

/** The platform of each account line's id: an account's holder holds its platform's account only. */
export const platformsOf = (raws: readonly Record<string, unknown>[]): Map<string, string> =>
  new Map(
    raws.flatMap((r) =>
      typeof r.id === 'string' && typeof r.platform === 'string' ? [[r.id, r.platform] as const] : [],
    ),
  );

const platformed = (me: ContainerHolder, platforms: ReadonlyMap<string, string> | undefined, id: string) => {
  const platform = platforms?.get(id);
  return platform === undefined ? me : { ...me, platform };
};

/**
 * What a record that follows an account reads of it (PR-7), when a later export holds the account
 * (`later`): that export gives the account's records of the kinds it carries, so this export's record of
 * such a kind is not migrated (`later`); of a kind it does not carry, this export's record is the only
 * copy, and migrates by its own rules as if the account did here (`migrated`). A space's items follow it
 * whole (a holder without kinds).
 */
export function statusForChild<S extends ParentStatus>(
  status: S,
  childKind: Kind,
  holder: ContainerHolder | undefined,
): S | 'migrated' {
  return status === 'later' && holder?.kinds !== undefined && !holder.kinds.includes(childKind)
    ? 'migrated'
    : status;
}

export interface HolderDeps {
  readonly store: PipelineStore;
  /**
   * Withdraws what `exportId` staged of a TwinSpace or group (its document, items and files) or of an
   * account (its profile, and its records of the kinds that `by`, the export that takes it, carries).
   */
  readonly withdrawCopy: (exportId: string, kind: HeldKind, id: string, by: ContainerHolder) => Promise<void>;
}

export interface HeldContainers {
  /** For each id a later export holds: that export's holder. */
  readonly later: ReadonlyMap<string, ContainerHolder>;
  /**
   * Records this run's decision of each standing record of a held kind (what its children look up) and,
   * in the same write, makes this export the holder of those it `holds` (standing, schema-valid, no later
   * export holding them); then withdraws the copies of the earlier exports it takes them from. Safe to
   * repeat: the holder keeps the exports it replaced until every copy is gone (a crash between is
   * finished here).
   */
  decide(
    entries: readonly { id: string; decision: ParentDecision; holds: boolean; people?: readonly string[] }[],
  ): Promise<void>;
}

const sameList = (a: readonly string[] = [], b: readonly string[] = []) =>
  a.length === b.length && a.every((v, i) => v === b[i]);

/** What the cross-export holders say of some ids of one run's chunk. */
export async function heldContainers(
  kind: HeldKind,
  ids: readonly string[],
  run: { readonly scope: string; readonly holder: ContainerHolder },
  deps: HolderDeps,
  /** Accounts: the platform of each id's line. */
  platforms?: ReadonlyMap<string, string>,
): Promise<HeldContainers> {
  const current = await deps.store.containerHolders(kind, ids);
  const later = laterThan(current, run.holder, platforms);
  const decideOne = async ({
    id,
    decision,
    holds,
    people,
  }: {
    id: string;
    decision: ParentDecision;
    holds: boolean;
    people?: readonly string[];
  }) => {
    const decided = { scope: run.scope, decision, ...(people?.length ? { people } : {}) };
    const me = platformed(run.holder, platforms, id);
    let before = current.get(id);
    // Another platform's account with this id: neither holds the other, and this one is not taken over.
    if (!holds || later.has(id) || (before && !sameRecord(before, me))) {
      if (before?.decisions?.[run.scope] !== decision) await deps.store.decideHeld(kind, id, decided);
      return;
    }
    for (let attempt = 0; ; attempt++) {
      if (before && before.exportId !== me.exportId && isLater(before, me))
        throw new HolderChangedError(
          `export ${before.exportId} took ${kind} ${id} while export ${me.exportId} decided it`,
        );
      const mine = before !== undefined && before.exportId === me.exportId;
      const replaced = [
        ...new Set([...(before?.replaced ?? []), ...(before && !mine ? [before.exportId] : [])]),
      ].sort();
      if (
        mine &&
        before?.exportedMs === me.exportedMs &&
        sameList(before?.replaced, replaced) &&
        before?.decisions?.[run.scope] === decision
      )
        break;
      const holder: ContainerHolder = {
        exportId: me.exportId,
        exportedMs: me.exportedMs,
        ...(replaced.length > 0 ? { replaced } : {}),
        ...(me.kinds ? { kinds: me.kinds } : {}),
        ...(me.platform ? { platform: me.platform } : {}),
      };
      if (await deps.store.decideHeld(kind, id, decided, { holder, expected: before })) {
        before = holder;
        break;
      }
      if (attempt >= 5) throw new HolderChangedError(`the holder of ${kind} ${id} kept changing`);
      before = (await deps.store.containerHolders(kind, [id])).get(id);
    }
    for (const other of before?.replaced ?? []) await deps.withdrawCopy(other, kind, id, me);
  };
  return { later, decide: (entries) => eachLimited(entries, 16, decideOne) };
}
