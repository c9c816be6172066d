import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { eachLimited } from '../core/concurrency';
import { ONE, TTL_ATTRIBUTE, tableKeys } from '../core/keys';
import type { ChunkCounts } from '../core/pipeline/chunks';
import type {
  AccountRef,
  ChunkRef,
  ContainerHolder,
  IdentityStore,
  IndexedAccount,
  PipelineStore,
  Platform,
  RunLock,
  RunStatus,
  StageCount,
  UserLink,
  Withdrawal,
} from '../core/ports';
import type { ParentDecision } from '../core/rules/decide';
import type { Erasure } from '../core/rules/erasure';
import { isHeldKind, type Kind } from '../core/rules/kinds';
import { refKey } from '../core/rules/linking';
import { paceOf } from './pacing';
import { backoff, chunked } from './retry';

/**
 * The single table of the pipeline (lib/stateful-stack.ts documents the access patterns, core/keys.ts
 * the keys). Keys are deterministic and every write is idempotent; conditional writes where an order
 * matters.
 */

/** A TwinSpace's or group's decision in one run is an attribute of its holder item (one write for both). */
const DECISION_PREFIX = 'd@';
const decisionAttribute = (scope: string) => `${DECISION_PREFIX}${scope}`;
/** A run's people of a deleted TwinSpace or group, beside its decision in the holder's item. */
const peopleAttribute = (scope: string) => `p@${scope}`;

/** Days a run's items are kept when the caller names none (the stacks' default export retention). */
export const DEFAULT_RETENTION_DAYS = 180;

