import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketCorsCommand,
  DeleteObjectCommand,
  GetBucketCorsCommand,
  PutBucketCorsCommand,
} from '@aws-sdk/client-s3';
import { dynamoIdentities, dynamoStore } from '../../functions/adapters/dynamo-store';
import { s3Objects } from '../../functions/adapters/s3-objects';
import type { ChunkCounts } from '../../functions/core/pipeline/chunks';
import type {
  IdentityStore,
  IndexedAccount,
  ObjectStore,
  PipelineStore,
  UserLink,
} from '../../functions/core/ports';
import type { Kind } from '../../functions/core/rules/kinds';
import { type LocalPipeline, startLocalPipeline } from '../../local/runtime/pipeline';
import { memoryIdentities, memoryObjects, memoryStore } from '../helpers/memory-ports';

/**
 * The ports' contract: the same cases against the in-memory ports that the unit tests use and against
 * the real adapters (DynamoDB and S3 through the AWS SDK) on the local stand-ins, so the fakes cannot
 * drift from what the deployed functions do.
 */
jest.setTimeout(120_000);

interface Ports {
  readonly store: PipelineStore;
  readonly objects: ObjectStore;
  readonly identities: IdentityStore;
  readonly bucket: string;
  readonly otherBucket: string;
}

let tmp: string;
let pipeline: LocalPipeline;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'esep-contract-'));
  pipeline = await startLocalPipeline({ stateDir: tmp });
});
afterAll(async () => {
  await pipeline?.stop();
  await rm(tmp, { recursive: true, force: true });
}, 60_000);

const IMPLEMENTATIONS: [string, () => Ports][] = [
  [
    'in memory (the unit tests)',
    () => ({
      store: memoryStore().store,
      objects: memoryObjects().store,
      identities: memoryIdentities().store,
      bucket: 'exports',
      otherBucket: 'migrated',
    }),
  ],
  [
    'the DynamoDB and S3 adapters on the stand-ins',
    () => ({
      store: dynamoStore(pipeline.clients.dynamo, pipeline.resources.table),
      objects: s3Objects(pipeline.clients.s3),
      identities: dynamoIdentities(pipeline.clients.dynamo, pipeline.resources.table),
      bucket: pipeline.resources.buckets.exports,
      otherBucket: pipeline.resources.buckets.migrated,
    }),
  ],
];

let unique = 0;
/** A fresh name per test: the stand-ins' table and buckets are shared by the cases. */
const fresh = (what: string) => `${what}-${process.pid}-${++unique}`;
const counts = (n: number): ChunkCounts => ({ lines: n, migrated: n, dropped: 0, quarantined: 0 });
const bytesOf = async (body: AsyncIterable<Uint8Array> | undefined) => {
  if (!body) return undefined;
  const parts: Uint8Array[] = [];
  for await (const part of body) parts.push(part);
  return Buffer.concat(parts);
};
/** Ids as a legacy export may have them: long (over DynamoDB's key limits), non-ASCII, with separators. */
const ODD_IDS = ['p-1', 'ü-ñ-日本', 'a#b#c', 'x'.repeat(3000)];

