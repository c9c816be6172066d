import { eachLimited } from '../concurrency';
import { OwnerArrivedError, PoisonMessageError, parseMessage } from '../errors';
import { chunkId, exportKeys, workKeys } from '../keys';
import type { HeldKind, IdentityStore, ObjectStore, PipelineStore, StageTasks } from '../ports';
import {
  type BlobStatus,
  type DecisionContext,
  decideLine,
  indexEntries,
  type LineResult,
  namesFile,
  type ParentDecision,
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
  type IndexName,
  isContainerKind,
  isHeldKind,
  isSpaceKind,
  PARENTS,
} from '../rules/kinds';
import { accountsElsewhere } from '../rules/linking';
import { readManifest } from '../rules/manifest';
import type { CompiledPolicy } from '../rules/policy';
import type { FileRef } from '../rules/schemas';
import { targetOf } from '../rules/targets';
import { type Audience, audienceIn } from './audience';
import {
  type ChunkCounts,
  type ChunkLine,
  type ChunkMessage,
  ChunkMessageSchema,
  decodeChunk,
} from './chunks';
import { blobChecker, distinctIds } from './decide-export';
import { type HeldContainers, heldContainers, keptPeople, platformsOf, statusForChild } from './holders';
import { discardChunk, openChunk, recordChunk } from './progress';
import { resultRow } from './results';
import { bucketExportSource } from './run';
import type { Budget } from './sizing';
import { containerCopyWithdrawer } from './withdraw';
import { ENTITY_OF_KIND, type Entity } from './workers';

export interface ChunkWorkDeps {
  readonly store: PipelineStore;
  readonly policy: CompiledPolicy;
  /** The identity index's HMAC key: e-mails are compared as keyed hashes, never stored. */
  readonly emailSecret: string;
  readonly blobStatus: (ref: FileRef) => Promise<BlobStatus>;
  /** The accounts of every export indexed in the state (ID-3, ID-9, PR-7); without it, this export only. */
  readonly elsewhere?: AccountsElsewhere;
  /** ER-1: the accounts erased (none: no erasure). */
  readonly isErased?: IsErased;
  /** The people of records whose audience later records take (AUDIENCE_OF); without it, none kept. */
  readonly audience?: Audience;
  /**
   * Which export holds an account, TwinSpace, group or event across exports (pipeline/holders; accounts
   * with the platform of each id's line); without it, this one.
   */
  readonly holders?: (
    kind: HeldKind,
    ids: readonly string[],
    platforms?: ReadonlyMap<string, string>,
  ) => Promise<HeldContainers>;
}

/** What the identity index knows of accounts beyond this export (core/rules/linking). */
export type AccountsElsewhere = ReturnType<typeof accountsElsewhere>;

export interface ChunkOutcome {
  readonly counts: ChunkCounts;
  /** The decided lines, in order (the run's ledger: the chunk's result object holds them). */
  readonly results: readonly LineResult[];
}

/** Files of a chunk checked at once (step 7): the S3 client's sockets are shared with the copies. */
const BLOB_CHECKS_IN_FLIGHT = 16;

/**
 * One chunk of one step of the stage plan, against the pipeline's store: the distributed counterpart of
 * `decideExport`, calling the same `decideLine`. Safe to run again (a redelivered message): every write
 * it makes is keyed by the line and holds the same value.
 */