export function dynamoStore(
  client: DynamoDBClient,
  table: string,
  options: {
    readonly retentionDays?: number;
    readonly concurrency?: number;
  } = {},
): PipelineStore & {
  putItems(items: Record<string, unknown>[]): Promise<void>;
  getItems(pks: string[]): Promise<Map<string, Record<string, unknown>>>;
  queryAll(pk: string): Promise<Record<string, unknown>[]>;
} {
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  const concurrency = options.concurrency ?? 16;
  // The table is shared by the workers of a stage, each paced to its share (sizing.ts stageBudget): a
  // container that offered more would only be throttled.
  const writes = (units: number) => paceOf(client, 'tableWrites')(units);
  const reads = (units: number) => paceOf(client, 'tableReads')(units);
  const retentionSeconds = (options.retentionDays ?? DEFAULT_RETENTION_DAYS) * 86_400;
  /** A per-run item's TTL: the end of the export's retention, when its working area expires too. */
  const expiry = () => ({ [TTL_ATTRIBUTE]: Math.floor(Date.now() / 1000) + retentionSeconds });

  /** Every item of a partition, or of its sort keys that begin with a prefix or lie between two (inclusive), page after page. */
  async function queryAll(
    pk: string,
    sk?: string | readonly [string, string],
  ): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    const range =
      sk === undefined
        ? { condition: 'pk = :pk', values: {} }
        : typeof sk === 'string'
          ? { condition: 'pk = :pk AND begins_with(sk, :sk)', values: { ':sk': sk } }
          : {
              condition: 'pk = :pk AND sk BETWEEN :first AND :last',
              values: { ':first': sk[0], ':last': sk[1] },
            };
    do {
      const r = await doc.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: range.condition,
          ExpressionAttributeValues: { ':pk': pk, ...range.values },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...(r.Items ?? []));
      start = r.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /** The run statuses of one export, or of every export. */
  async function runs(exportId?: string): Promise<(RunStatus & { exportId: string })[]> {
    const items = await queryAll(
      tableKeys.runs,
      exportId === undefined ? undefined : tableKeys.runsOf(exportId),
    );
    return items.map(
      ({ pk: _pk, sk: _sk, ...status }) => status as unknown as RunStatus & { exportId: string },
    );
  }

  async function batchWrite(items: Record<string, unknown>[]): Promise<void> {
    await eachLimited(chunked(items, 25), concurrency, async (batch) => {
      let pending = batch.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 0) await backoff(attempt);
        if (attempt > 10) throw new Error(`BatchWriteItem left ${pending.length} items unprocessed`);
        await writes(pending.length);
        const r = await doc.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
        pending = (r.UnprocessedItems?.[table] ?? []) as typeof pending;
      }
    });
  }

  async function batchGet(pks: string[]): Promise<Map<string, Record<string, unknown>>> {
    const found = new Map<string, Record<string, unknown>>();
    await eachLimited(chunked([...new Set(pks)], 100), concurrency, async (batch) => {
      let keys: Record<string, unknown>[] = batch.map((pk) => ({ pk, sk: ONE }));
      for (let attempt = 0; keys.length > 0; attempt++) {
        if (attempt > 0) await backoff(attempt);
        if (attempt > 10) throw new Error(`BatchGetItem left ${keys.length} keys unprocessed`);
        await reads(keys.length);
        const r = await doc.send(
          new BatchGetCommand({ RequestItems: { [table]: { Keys: keys, ConsistentRead: true } } }),
        );
        for (const item of r.Responses?.[table] ?? []) found.set(item.pk as string, item);
        keys = (r.UnprocessedKeys?.[table]?.Keys ?? []) as Record<string, unknown>[];
      }
    });
    return found;
  }

  /** A stage's item: its expectation, the count of its chunks done, the token of the task that waits. */
  const stageItem = (scope: string, stage: string) => ({
    TableName: table,
    Key: { pk: tableKeys.expectations(scope), sk: stage },
  });
  /** A stage that forgets a chunk's marker has a count that may be ahead of its markers: they decide. */
  const markUncertain = (scope: string, stage: string) =>
    doc.send(
      new UpdateCommand({
        ...stageItem(scope, stage),
        UpdateExpression: 'SET #uncertain = :true',
        ExpressionAttributeNames: { '#uncertain': 'uncertain' },
        ExpressionAttributeValues: { ':true': true },
        ReturnValues: 'ALL_NEW',
      }),
    );
  /** A stage's count as its item holds it (ports StageCount). */
  const countOf = (item: Record<string, unknown>): StageCount => {
    const chunks = item.chunks as Record<string, number> | undefined;
    return {
      done: Number(item.done ?? 0),
      // No expectation yet (a count cannot come before its split, but a stray one waits for it).
      expected: chunks ? Object.values(chunks).reduce((a, b) => a + b, 0) : Number.POSITIVE_INFINITY,
      lines: Number(item.lines ?? 0),
      ...(typeof item.token === 'string' ? { token: item.token } : {}),
      ...(item.uncertain === true ? { uncertain: true as const } : {}),
    };
  };

  const decideHeld: PipelineStore['decideHeld'] = async (kind, id, decided, hold) => {
    await writes(1);
    const names: Record<string, string> = { '#d': decisionAttribute(decided.scope) };
    const values: Record<string, unknown> = { ':d': decided.decision };
    let update = 'SET #d = :d';
    if (decided.people?.length) {
      update += ', #p = :p';
      names['#p'] = peopleAttribute(decided.scope);
      values[':p'] = decided.people;
    }
    let condition: string | undefined;
    if (hold) {
      update += ', exportId = :e, exportedMs = :t';
      values[':e'] = hold.holder.exportId;
      values[':t'] = hold.holder.exportedMs;
      if (hold.holder.replaced?.length) {
        update += ', replaced = :r';
        values[':r'] = hold.holder.replaced;
      }
      if (hold.holder.kinds) {
        update += ', #kinds = :k';
        names['#kinds'] = 'kinds';
        values[':k'] = hold.holder.kinds;
      }
      if (hold.holder.platform) {
        update += ', #platform = :pf';
        names['#platform'] = 'platform';
        values[':pf'] = hold.holder.platform;
      }
      if (hold.expected) {
        condition = 'exportId = :xe AND exportedMs = :xt';
        values[':xe'] = hold.expected.exportId;
        values[':xt'] = hold.expected.exportedMs;
      } else condition = 'attribute_not_exists(exportId)';
    }
    try {
      await doc.send(
        new UpdateCommand({
          TableName: table,
          Key: { pk: tableKeys.containerHolder(kind, id), sk: ONE },
          UpdateExpression: update,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ...(condition ? { ConditionExpression: condition } : {}),
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  };

  return {
    putItems: batchWrite,
    getItems: batchGet,
    queryAll,

    async containerDecisions(scope, kind, ids) {
      const held = isHeldKind(kind);
      const key = (id: string) =>
        held ? tableKeys.containerHolder(kind, id) : tableKeys.container(scope, kind, id);
      const items = await batchGet(ids.map(key));
      const out = new Map<string, ParentDecision>();
      for (const id of ids) {
        const decision = items.get(key(id))?.[held ? decisionAttribute(scope) : 'decision'];
        if (typeof decision === 'string') out.set(id, decision as ParentDecision);
      }
      return out;
    },

    async heldPeople(scope, kind, ids) {
      const items = await batchGet(ids.map((id) => tableKeys.containerHolder(kind, id)));
      const out = new Map<string, string[]>();
      for (const id of ids) {
        const people = items.get(tableKeys.containerHolder(kind, id))?.[peopleAttribute(scope)];
        if (Array.isArray(people) && people.length > 0) out.set(id, people as string[]);
      }
      return out;
    },

    async unlistHeldPerson(scope, kind, id, accountId) {
      const key = { pk: tableKeys.containerHolder(kind, id), sk: ONE };
      for (let attempt = 0; ; attempt++) {
        const item = (await doc.send(new GetCommand({ TableName: table, Key: key, ConsistentRead: true })))
          .Item;
        const people = item?.[peopleAttribute(scope)];
        const at = Array.isArray(people) ? people.indexOf(accountId) : -1;
        if (at < 0) return;
        await writes(1);
        try {
          // The element read, by its place, only while it is still there: another change is not undone.
          await doc.send(
            new UpdateCommand({
              TableName: table,
              Key: key,
              UpdateExpression: `REMOVE #p[${at}]`,
              ConditionExpression: `#p[${at}] = :who`,
              ExpressionAttributeNames: { '#p': peopleAttribute(scope) },
              ExpressionAttributeValues: { ':who': accountId },
            }),
          );
        } catch (error) {
          if (!(error instanceof ConditionalCheckFailedException) || attempt >= 5) throw error;
        }
      }
    },

    async putContainerDecisions(scope, kind, entries) {
      if (isHeldKind(kind)) {
        await eachLimited(entries, concurrency, ({ id, decision }) =>
          decideHeld(kind, id, { scope, decision }).then(() => undefined),
        );
        return;
      }
      const ttl = expiry();
      await batchWrite(
        entries.map(({ id, decision }) => ({
          pk: tableKeys.container(scope, kind, id),
          sk: ONE,
          decision,
          ...ttl,
        })),
      );
    },

    async awaitOwners(entries) {
      if (entries.length === 0) return;
      await writes(1);
      await doc.send(new PutCommand({ TableName: table, Item: { pk: tableKeys.anyAwaitedOwner, sk: ONE } }));
      await eachLimited(entries, concurrency, async ({ owner, chunk }) => {
        await writes(1);
        await doc.send(
          new UpdateCommand({
            TableName: table,
            Key: { pk: tableKeys.awaitedOwner(owner), sk: ONE },
            UpdateExpression: 'ADD #chunks :c',
            ExpressionAttributeNames: { '#chunks': 'chunks' },
            ExpressionAttributeValues: { ':c': new Set([JSON.stringify(chunk)]) },
          }),
        );
      });
    },

    async awaitedChunks(owners) {
      const out = new Map<string, ChunkRef[]>();
      if (owners.length === 0) return out;
      if ((await batchGet([tableKeys.anyAwaitedOwner])).size === 0) return out;
      const items = await batchGet(owners.map((o) => tableKeys.awaitedOwner(o)));
      for (const owner of owners) {
        const chunks = items.get(tableKeys.awaitedOwner(owner))?.chunks;
        if (chunks instanceof Set && chunks.size > 0)
          out.set(
            owner,
            [...chunks].map((c) => JSON.parse(String(c)) as ChunkRef),
          );
      }
      return out;
    },

    async stopAwaiting(owner) {
      await writes(1);
      await doc.send(
        new DeleteCommand({ TableName: table, Key: { pk: tableKeys.awaitedOwner(owner), sk: ONE } }),
      );
    },

    async forgetChunk({ scope, stage, chunk }) {
      await writes(2);
      // Uncertain first: a stop between the two leaves a count that the markers correct, never one ahead.
      await markUncertain(scope, stage);
      await doc.send(
        new DeleteCommand({ TableName: table, Key: { pk: tableKeys.markers(scope, stage), sk: chunk } }),
      );
    },

    async containerHolders(kind, ids) {
      const items = await batchGet(ids.map((id) => tableKeys.containerHolder(kind, id)));
      const out = new Map<string, ContainerHolder>();
      for (const id of ids) {
        const item = items.get(tableKeys.containerHolder(kind, id));
        if (!item || typeof item.exportId !== 'string') continue;
        const decisions = Object.fromEntries(
          Object.entries(item)
            .filter(([name]) => name.startsWith(DECISION_PREFIX))
            .map(([name, d]) => [name.slice(DECISION_PREFIX.length), d as ParentDecision]),
        );
        out.set(id, {
          exportId: item.exportId,
          exportedMs: item.exportedMs as number,
          ...(Array.isArray(item.replaced) ? { replaced: item.replaced as string[] } : {}),
          ...(Array.isArray(item.kinds) ? { kinds: item.kinds as Kind[] } : {}),
          ...(typeof item.platform === 'string' ? { platform: item.platform } : {}),
          ...(Object.keys(decisions).length > 0 ? { decisions } : {}),
        });
      }
      return out;
    },

    decideHeld,

    async addToIndex(scope, index, keys) {
      const ttl = expiry();
      await batchWrite(keys.map((key) => ({ pk: tableKeys.index(scope, index, key), sk: ONE, ...ttl })));
    },

    async inIndex(scope, index, keys) {
      const items = await batchGet(keys.map((key) => tableKeys.index(scope, index, key)));
      return new Set(keys.filter((key) => items.has(tableKeys.index(scope, index, key))));
    },

    async lockRun(exportId, holder, staleBefore) {
      try {
        await doc.send(
          new PutCommand({
            TableName: table,
            Item: { pk: tableKeys.runLocks, sk: exportId, ...holder },
            ConditionExpression: 'attribute_not_exists(pk) OR executionId = :me OR #at < :stale',
            ExpressionAttributeNames: { '#at': 'at' },
            ExpressionAttributeValues: { ':me': holder.executionId, ':stale': staleBefore },
          }),
        );
        return true;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const r = await doc.send(
          new GetCommand({
            TableName: table,
            Key: { pk: tableKeys.runLocks, sk: exportId },
            ConsistentRead: true,
          }),
        );
        const item = r.Item as RunLock | undefined;
        return item
          ? { executionId: item.executionId, at: item.at }
          : this.lockRun(exportId, holder, staleBefore);
      }
    },

    async unlockRun(exportId, executionId) {
      try {
        await doc.send(
          new DeleteCommand({
            TableName: table,
            Key: { pk: tableKeys.runLocks, sk: exportId },
            ...(executionId === undefined
              ? {}
              : {
                  ConditionExpression: 'executionId = :me',
                  ExpressionAttributeValues: { ':me': executionId },
                }),
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },

    async runLocks() {
      return (await queryAll(tableKeys.runLocks)).map((i) => ({
        exportId: i.sk as string,
        executionId: i.executionId as string,
        at: i.at as string,
      }));
    },

    async putWithdrawals(exportId, entries) {
      await batchWrite(
        entries.map((w) => ({
          pk: tableKeys.withdrawals(exportId),
          sk: tableKeys.withdrawal(w.kind, w.id),
          ...w,
        })),
      );
    },

    async removeWithdrawals(scope, entries) {
      await eachLimited(entries, concurrency, async (w) => {
        await doc.send(
          new DeleteCommand({
            TableName: table,
            Key: { pk: tableKeys.withdrawals(scope), sk: tableKeys.withdrawal(w.kind, w.id) },
          }),
        );
      });
    },

    async withdrawals(exportId) {
      return (await queryAll(tableKeys.withdrawals(exportId))).map(
        ({ pk: _pk, sk: _sk, ...w }) => w as unknown as Withdrawal,
      );
    },

    async clearChunkMarkers(scope, stage) {
      const pk = tableKeys.markers(scope, stage);
      // Uncertain while the markers go, then a count of none: a stop in between leaves it uncertain.
      await markUncertain(scope, stage);
      await eachLimited(await queryAll(pk), concurrency, async (item) => {
        await doc.send(new DeleteCommand({ TableName: table, Key: { pk, sk: item.sk } }));
      });
      await doc.send(
        new UpdateCommand({
          ...stageItem(scope, stage),
          UpdateExpression: 'SET #done = :zero, #lines = :zero REMOVE #uncertain',
          ExpressionAttributeNames: { '#done': 'done', '#lines': 'lines', '#uncertain': 'uncertain' },
          ExpressionAttributeValues: { ':zero': 0 },
        }),
      );
    },

    async hasChunkMarker(scope, stage, chunk) {
      const r = await doc.send(
        new GetCommand({
          TableName: table,
          Key: { pk: tableKeys.markers(scope, stage), sk: chunk },
          ConsistentRead: true,
        }),
      );
      return r.Item !== undefined;
    },

    async chunkMarkersBetween(scope, stage, first, last) {
      return (await queryAll(tableKeys.markers(scope, stage), [first, last])).map(
        (item) => item.sk as string,
      );
    },

    async putChunkMarker(scope, stage, chunk, counts: ChunkCounts) {
      try {
        await doc.send(
          new PutCommand({
            TableName: table,
            Item: { pk: tableKeys.markers(scope, stage), sk: chunk, ...counts, ...expiry() },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },

    async stageProgress(scope, stage) {
      const counts: ChunkCounts = { lines: 0, migrated: 0, dropped: 0, quarantined: 0 };
      const ids: string[] = [];
      for (const item of await queryAll(tableKeys.markers(scope, stage))) {
        ids.push(item.sk as string);
        for (const k of ['lines', 'migrated', 'dropped', 'quarantined'] as const)
          counts[k] += Number(item[k] ?? 0);
      }
      return { chunks: ids.length, counts, ids };
    },

    async putStageExpectation(scope, stage, chunks) {
      // An update, not a put: a split run again (a resumed run) keeps the count of the chunks already done.
      await doc.send(
        new UpdateCommand({
          ...stageItem(scope, stage),
          UpdateExpression: 'SET chunks = :chunks, #ttl = :ttl',
          ExpressionAttributeNames: { '#ttl': TTL_ATTRIBUTE },
          ExpressionAttributeValues: { ':chunks': { ...chunks }, ':ttl': expiry()[TTL_ATTRIBUTE] },
        }),
      );
    },

    async countChunk(scope, stage, counts) {
      const again = counts === undefined;
      const r = await doc.send(
        new UpdateCommand({
          ...stageItem(scope, stage),
          UpdateExpression: `ADD #done :one, #lines :lines${again ? ' SET #uncertain = :true' : ''}`,
          ExpressionAttributeNames: {
            '#done': 'done',
            '#lines': 'lines',
            ...(again ? { '#uncertain': 'uncertain' } : {}),
          },
          ExpressionAttributeValues: {
            ':one': 1,
            ':lines': counts?.lines ?? 0,
            ...(again ? { ':true': true } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      // Sent more than once (the SDK retried it): an attempt whose reply was lost may have landed too.
      if (!again && (r.$metadata.attempts ?? 1) > 1)
        return countOf((await markUncertain(scope, stage)).Attributes ?? {});
      return countOf(r.Attributes ?? {});
    },

    async stageCount(scope, stage) {
      const r = await doc.send(new GetCommand({ ...stageItem(scope, stage), ConsistentRead: true }));
      return countOf(r.Item ?? {});
    },

    async awaitStage(scope, stage, token) {
      await doc.send(
        new UpdateCommand({
          ...stageItem(scope, stage),
          UpdateExpression: 'SET #token = :token',
          ExpressionAttributeNames: { '#token': 'token' },
          ExpressionAttributeValues: { ':token': token },
        }),
      );
    },

    async stageExpectation(scope, stage) {
      const r = await doc.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk AND sk = :sk',
          ExpressionAttributeValues: { ':pk': tableKeys.expectations(scope), ':sk': stage },
          ConsistentRead: true,
        }),
      );
      const item = r.Items?.[0];
      return item ? (item.chunks as Record<string, number>) : undefined;
    },

    async runStatuses(exportId) {
      return (await runs(exportId)).map(({ exportId: _e, ...status }) => status);
    },

    allRunStatuses: () => runs(),

    async putRunStatus(exportId, status: RunStatus) {
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: {
            pk: tableKeys.runs,
            sk: tableKeys.run(exportId, status.waves, status.scope),
            exportId,
            ...status,
          },
        }),
      );
    },
  };
}

/** The identity index and links, in the same table (keys: core/keys.ts); they outlive every run (ID-6). */
export function dynamoIdentities(client: DynamoDBClient, table: string): IdentityStore {
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
  // Paced with the batch writes of the same container (one budget per container and resource).
  const writes = (units: number) => paceOf(client, 'tableWrites')(units);
  const reads = (units: number) => paceOf(client, 'tableReads')(units);
  const conditional = async (command: PutCommand | DeleteCommand): Promise<boolean> => {
    await writes(1);
    try {
      await doc.send(command as PutCommand);
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  };
  const store = dynamoStore(client, table);
  const get = async (pk: string) => {
    await reads(1);
    return (await doc.send(new GetCommand({ TableName: table, Key: { pk, sk: ONE }, ConsistentRead: true })))
      .Item;
  };
  const query = store.queryAll;
  const claimKey = (a: AccountRef) => ({ pk: tableKeys.accountLink(a.platform, a.accountId), sk: ONE });
  return {
    async accounts(refs) {
      const items = await store.getItems(refs.map((r) => tableKeys.account(r.platform, r.accountId)));
      const out = new Map<string, IndexedAccount>();
      for (const item of items.values()) {
        const {
          pk: _pk,
          sk: _sk,
          ...account
        } = item as unknown as IndexedAccount & { pk: string; sk: string };
        out.set(refKey(account), account);
      }
      return out;
    },
    putAccount: (account, expected) =>
      conditional(
        new PutCommand({
          TableName: table,
          Item: { pk: tableKeys.account(account.platform, account.accountId), sk: ONE, ...account },
          ...(expected
            ? {
                ConditionExpression: 'exportId = :e AND exportedAt = :t AND emailKey = :k',
                ExpressionAttributeValues: {
                  ':e': expected.exportId,
                  ':t': expected.exportedAt,
                  ':k': expected.emailKey,
                },
              }
            : { ConditionExpression: 'attribute_not_exists(pk)' }),
        }),
      ),
    async withEmail(key) {
      return (await query(tableKeys.identity(key))).map((i) => ({
        platform: i.platform as Platform,
        accountId: i.accountId as string,
      }));
    },
    async putEmailEntries(entries) {
      await store.putItems(
        entries.map(({ emailKey, account }) => ({
          pk: tableKeys.identity(emailKey),
          sk: tableKeys.identityEntry(account.platform, account.accountId),
          platform: account.platform,
          accountId: account.accountId,
        })),
      );
    },
    async userLink(esepUserId) {
      const item = await get(tableKeys.userLink(esepUserId));
      if (!item) return undefined;
      const { pk: _pk, sk: _sk, ...link } = item;
      return link as UserLink;
    },
    putUserLink: (link, expected) =>
      conditional(
        new PutCommand({
          TableName: table,
          Item: { pk: tableKeys.userLink(link.esepUserId), sk: ONE, ...link },
          ...(expected === undefined
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : { ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': expected } }),
        }),
      ),
    async holderOf(account) {
      return (await get(claimKey(account).pk))?.esepUserId as string | undefined;
    },
    claim: (account, esepUserId) =>
      conditional(
        new PutCommand({
          TableName: table,
          Item: { ...claimKey(account), ...account, esepUserId },
          ConditionExpression: 'attribute_not_exists(pk) OR esepUserId = :me',
          ExpressionAttributeValues: { ':me': esepUserId },
        }),
      ),
    async release(account, esepUserId) {
      await conditional(
        new DeleteCommand({
          TableName: table,
          Key: claimKey(account),
          ConditionExpression: 'esepUserId = :me',
          ExpressionAttributeValues: { ':me': esepUserId },
        }),
      );
    },
    async pending(key) {
      return (await query(tableKeys.pending(key))).map((i) => i.esepUserId as string);
    },
    async addPending(key, esepUserId) {
      await doc.send(
        new PutCommand({
          TableName: table,
          Item: { pk: tableKeys.pending(key), sk: tableKeys.pendingUser(esepUserId), esepUserId },
        }),
      );
    },
    async removePending(key, esepUserId) {
      await doc.send(
        new DeleteCommand({
          TableName: table,
          Key: { pk: tableKeys.pending(key), sk: tableKeys.pendingUser(esepUserId) },
        }),
      );
    },
    async erase(key, erasure) {
      const item = { pk: tableKeys.erasures, sk: key, ...erasure };
      const put = new PutCommand({
        TableName: table,
        Item: item,
        ConditionExpression: 'attribute_not_exists(pk)',
      });
      if (await conditional(put)) return erasure;
      return (await this.erasures()).get(key) ?? erasure;
    },
    async erasures() {
      const items = await query(tableKeys.erasures);
      return new Map(
        items.map((i) => [i.sk as string, { platform: i.platform, ticket: i.ticket, at: i.at } as Erasure]),
      );
    },
  };
}