describe.each(IMPLEMENTATIONS)('%s', (_name, make) => {
  let ports: Ports;
  beforeAll(() => {
    ports = make();
  });

  describe('PipelineStore', () => {
    test('container decisions come back by id, for any id, and only for the ids asked', async () => {
      const scope = fresh('scope');
      await ports.store.putContainerDecisions(
        scope,
        'projects',
        ODD_IDS.map((id, i) => ({ id, decision: i % 2 === 0 ? 'migrated' : 'dropped' })),
      );
      const found = await ports.store.containerDecisions(scope, 'projects', [...ODD_IDS, 'absent']);
      expect(Object.fromEntries(found)).toEqual(
        Object.fromEntries(ODD_IDS.map((id, i) => [id, i % 2 === 0 ? 'migrated' : 'dropped'])),
      );
      expect((await ports.store.containerDecisions(scope, 'groups', ODD_IDS)).size).toBe(0);
      expect((await ports.store.containerDecisions(fresh('scope'), 'projects', ODD_IDS)).size).toBe(0);
    });

    test('a TwinSpace’s holder across exports is written over the one read, with each run’s decision, for any id', async () => {
      const id = fresh(ODD_IDS[2] as string);
      const first = { exportId: 'exp-a', exportedMs: 1_659_312_000_000 };
      const later = { exportId: 'exp-b', exportedMs: 1_661_990_400_000, replaced: ['exp-a'] };
      const a = { scope: 'exp-a@1', decision: 'migrated' as const };
      const b = { scope: 'exp-b@1', decision: 'dropped' as const, people: [ODD_IDS[0] as string, 'a-2'] };
      expect(await ports.store.decideHeld('projects', id, a, { holder: first, expected: undefined })).toBe(
        true,
      );
      // It is there now: a second first holder, or one over another holder, is refused and writes nothing.
      expect(await ports.store.decideHeld('projects', id, b, { holder: later, expected: undefined })).toBe(
        false,
      );
      expect(
        await ports.store.decideHeld('projects', id, b, {
          holder: later,
          expected: { ...first, exportId: 'exp-x' },
        }),
      ).toBe(false);
      expect((await ports.store.containerDecisions(b.scope, 'projects', [id])).size).toBe(0);
      expect(await ports.store.decideHeld('projects', id, b, { holder: later, expected: first })).toBe(true);
      expect(await ports.store.containerHolders('projects', [id, fresh('none')])).toEqual(
        new Map([[id, { ...later, decisions: { [a.scope]: 'migrated', [b.scope]: 'dropped' } }]]),
      );
      // A deleted space's people, kept with the run's decision, for its items' files.
      expect(await ports.store.heldPeople(b.scope, 'projects', [id, fresh('none')])).toEqual(
        new Map([[id, b.people]]),
      );
      expect((await ports.store.heldPeople(a.scope, 'projects', [id])).size).toBe(0);
      // ER-1: an erased account is taken out of them, the others stay; the last one out leaves none.
      await ports.store.unlistHeldPerson(b.scope, 'projects', id, ODD_IDS[0] as string);
      expect(await ports.store.heldPeople(b.scope, 'projects', [id])).toEqual(new Map([[id, ['a-2']]]));
      await ports.store.unlistHeldPerson(b.scope, 'projects', id, 'a-2');
      await ports.store.unlistHeldPerson(b.scope, 'projects', id, 'a-2');
      expect((await ports.store.heldPeople(b.scope, 'projects', [id])).size).toBe(0);
      expect((await ports.store.containerDecisions(b.scope, 'projects', [id])).get(id)).toBe('dropped');
      // A decision without holding leaves the holder as it is.
      expect(await ports.store.decideHeld('projects', id, { scope: 'exp-a@2', decision: 'dropped' })).toBe(
        true,
      );
      expect((await ports.store.containerHolders('projects', [id])).get(id)?.exportId).toBe('exp-b');
      expect((await ports.store.containerHolders('groups', [id])).size).toBe(0);
    });

    test("an account's holder keeps the kinds its export carries and the account's platform (ID-9)", async () => {
      const id = fresh(ODD_IDS[1] as string);
      const holder = {
        exportId: 'exp-b',
        exportedMs: 1_661_990_400_000,
        kinds: ['accounts', 'portfolio'] as Kind[],
        platform: 'etwinning',
      };
      const decided = { scope: 'exp-b@1', decision: 'migrated' as const };
      expect(await ports.store.decideHeld('accounts', id, decided, { holder, expected: undefined })).toBe(
        true,
      );
      expect(await ports.store.containerHolders('accounts', [id])).toEqual(
        new Map([[id, { ...holder, decisions: { [decided.scope]: 'migrated' } }]]),
      );
      // The records that follow the account read its decision in the run (PR-7).
      expect(await ports.store.containerDecisions(decided.scope, 'accounts', [id])).toEqual(
        new Map([[id, 'migrated']]),
      );
    });

    test('an index answers which of the keys asked it holds, per scope and index', async () => {
      const scope = fresh('scope');
      await ports.store.addToIndex(scope, 'group-activity', ODD_IDS.slice(0, 2));
      await ports.store.addToIndex(scope, 'group-activity', ODD_IDS.slice(0, 1)); // again: no change
      expect(await ports.store.inIndex(scope, 'group-activity', ODD_IDS)).toEqual(
        new Set(ODD_IDS.slice(0, 2)),
      );
      expect((await ports.store.inIndex(scope, 'etwinning-emails', ODD_IDS)).size).toBe(0);
    });

    test('a chunk marker is recorded once; progress sums the markers of a stage', async () => {
      const scope = fresh('scope');
      expect(await ports.store.hasChunkMarker(scope, 's/decide-1', 'projects.decide.000000')).toBe(false);
      expect(await ports.store.putChunkMarker(scope, 's/decide-1', 'projects.decide.000000', counts(3))).toBe(
        true,
      );
      expect(
        await ports.store.putChunkMarker(scope, 's/decide-1', 'projects.decide.000000', counts(99)),
      ).toBe(false);
      await ports.store.putChunkMarker(scope, 's/decide-1', 'projects.decide.000001', counts(2));
      await ports.store.putChunkMarker(scope, 's/decide-2', 'groups.decide.000000', counts(7));
      expect(await ports.store.hasChunkMarker(scope, 's/decide-1', 'projects.decide.000000')).toBe(true);
      const progress = await ports.store.stageProgress(scope, 's/decide-1');
      expect(progress.chunks).toBe(2);
      expect(progress.counts).toEqual(counts(5));
      expect([...progress.ids].sort()).toEqual(['projects.decide.000000', 'projects.decide.000001']);
      expect(await ports.store.stageProgress(fresh('scope'), 's/decide-1')).toEqual({
        chunks: 0,
        counts: counts(0),
        ids: [],
      });
    });

    test("the markers of a range of a stage's chunks: those recorded, in order, the ends included", async () => {
      const scope = fresh('scope');
      for (const id of [
        'accounts.link.000003',
        'accounts.link.000001',
        'accounts.link.000007',
        'events.decide.000002',
      ])
        await ports.store.putChunkMarker(scope, 's/a', id, counts(1));
      await ports.store.putChunkMarker(scope, 's/b', 'accounts.link.000002', counts(1));
      expect(
        await ports.store.chunkMarkersBetween(scope, 's/a', 'accounts.link.000001', 'accounts.link.000003'),
      ).toEqual(['accounts.link.000001', 'accounts.link.000003']);
      expect(
        await ports.store.chunkMarkersBetween(scope, 's/a', 'accounts.link.000004', 'accounts.link.000006'),
      ).toEqual([]);
      expect(
        await ports.store.chunkMarkersBetween(scope, 's/a', 'events.decide.000000', 'events.decide.000009'),
      ).toEqual(['events.decide.000002']);
    });

    test("a stage's expectation is absent until split, then as written", async () => {
      const scope = fresh('scope');
      expect(await ports.store.stageExpectation(scope, 's/index')).toBeUndefined();
      await ports.store.putStageExpectation(scope, 's/index', { 'accounts.index': 3 });
      await ports.store.putStageExpectation(scope, 's/index', { 'accounts.index': 3 });
      expect(await ports.store.stageExpectation(scope, 's/index')).toEqual({ 'accounts.index': 3 });
    });

    test("a stage's count: chunks counted against its expectation, with the token of the task that waits", async () => {
      const scope = fresh('scope');
      expect(await ports.store.stageCount(scope, 's/decide-1')).toEqual({
        done: 0,
        expected: Infinity,
        lines: 0,
      });
      // A count before the split (a chunk of a stage split again) expects nothing it can reach.
      expect(await ports.store.countChunk(scope, 's/decide-1', counts(4))).toEqual({
        done: 1,
        expected: Infinity,
        lines: 4,
      });
      await ports.store.putStageExpectation(scope, 's/decide-1', {
        'projects.decide': 2,
        'groups.decide': 1,
      });
      await ports.store.awaitStage(scope, 's/decide-1', 'token-1');
      expect(await ports.store.countChunk(scope, 's/decide-1', counts(1))).toEqual({
        done: 2,
        expected: 3,
        lines: 5,
        token: 'token-1',
      });
      // Splitting again keeps the count and the token; a newer wait replaces the token.
      await ports.store.putStageExpectation(scope, 's/decide-1', {
        'projects.decide': 2,
        'groups.decide': 1,
      });
      await ports.store.awaitStage(scope, 's/decide-1', 'token-2');
      expect(await ports.store.countChunk(scope, 's/decide-1', counts(2))).toEqual({
        done: 3,
        expected: 3,
        lines: 7,
        token: 'token-2',
      });
      expect(await ports.store.stageCount(scope, 's/decide-1')).toEqual({
        done: 3,
        expected: 3,
        lines: 7,
        token: 'token-2',
      });
      // Stages count on their own; cleared markers start the count again, certain.
      await ports.store.putStageExpectation(scope, 's/decide-2', { 'groups.decide': 1 });
      expect(await ports.store.countChunk(scope, 's/decide-2', counts(1))).toEqual({
        done: 1,
        expected: 1,
        lines: 1,
      });
      await ports.store.countChunk(scope, 's/decide-1');
      expect((await ports.store.stageCount(scope, 's/decide-1')).uncertain).toBe(true);
      await ports.store.clearChunkMarkers(scope, 's/decide-1');
      expect(await ports.store.countChunk(scope, 's/decide-1', counts(1))).toEqual({
        done: 1,
        expected: 3,
        lines: 1,
        token: 'token-2',
      });
    });

    test('a count is uncertain once a chunk counts again or a marker is forgotten', async () => {
      const scope = fresh('scope');
      await ports.store.putStageExpectation(scope, 's/a', { 'projects.decide': 2 });
      await ports.store.countChunk(scope, 's/a', counts(1));
      // Counted again without counts: a chunk whose marker was there before.
      expect(await ports.store.countChunk(scope, 's/a')).toEqual({
        done: 2,
        expected: 2,
        lines: 1,
        uncertain: true,
      });
      await ports.store.putStageExpectation(scope, 's/b', { 'projects.decide': 1 });
      await ports.store.putChunkMarker(scope, 's/b', 'projects.decide.000000', counts(1));
      await ports.store.countChunk(scope, 's/b', counts(1));
      expect((await ports.store.stageCount(scope, 's/b')).uncertain).toBeUndefined();
      await ports.store.forgetChunk({ scope, stage: 's/b', chunk: 'projects.decide.000000' });
      expect(await ports.store.stageCount(scope, 's/b')).toMatchObject({ done: 1, uncertain: true });
      expect((await ports.store.stageProgress(scope, 's/b')).chunks).toBe(0);
    });

    test('run statuses: one per scope, the last one written', async () => {
      const exportId = fresh('export');
      const status = (scope: string, state: 'running' | 'completed', at: string) => ({
        scope,
        waves: ['sept-2022'],
        state,
        at,
      });
      await ports.store.putRunStatus(
        exportId,
        status(`${exportId}@a`, 'running', '2022-09-01T00:00:00.000Z'),
      );
      await ports.store.putRunStatus(
        exportId,
        status(`${exportId}@a`, 'completed', '2022-09-01T01:00:00.000Z'),
      );
      await ports.store.putRunStatus(
        exportId,
        status(`${exportId}@b`, 'running', '2022-09-02T00:00:00.000Z'),
      );
      const runs = await ports.store.runStatuses(exportId);
      expect([...runs].sort((x, y) => x.scope.localeCompare(y.scope))).toEqual([
        status(`${exportId}@a`, 'completed', '2022-09-01T01:00:00.000Z'),
        status(`${exportId}@b`, 'running', '2022-09-02T00:00:00.000Z'),
      ]);
      expect(await ports.store.runStatuses(fresh('export'))).toEqual([]);
      // The panel: every export's runs; an export's prefix does not take in a longer export id.
      await ports.store.putRunStatus(
        `${exportId}x`,
        status(`${exportId}x@a`, 'running', '2022-09-03T00:00:00Z'),
      );
      const all = await ports.store.allRunStatuses();
      expect(all.filter((r) => r.exportId === exportId)).toHaveLength(2);
      expect(all.filter((r) => r.exportId === `${exportId}x`)).toEqual([
        { exportId: `${exportId}x`, ...status(`${exportId}x@a`, 'running', '2022-09-03T00:00:00Z') },
      ]);
      expect(await ports.store.runStatuses(exportId)).toHaveLength(2);
    });

    test('a run of one wave and a run of all keep statuses of their own', async () => {
      const exportId = fresh('export');
      const at = '2022-09-01T00:00:00.000Z';
      await ports.store.putRunStatus(exportId, {
        scope: `${exportId}@a`,
        waves: ['sept-2022'],
        state: 'completed',
        at,
      });
      await ports.store.putRunStatus(exportId, {
        scope: `${exportId}@a`,
        waves: ['sept-2022', 'nov-2022'],
        state: 'running',
        at,
      });
      expect((await ports.store.runStatuses(exportId)).map((r) => r.waves.join('+')).sort()).toEqual([
        'sept-2022',
        'sept-2022+nov-2022',
      ]);
    });
  });

  describe('run locks', () => {
    test('an export is locked by one execution; the same one again keeps it; a stale one is taken over', async () => {
      const exportId = fresh('exp');
      const mine = { executionId: 'exec-1', at: '2022-09-01T10:00:00.000Z' };
      expect(await ports.store.lockRun(exportId, mine, '2022-08-31T10:00:00.000Z')).toBe(true);
      expect(await ports.store.lockRun(exportId, mine, '2022-08-31T10:00:00.000Z')).toBe(true);
      const other = { executionId: 'exec-2', at: '2022-09-01T11:00:00.000Z' };
      expect(await ports.store.lockRun(exportId, other, '2022-08-31T11:00:00.000Z')).toEqual(mine);
      await ports.store.unlockRun(exportId, 'exec-2'); // not its lock: nothing happens
      expect(await ports.store.lockRun(exportId, other, '2022-08-31T11:00:00.000Z')).toEqual(mine);
      expect(await ports.store.lockRun(exportId, other, '2022-09-01T10:30:00.000Z')).toBe(true); // stale
      expect((await ports.store.runLocks()).filter((l) => l.exportId === exportId)).toEqual([
        { exportId, ...other },
      ]);
      await ports.store.unlockRun(exportId, 'exec-2');
      expect((await ports.store.runLocks()).filter((l) => l.exportId === exportId)).toEqual([]);
    });
  });

  describe('withdrawals', () => {
    test('withdrawals are kept per export and record; cleared markers let a stage run again', async () => {
      const exportId = fresh('exp');
      const w = (id: string) => ({
        kind: 'accounts' as const,
        id,
        reason: 'ROLLED_BACK' as const,
        at: 't',
        objects: 2,
      });
      await ports.store.putWithdrawals(exportId, [w('a'), w(ODD_IDS[3] as string)]);
      await ports.store.putWithdrawals(exportId, [w('a')]);
      expect((await ports.store.withdrawals(exportId)).map((x) => x.id).sort()).toEqual(
        ['a', ODD_IDS[3]].sort(),
      );
      expect(await ports.store.withdrawals(fresh('exp'))).toEqual([]);
      const scope = fresh('scope');
      await ports.store.putChunkMarker(scope, 's', 'c1', counts(1));
      await ports.store.putChunkMarker(scope, 'other', 'c1', counts(1));
      await ports.store.clearChunkMarkers(scope, 's');
      expect(await ports.store.hasChunkMarker(scope, 's', 'c1')).toBe(false);
      expect(await ports.store.hasChunkMarker(scope, 'other', 'c1')).toBe(true);
      expect(await ports.store.putChunkMarker(scope, 's', 'c1', counts(1))).toBe(true);
    });
  });

  describe('ObjectStore', () => {
    test('a delete removes one key; deleting a missing key is no error', async () => {
      const key = `${fresh('obj')}/doc.json`;
      await ports.objects.put(ports.bucket, key, '{}');
      await ports.objects.put(ports.bucket, `${key}.keep`, '{}');
      await ports.objects.delete(ports.bucket, key);
      await ports.objects.delete(ports.bucket, key);
      expect(await ports.objects.getText(ports.bucket, key)).toBeUndefined();
      expect(await ports.objects.getText(ports.bucket, `${key}.keep`)).toBe('{}');
    });

    test('what is put comes back, bytes and text; a missing key is undefined', async () => {
      const prefix = `${fresh('objects')}/`;
      await ports.objects.put(ports.bucket, `${prefix}a.json`, '{"ü":1}\n', 'application/json');
      await ports.objects.put(ports.bucket, `${prefix}b.bin`, new Uint8Array([0, 255, 1]));
      expect(await ports.objects.getText(ports.bucket, `${prefix}a.json`)).toBe('{"ü":1}\n');
      expect(await bytesOf(await ports.objects.get(ports.bucket, `${prefix}b.bin`))).toEqual(
        Buffer.from([0, 255, 1]),
      );
      expect(await ports.objects.getText(ports.bucket, `${prefix}missing`)).toBeUndefined();
      expect(await ports.objects.get(ports.bucket, `${prefix}missing`)).toBeUndefined();
    });

    test('a put replaces; a copy lands in the other bucket', async () => {
      const prefix = `${fresh('objects')}/`;
      await ports.objects.put(ports.bucket, `${prefix}k`, 'first');
      await ports.objects.put(ports.bucket, `${prefix}k`, 'second');
      await ports.objects.copy(ports.bucket, `${prefix}k`, ports.otherBucket, `${prefix}copied`);
      expect(await ports.objects.getText(ports.otherBucket, `${prefix}copied`)).toBe('second');
      await expect(
        ports.objects.copy(ports.bucket, `${prefix}missing`, ports.otherBucket, `${prefix}x`),
      ).rejects.toThrow();
    });

    test("a copy's source key may hold the characters a URI reserves (a run's scope has an @), and a %", async () => {
      const prefix = `${fresh('objects')}/`;
      const from = `${prefix}x@3d641b+a&b=c$d,e;f:g%41/pieces/000000.ndjson`;
      await ports.objects.put(ports.bucket, from, 'piece');
      await ports.objects.copy(ports.bucket, from, ports.bucket, `${prefix}y@1/chunk`);
      expect(await ports.objects.getText(ports.bucket, `${prefix}y@1/chunk`)).toBe('piece');
      // Not another key that decodes to the same name.
      await ports.objects.put(ports.bucket, `${prefix}x@3d641b+a&b=c$d,e;f:gA/other`, 'other');
      await ports.objects.copy(
        ports.bucket,
        `${prefix}x@3d641b+a&b=c$d,e;f:gA/other`,
        ports.bucket,
        `${prefix}z`,
      );
      expect(await ports.objects.getText(ports.bucket, `${prefix}z`)).toBe('other');
    });

    test('a listing is in key order, under the prefix only, and pages after a key', async () => {
      const prefix = `${fresh('objects')}/`;
      const keys = ['b/2', 'a', 'b/1', 'c', 'ab'].map((k) => prefix + k);
      for (const key of keys) await ports.objects.put(ports.bucket, key, key);
      await ports.objects.put(ports.bucket, `${prefix.slice(0, -1)}x/outside`, 'no');
      const sorted = [...keys].sort();
      expect(await ports.objects.list(ports.bucket, prefix)).toEqual(sorted);
      expect(await ports.objects.list(ports.bucket, prefix, { max: 2 })).toEqual(sorted.slice(0, 2));
      expect(await ports.objects.list(ports.bucket, prefix, { startAfter: sorted[1], max: 2 })).toEqual(
        sorted.slice(2, 4),
      );
      expect(await ports.objects.list(ports.bucket, prefix, { startAfter: sorted.at(-1), max: 2 })).toEqual(
        [],
      );
    });
  });

  describe('IdentityStore', () => {
    const indexed = (accountId: string, over: Partial<IndexedAccount> = {}): IndexedAccount => ({
      platform: 'etwinning',
      accountId,
      exportId: 'exp-a',
      exportedAt: '2022-09-01T02:00:00Z',
      emailKey: 'k-1',
      ...over,
    });

    test('an account is written over the version read, for any id; both platforms keep their own', async () => {
      const [id] = [fresh(ODD_IDS[3] as string)];
      const first = indexed(id as string);
      expect(await ports.identities.putAccount(first, undefined)).toBe(true);
      expect(await ports.identities.putAccount(first, undefined)).toBe(false); // it is there now
      const later = indexed(id as string, { exportId: 'exp-b', emailKey: 'k-2', emailChangedIn: 'exp-b' });
      expect(await ports.identities.putAccount(later, indexed(id as string, { exportId: 'exp-x' }))).toBe(
        false,
      );
      expect(await ports.identities.putAccount(later, first)).toBe(true);
      const seg = indexed(id as string, { platform: 'seg' });
      expect(await ports.identities.putAccount(seg, undefined)).toBe(true);
      const found = await ports.identities.accounts([
        { platform: 'etwinning', accountId: id as string },
        { platform: 'seg', accountId: id as string },
        { platform: 'seg', accountId: fresh('none') },
      ]);
      expect(found).toEqual(
        new Map([
          [`etwinning#${id}`, later],
          [`seg#${id}`, seg],
        ]),
      );
    });

    test('keyed e-mails list the accounts indexed under them, each once', async () => {
      const key = fresh('hmac');
      const a = { platform: 'etwinning' as const, accountId: 'ü-ñ-日本' };
      const b = { platform: 'seg' as const, accountId: 'a#b#c' };
      await ports.identities.putEmailEntries([
        { emailKey: key, account: a },
        { emailKey: key, account: b },
      ]);
      await ports.identities.putEmailEntries([{ emailKey: key, account: a }]);
      const found = await ports.identities.withEmail(key);
      expect([...found].sort((x, y) => x.platform.localeCompare(y.platform))).toEqual([a, b]);
      expect(await ports.identities.withEmail(fresh('hmac'))).toEqual([]);
    });

    test('an erasure is recorded once under its key: a second request returns the first; all are listed', async () => {
      const key = fresh('erasure');
      const first = { platform: 'etwinning' as const, ticket: 'T-1', at: '2022-10-01T00:00:00.000Z' };
      expect(await ports.identities.erase(key, first)).toEqual(first);
      expect(
        await ports.identities.erase(key, { platform: 'seg', ticket: 'T-2', at: '2022-11-01T00:00:00.000Z' }),
      ).toEqual(first);
      const other = fresh('erasure');
      await ports.identities.erase(other, { ...first, ticket: 'T-3' });
      const all = await ports.identities.erasures();
      expect(all.get(key)).toEqual(first);
      expect(all.get(other)?.ticket).toBe('T-3');
    });

    test('an account is claimed by one user; released only by its holder', async () => {
      const account = { platform: 'seg' as const, accountId: fresh('acc') };
      expect(await ports.identities.holderOf(account)).toBeUndefined();
      expect(await ports.identities.claim(account, 'u-1')).toBe(true);
      expect(await ports.identities.claim(account, 'u-1')).toBe(true);
      expect(await ports.identities.claim(account, 'u-2')).toBe(false);
      // The same id on the other platform is another account.
      expect(await ports.identities.claim({ ...account, platform: 'etwinning' }, 'u-2')).toBe(true);
      await ports.identities.release(account, 'u-2');
      expect(await ports.identities.holderOf(account)).toBe('u-1');
      await ports.identities.release(account, 'u-1');
      expect(await ports.identities.claim(account, 'u-2')).toBe(true);
    });

    test("a user's link is written once, then only over the version read", async () => {
      const user = fresh('user');
      expect(await ports.identities.userLink(user)).toBeUndefined();
      const pending: UserLink = {
        esepUserId: user,
        state: 'pending',
        reason: 'LINK_PENDING',
        emailKey: 'k',
        registeredAt: '2022-06-01T00:00:00Z',
        version: 1,
      };
      expect(await ports.identities.putUserLink(pending, undefined)).toBe(true);
      expect(await ports.identities.putUserLink({ ...pending, registeredAt: 'x' }, undefined)).toBe(false);
      const linked: UserLink = {
        ...pending,
        state: 'linked',
        reason: 'LINKED',
        account: { platform: 'etwinning', accountId: 'a' },
        version: 2,
        audit: { by: 'nss-pt', at: '2023-01-01T00:00:00Z', why: 'checked by phone' },
      };
      expect(await ports.identities.putUserLink(linked, 2)).toBe(false);
      expect(await ports.identities.putUserLink(linked, 1)).toBe(true);
      expect(await ports.identities.userLink(user)).toEqual(linked);
    });

    test('pending registrations are kept per keyed e-mail until removed', async () => {
      const key = fresh('hmac');
      await ports.identities.addPending(key, 'u-1');
      await ports.identities.addPending(key, 'u-2');
      await ports.identities.addPending(key, 'u-1');
      expect((await ports.identities.pending(key)).sort()).toEqual(['u-1', 'u-2']);
      await ports.identities.removePending(key, 'u-1');
      expect(await ports.identities.pending(key)).toEqual(['u-2']);
      expect(await ports.identities.pending(fresh('hmac'))).toEqual([]);
    });
  });
});