export async function workChunk(
  msg: ChunkMessage,
  lines: readonly ChunkLine[],
  deps: ChunkWorkDeps,
): Promise<ChunkOutcome> {
  const { store, policy } = deps;
  const keyOf = (email: string) => emailKey(deps.emailSecret, email);
  const counts: ChunkCounts = { lines: lines.length, migrated: 0, dropped: 0, quarantined: 0 };
  const parsed = lines.map((line) => ({
    line,
    parsed: 'unreadable' in line ? undefined : parseLine(line.text),
  }));
  const ok = parsed.flatMap(({ line, parsed: p }) => (p?.ok ? [{ line, id: p.id, raw: p.raw }] : []));

  if (msg.op === 'index') {
    const keys = new Map<IndexName, string[]>();
    for (const { line, parsed: p } of parsed) {
      if (!p || !msg.index) continue;
      // An erased account's line adds to no index (ER-1): as if the export did not hold it.
      if (p.raw && isErasedRecord(msg.kind, p.raw, deps.isErased ?? NONE_ERASED)) continue;
      for (const [index, key] of indexEntries(msg.index, msg.kind, p, p.ok && !line.duplicate, policy, keyOf))
        if (keys.has(index)) keys.get(index)?.push(key);
        else keys.set(index, [key]);
    }
    for (const [index, values] of keys) await store.addToIndex(msg.scope, index, distinctIds(values));
    return { counts, results: [] };
  }

  // decide: prefetch what the rules need, then decide each line with the same pure functions as `plan`.
  const parent = PARENTS[msg.kind];
  const parentIds = parent ? distinctIds(ok.map((o) => o.raw[parent.field])) : [];
  const parents = parent
    ? await store.containerDecisions(msg.scope, parent.kind, parentIds)
    : new Map<string, ParentDecision>();
  if (parent?.kind === 'accounts' && deps.elsewhere) {
    const missing = parentIds.filter((id) => !parents.has(id));
    if (missing.length > 0) for (const [id, d] of await deps.elsewhere.accounts(missing)) parents.set(id, d);
  }
  // An account a later export holds gives its records of the kinds that export carries (ID-9).
  const heldLater = parent?.kind === 'accounts' ? parentIds.filter((id) => parents.get(id) === 'later') : [];
  if (heldLater.length > 0) {
    const holders = await store.containerHolders('accounts', heldLater);
    for (const id of heldLater) parents.set(id, statusForChild('later', msg.kind, holders.get(id)));
  }
  const groupIds = msg.kind === 'groups' ? distinctIds(ok.map((o) => o.id)) : [];
  const activeGroups =
    groupIds.length > 0 ? await store.inIndex(msg.scope, 'group-activity', groupIds) : new Set();
  const unknownGroups =
    groupIds.length > 0 ? await store.inIndex(msg.scope, 'group-activity-unknown', groupIds) : new Set();
  const emailKeys = new Map<string, string>();
  if (msg.kind === 'accounts') {
    for (const o of ok)
      if (o.raw.platform === 'seg' && typeof o.raw.email === 'string')
        emailKeys.set(o.raw.email, keyOf(o.raw.email));
  }
  const segKeys = [...new Set(emailKeys.values())];
  const etwinning =
    segKeys.length > 0 ? await store.inIndex(msg.scope, 'etwinning-emails', segKeys) : new Set<string>();
  if (deps.elsewhere) {
    const unseen = segKeys.filter((k) => !etwinning.has(k));
    if (unseen.length > 0) for (const k of await deps.elsewhere.etwinningKeys(unseen)) etwinning.add(k);
  }
  const standing = ok.filter((o) => !o.line.duplicate);
  const held =
    isHeldKind(msg.kind) && deps.holders
      ? await deps.holders(
          msg.kind,
          distinctIds(standing.map((o) => o.id)),
          msg.kind === 'accounts' ? platformsOf(standing.map((o) => o.raw)) : undefined,
        )
      : undefined;
  const ctx: DecisionContext = {
    policy,
    laterExportHolding: (_kind, id) => held?.later.get(id)?.exportId,
    // Every id that has a line has a standing line, and every standing followed line has a decision.
    parentStatus: (_kind, id) => parents.get(id) ?? 'absent',
    groupActivity: (id) => (activeGroups.has(id) ? 'active' : unknownGroups.has(id) ? 'unknown' : 'inactive'),
    hasEtwinningAccount: (email) => etwinning.has(emailKeys.get(email) ?? keyOf(email)),
    ...(deps.isErased ? { isErased: deps.isErased } : {}),
  };

  // The people of the deleted TwinSpaces and groups whose items in this chunk have a file: offered them.
  const space = parent && isSpaceKind(parent.kind) ? { kind: parent.kind, field: parent.field } : undefined;
  const spaceIds = space
    ? distinctIds(
        ok
          .filter((o) => namesFile(o.raw))
          .map((o) => o.raw[space.field])
          .filter((id) => typeof id === 'string' && parents.get(id) === 'dropped'),
      )
    : [];
  const spacePeople =
    space && spaceIds.length > 0 ? await store.heldPeople(msg.scope, space.kind, spaceIds) : undefined;
  // A Learning Lab's people are its event's (AUDIENCE_OF): read by its event's id.
  const audienceFrom = AUDIENCE_OF[msg.kind];
  const people =
    audienceFrom && deps.audience
      ? await deps.audience.get(audienceFrom.kind, distinctIds(ok.map((o) => o.raw[audienceFrom.field])))
      : undefined;
  const isErased = deps.isErased ?? NONE_ERASED;
  const stands: boolean[] = [];
  const results: LineResult[] = lines.map((line) => {
    let stood = false;
    const result = decideLine(msg.kind, msg.wave, msg.path, line, ctx, () => {
      stood = !line.duplicate;
      return stood;
    });
    stands.push(stood);
    if (people) return withAudienceOf(result, people, isErased);
    return spacePeople ? withPeopleOfDeletedSpace(result, spacePeople, isErased) : result;
  });
  // Step 7's checks of the files, many at once (each reads a file of the export), in the lines' order.
  await eachLimited(results.keys(), BLOB_CHECKS_IN_FLIGHT, async (i) => {
    const result = results[i] as LineResult;
    if (result.needsBlob)
      results[i] = { ...result, decided: settleBlob(result, await deps.blobStatus(result.needsBlob)) };
  });
  const containerDecisions: { id: string; decision: ParentDecision }[] = [];
  results.forEach(({ decided }, i) => {
    counts[decided.decision]++;
    if (stands[i]) containerDecisions.push({ id: decided.id, decision: parentDecisionOf(decided) });
  });
  // Only what a later step looks up goes to the table: a followed record's decision, for its children.
  // A TwinSpace's or group's goes with its holder across exports, in the same write: this export holds
  // its standing, schema-valid ones that no later export holds (before anything of them is written: a
  // later export that took one meanwhile fails the chunk).
  if (held)
    await held.decide(
      results.flatMap(({ decided }, i) =>
        stands[i] && decided.reason !== 'ERASED'
          ? [
              {
                id: decided.id,
                decision: parentDecisionOf(decided),
                holds: decided.reason !== 'INVALID_RECORD' && decided.reason !== 'IN_LATER_EXPORT',
                people: keptPeople(msg.kind, decided),
              },
            ]
          : [],
      ),
    );
  else if (isContainerKind(msg.kind))
    await store.putContainerDecisions(msg.scope, msg.kind, containerDecisions);
  // An event's people, for its Learning Lab's receipts (a later stage).
  if (givesAudience(msg.kind) && deps.audience)
    await deps.audience.put(
      msg.kind,
      results.flatMap(({ decided }, i) => (stands[i] ? [{ id: decided.id, people: peopleOf(decided) }] : [])),
    );
  return { counts, results };
}

