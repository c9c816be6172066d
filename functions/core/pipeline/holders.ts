import { eachLimited } from '../concurrency';
import { HolderChangedError } from '../errors';
import type { ContainerHolder, HeldKind, PipelineStore } from '../ports';
import { type DecidedRecord, type ParentDecision, parentDecisionOf, peopleOf } from '../rules/decide';
import { isHeldKind, type Kind } from '../rules/kinds';

/**
 * ID-9 extended to TwinSpaces and groups (docs/support-desk.md): a project or group that several exports
 * hold (a corrected re-export under a new id) is migrated as the latest export (by `exportedAt`, then
 * export id) has it, whatever order the exports run in. An earlier export's line is decided
 * `IN_LATER_EXPORT`; a later export that meets a copy an earlier one staged withdraws that copy.
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
  return isHeldKind(kind) && parentDecisionOf(d) === 'dropped'
    ? peopleOf(d).slice(0, HELD_PEOPLE)
    : undefined;
}

/** Whether holder `a` is a later export than `b`. */
export const isLater = (a: ContainerHolder, b: ContainerHolder): boolean =>
  a.exportedMs > b.exportedMs || (a.exportedMs === b.exportedMs && a.exportId > b.exportId);

/** Of the current holders of some ids, those that are a later export than `me`: id -> that export. */
export function laterThan(
  current: ReadonlyMap<string, ContainerHolder>,
  me: ContainerHolder,
): Map<string, string> {
  const later = new Map<string, string>();
  for (const [id, h] of current) if (h.exportId !== me.exportId && isLater(h, me)) later.set(id, h.exportId);
  return later;
}

export interface HolderDeps {
  readonly store: PipelineStore;
  /** Withdraws what `exportId` staged of a TwinSpace or group (its document, items and files). */
  readonly withdrawCopy: (exportId: string, kind: HeldKind, id: string) => Promise<void>;
}

export interface HeldContainers {
  /** For each id a later export holds: that export. */
  readonly later: ReadonlyMap<string, string>;
  /**
   * Records this run's decision of each standing TwinSpace or group (what its children look up) and,
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
): Promise<HeldContainers> {
  const me = run.holder;
  const current = await deps.store.containerHolders(kind, ids);
  const later = laterThan(current, me);
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
    let before = current.get(id);
    if (!holds || later.has(id)) {
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
      };
      if (await deps.store.decideHeld(kind, id, decided, { holder, expected: before })) {
        before = holder;
        break;
      }
      if (attempt >= 5) throw new HolderChangedError(`the holder of ${kind} ${id} kept changing`);
      before = (await deps.store.containerHolders(kind, [id])).get(id);
    }
    for (const other of before?.replaced ?? []) await deps.withdrawCopy(other, kind, id);
  };
  return { later, decide: (entries) => eachLimited(entries, 16, decideOne) };
}