test('the S3 stand-in copies an object whose metadata a killed command never wrote (a crash during an upload: s3rver-fixes)', async () => {
  const objects = s3Objects(pipeline.clients.s3);
  const { exports: bucket, migrated } = pipeline.resources.buckets;
  const key = `${fresh('crash')}/blob`;
  await objects.put(bucket, key, 'the bytes');
  // What a SIGKILL between the object's rename and its metadata's leaves on disk.
  for (const resource of ['metadata.json', 'object.md5'])
    await rm(join(tmp, 's3', bucket, `${key}._S3rver_${resource}`));
  await objects.copy(bucket, key, migrated, `${key}-copied`);
  expect(await objects.getText(migrated, `${key}-copied`)).toBe('the bytes');
});

test('the S3 stand-in puts into a folder that a delete emptied and removed (s3rver-fixes: no mkdir before a put, a second try when the folder is gone)', async () => {
  const s3 = pipeline.clients.s3;
  const objects = s3Objects(s3);
  const bucket = pipeline.resources.buckets.exports;
  const folder = `${fresh('emptied')}/deep`;
  await objects.put(bucket, `${folder}/first`, 'one');
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: `${folder}/first` }));
  // s3rver removes the folders the delete emptied.
  expect(existsSync(join(tmp, 's3', bucket, folder))).toBe(false);
  await objects.put(bucket, `${folder}/second`, 'two');
  expect(await objects.getText(bucket, `${folder}/second`)).toBe('two');
  await objects.copy(bucket, `${folder}/second`, bucket, `${folder}-copied/third`);
  expect(await objects.getText(bucket, `${folder}-copied/third`)).toBe('two');
});