/**
 * PR-7 across exports: the owners of the records this chunk holds as ORPHAN_RECORD (no export held them)
 * are recorded with the chunk, so that an export bringing one later forgets the chunk's marker and the
 * chunk is decided again when its export runs again. An owner indexed meanwhile fails the chunk, to be
 * delivered again and decided with its owner.
 */
async function awaitOwners(
  msg: ChunkMessage,
  results: readonly LineResult[],
  deps: ChunkDeps,
): Promise<void> {
  const parent = PARENTS[msg.kind];
  if (parent?.kind !== 'accounts') return;
  const owners = distinctIds(
    results
      .filter((r) => r.decided.reason === 'ORPHAN_RECORD' && r.record)
      .map((r) => (r.record as Record<string, unknown>)[parent.field]),
  );
  if (owners.length === 0) return;
  const chunk = { scope: msg.scope, stage: msg.stage, chunk: chunkId(msg) };
  await deps.store.awaitOwners(owners.map((owner) => ({ owner, chunk })));
  const arrived = await accountsElsewhere(deps.identities).accounts(owners);
  if (arrived.size > 0)
    throw new OwnerArrivedError(
      `the owner of a record of ${msg.kind} chunk ${chunk.chunk} was indexed while it was decided`,
    );
}

/** What an entity worker needs for one chunk message: the store, the buckets and the identity key. */
export interface ChunkDeps {
  readonly store: PipelineStore;
  readonly objects: ObjectStore;
  readonly policy: CompiledPolicy;
  readonly exportsBucket: string;
  readonly migratedBucket: string;
  /** The identity index's HMAC key (resolved lazily: only account chunks need it). */
  readonly emailSecret: () => Promise<string>;
  /** The accounts of every export indexed in the state (ID-3, PR-7). */
  readonly identities: IdentityStore;
  /** Where the runs' receipts are (an earlier export's, told when a later export withdraws its copy). */
  readonly reportsBucket?: string;
  /** Paces this container's clients to a message's budget. */
  readonly applyBudget?: (budget: Budget) => void;
  /** Answers the workflow's wait when a chunk completes its stage (none: the wait's own checks find it). */
  readonly stageTasks?: StageTasks;
}

/** What one chunk message came to: already done before (a redelivery), or worked with its counts. */
export type ChunkResult =
  | { readonly msg: ChunkMessage; readonly done: 'before' }
  | {
      readonly msg: ChunkMessage;
      readonly done: 'now';
      readonly counts: ChunkCounts;
      readonly first: boolean;
    };

/**
 * One chunk message: decide its lines (the same core as `plan`), copy the migrated files server-side,
 * write the migrated documents, keep the results for the report, then record the chunk's marker once.
 * Every write is keyed by the chunk or record, so a redelivered message changes nothing. A message that
 * can never be processed throws PoisonMessageError (it goes to the dead-letter queue).
 */
export async function processChunk(entity: Entity, body: string, deps: ChunkDeps): Promise<ChunkResult> {
  const msg = parseMessage(body, ChunkMessageSchema, 'a chunk message');
  if (ENTITY_OF_KIND[msg.kind] !== entity || msg.op === 'identify' || msg.op === 'link')
    throw new PoisonMessageError(`a ${msg.kind} ${msg.op} chunk does not belong to ${entity}`);
  const text = await openChunk(msg, deps);
  if (text === undefined) return { msg, done: 'before' };

  const source = bucketExportSource(deps.objects, deps.exportsBucket, msg.exportId);
  const outcome = await workChunk(msg, decodeChunk(text), {
    store: deps.store,
    policy: deps.policy,
    emailSecret: msg.kind === 'accounts' ? await deps.emailSecret() : '',
    elsewhere: accountsElsewhere(deps.identities),
    isErased: await erasedNow(deps.identities, deps.emailSecret),
    audience: audienceIn(deps.objects, deps.exportsBucket, msg.scope),
    blobStatus: blobChecker(source),
    holders: async (kind, ids, platforms) => {
      const { manifest, files } = await readManifest(source);
      const holder = {
        exportId: msg.exportId,
        exportedMs: Date.parse(manifest.exportedAt),
        // An account's holder gives its records of the kinds its export carries.
        ...(kind === 'accounts' ? { kinds: [...files.keys()].sort() } : {}),
      };
      return heldContainers(
        kind,
        ids,
        { scope: msg.scope, holder },
        {
          store: deps.store,
          withdrawCopy: containerCopyWithdrawer(deps),
        },
        platforms,
      );
    },
  });

  if (msg.op === 'decide') {
    const written = outcome.results.map((result) => ({
      result,
      target: targetOf(msg.exportId, result.decided, result.record),
    }));
    await eachLimited(written, 16, async ({ target }) => {
      if (!target) return;
      if (target.file)
        await deps.objects.copy(
          deps.exportsBucket,
          exportKeys.blob(msg.exportId, target.file.sha256),
          deps.migratedBucket,
          target.file.key,
        );
      await deps.objects.put(
        deps.migratedBucket,
        target.documentKey,
        `${JSON.stringify(target.document, null, 2)}\n`,
        'application/json',
      );
    });
    // The run's ledger, record by record: its decisions and what it wrote (what a rollback withdraws,
    // what the report and verify read). The table holds no row per record.
    const rows = written.map(({ result, target }) => JSON.stringify(resultRow(result, target))).join('\n');
    await deps.objects.put(
      deps.exportsBucket,
      workKeys.result(msg.scope, msg.stage, msg.kind, msg.chunk),
      `${rows}\n`,
      'application/x-ndjson',
    );
  }
  if (msg.op === 'decide') await awaitOwners(msg, outcome.results, deps);
  const first = await recordChunk(msg.scope, msg.stage, chunkId(msg), outcome.counts, deps);
  await discardChunk(msg, deps);
  return { msg, done: 'now', counts: outcome.counts, first };
}