test("the S3 stand-in keeps a bucket's configuration once read, and sees it put, deleted, or its bucket made again (s3rver-fixes)", async () => {
  const s3 = pipeline.clients.s3;
  const Bucket = fresh('configured').toLowerCase();
  const cors = (AllowedOrigins: string[]) => ({
    Bucket,
    CORSConfiguration: { CORSRules: [{ AllowedMethods: ['GET'], AllowedOrigins }] },
  });
  const rules = async () =>
    s3.send(new GetBucketCorsCommand({ Bucket })).then(
      (r) => r.CORSRules?.flatMap((rule) => rule.AllowedOrigins ?? []),
      (error: Error) => error.name,
    );
  await s3.send(new CreateBucketCommand({ Bucket }));
  expect(await rules()).toBe('NoSuchCORSConfiguration');
  await s3.send(new PutBucketCorsCommand(cors(['https://one.example'])));
  expect(await rules()).toEqual(['https://one.example']);
  await s3.send(new PutBucketCorsCommand(cors(['https://two.example'])));
  expect(await rules()).toEqual(['https://two.example']);
  await s3.send(new DeleteBucketCorsCommand({ Bucket }));
  expect(await rules()).toBe('NoSuchCORSConfiguration');
  await s3.send(new PutBucketCorsCommand(cors(['https://three.example'])));
  expect(await rules()).toEqual(['https://three.example']);
  await s3.send(new DeleteBucketCommand({ Bucket }));
  await s3.send(new CreateBucketCommand({ Bucket }));
  expect(await rules()).toBe('NoSuchCORSConfiguration');
});
