import { spawnSync } from 'node:child_process';
import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import type { ChunkCounts } from '../../functions/core/pipeline/chunks';
import {
  awaitStage,
  recordChunk,
  type StageStatus,
  stageStatus,
  workedBefore,
} from '../../functions/core/pipeline/progress';
import type { Run } from '../../functions/core/pipeline/run';
import type { StageTasks } from '../../functions/core/ports';
import { localTaskTokens } from '../../local/stand-ins/task-tokens';
import { ROOT } from '../helpers/cli';
import { memoryStore } from '../helpers/memory-ports';

/**
 * A stage ends when its last chunk is done (issue 25): the task that waits for it records its token, and
 * the chunk that completes the count answers it. Whichever comes first, the token or the last chunk, the
 * stage is answered once it is done, and never before.
 */
const run: Run = { exportId: 'e', scope: 'e@p', waves: ['sept-2022'], startedAt: '2022-09-01T00:00:00Z' };
const STAGE = 'sept-2022/decide-1';
const counts = (n: number): ChunkCounts => ({ lines: n, migrated: n, dropped: 0, quarantined: 0 });

function answers() {
  const sent: { token: string; output: StageStatus }[] = [];
  const stageTasks: StageTasks = {
    succeed: async (token, output) => void sent.push({ token, output: output as StageStatus }),
  };
  return { sent, stageTasks };
}

async function splitInto(store: ReturnType<typeof memoryStore>['store'], chunks: number) {
  await store.putStageExpectation(run.scope, STAGE, { 'projects.decide': chunks });
}
const chunk = (i: number) => `projects.decide.${String(i).padStart(6, '0')}`;

test('the token first: the chunk that completes the stage answers it, with the stage done', async () => {
  const { store } = memoryStore();
  const { sent, stageTasks } = answers();
  await splitInto(store, 2);
  const waiting = await awaitStage(run, STAGE, 'tok', { store, stageTasks });
  expect(waiting.done).toBe(false);
  expect(await recordChunk(run.scope, STAGE, chunk(0), counts(3), { store, stageTasks })).toBe(true);
  expect(sent).toEqual([]);
  // Delivered again: its count again (ahead of the markers), but no answer while a marker is missing.
  expect(await recordChunk(run.scope, STAGE, chunk(0), counts(3), { store, stageTasks })).toBe(false);
  expect(sent).toEqual([]);
  await recordChunk(run.scope, STAGE, chunk(1), counts(4), { store, stageTasks });
  expect(sent).toEqual([
    { token: 'tok', output: expect.objectContaining({ done: true, chunks: 2, lines: 7 }) },
  ]);
});

test('the last chunk first: the wait finds the stage done and answers at once', async () => {
  const { store } = memoryStore();
  const { sent, stageTasks } = answers();
  await splitInto(store, 1);
  await recordChunk(run.scope, STAGE, chunk(0), counts(2), { store, stageTasks });
  expect(sent).toEqual([]);
  const status = await awaitStage(run, STAGE, 'late', { store, stageTasks });
  expect(status).toMatchObject({ done: true, chunks: 1 });
  expect(sent.map((s) => s.token)).toEqual(['late']);
});

test('a count ahead of the markers (a request retried after it landed) does not answer early', async () => {
  const { store } = memoryStore();
  const { sent, stageTasks } = answers();
  await splitInto(store, 2);
  await awaitStage(run, STAGE, 'tok', { store, stageTasks });
  // A count that landed twice for one chunk (uncertain): the count says done, the markers do not.
  await store.countChunk(run.scope, STAGE);
  await recordChunk(run.scope, STAGE, chunk(0), counts(1), { store, stageTasks });
  expect(sent).toEqual([]);
  // The wait's own check after its timeout (or the next wait) ends it when the last marker is in.
  await store.putChunkMarker(run.scope, STAGE, chunk(1), counts(1));
  expect(await awaitStage(run, STAGE, 'next', { store, stageTasks })).toMatchObject({ done: true });
  expect(sent.map((s) => s.token)).toEqual(['next']);
});

test('a chunk that stopped between its marker and its count answers the stage when delivered again', async () => {
  const { store } = memoryStore();
  const { sent, stageTasks } = answers();
  await splitInto(store, 2);
  await awaitStage(run, STAGE, 'tok', { store, stageTasks });
  // The first delivery of chunk 0 recorded its marker, and its worker stopped before the count.
  await store.putChunkMarker(run.scope, STAGE, chunk(0), counts(1));
  await recordChunk(run.scope, STAGE, chunk(1), counts(1), { store, stageTasks });
  expect(sent).toEqual([]);
  // SQS delivers chunk 0 again: its marker is there, its count was not; the stage is answered now.
  expect(await recordChunk(run.scope, STAGE, chunk(0), counts(1), { store, stageTasks })).toBe(false);
  expect(sent).toEqual([{ token: 'tok', output: expect.objectContaining({ done: true, chunks: 2 }) }]);
});

test('a redelivery that finds its marker (the worker stopped before its count) counts it and ends the stage', async () => {
  const { store } = memoryStore();
  const { sent, stageTasks } = answers();
  await splitInto(store, 1);
  await awaitStage(run, STAGE, 'tok', { store, stageTasks });
  await store.putChunkMarker(run.scope, STAGE, chunk(0), counts(5));
  expect(sent).toEqual([]);
  // The message comes back: its chunk was worked before, so nothing is decided again, but it counts.
  expect(await workedBefore(run.scope, STAGE, chunk(0), { store, stageTasks })).toBe(true);
  expect(sent).toEqual([
    { token: 'tok', output: expect.objectContaining({ done: true, chunks: 1, lines: 5 }) },
  ]);
  expect(await workedBefore(run.scope, STAGE, chunk(1), { store, stageTasks })).toBe(false);
});

test('a count behind its markers whose message is gone (a local run killed) ends at the check that finds the queues drained', async () => {
  const { store } = memoryStore();
  await splitInto(store, 2);
  await recordChunk(run.scope, STAGE, chunk(0), counts(1), { store });
  // The killed worker recorded chunk 1's marker, not its count; its message went with the process.
  await store.putChunkMarker(run.scope, STAGE, chunk(1), counts(2));
  expect(await stageStatus(run, STAGE, { store })).toMatchObject({ done: false, chunks: 1 });
  expect(await stageStatus(run, STAGE, { store, pendingMessages: async () => 0 })).toMatchObject({
    done: true,
    chunks: 2,
    lines: 3,
    stalledChecks: 0,
  });
});

test('without a waiting task (plan, the in-process report) a chunk records its marker and its count', async () => {
  const { store } = memoryStore();
  await splitInto(store, 1);
  expect(await recordChunk(run.scope, STAGE, chunk(0), counts(1), { store })).toBe(true);
  expect(await store.stageCount(run.scope, STAGE)).toEqual({ done: 1, expected: 1, lines: 1 });
});

test('a certain count ends the stage without reading one marker; an uncertain one is read from them', async () => {
  const { store } = memoryStore();
  let markerReads = 0;
  const counting = {
    ...store,
    stageProgress: (...args: Parameters<typeof store.stageProgress>) => {
      markerReads++;
      return store.stageProgress(...args);
    },
  };
  const { sent, stageTasks } = answers();
  await splitInto(store, 3);
  await awaitStage(run, STAGE, 'tok', { store: counting, stageTasks });
  for (const i of [0, 1, 2])
    await recordChunk(run.scope, STAGE, chunk(i), counts(2), { store: counting, stageTasks });
  expect(sent).toEqual([
    { token: 'tok', output: expect.objectContaining({ done: true, chunks: 3, lines: 6 }) },
  ]);
  expect(markerReads).toBe(0);
  // Delivered again after the stage ended: the count is uncertain now, and the markers say what is done.
  expect(await recordChunk(run.scope, STAGE, chunk(2), counts(2), { store: counting, stageTasks })).toBe(
    false,
  );
  const again = await awaitStage(run, STAGE, 'again', { store: counting, stageTasks });
  expect(again).toMatchObject({ done: true, chunks: 3, lines: 6 });
  expect(markerReads).toBeGreaterThan(0);
});

describe('task tokens on this machine', () => {
  test('an answer sent to a waiting token is its output; a token answered or timed out answers TaskTimedOut', async () => {
    const tokens = localTaskTokens();
    const { token, answer } = tokens.wait(60_000);
    await tokens.client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{"done":true}' }));
    await expect(answer).resolves.toEqual({ done: true });
    await expect(
      tokens.client.send(new SendTaskSuccessCommand({ taskToken: token, output: '{}' })),
    ).rejects.toMatchObject({ name: 'TaskTimedOut' });
    expect(tokens.waiting).toBe(0);
  });

  test('a timeout while the task still runs is States.Timeout for its awaiter, not an unhandled rejection', () => {
    // In a process of its own: an unhandled rejection ends it, as it would end a run.
    const script = `
      const { localTaskTokens } = require('./local/stand-ins/task-tokens.ts');
      const tokens = localTaskTokens();
      const { answer } = tokens.wait(5);
      setTimeout(() => answer.catch((e) => console.log(e.name, tokens.waiting)), 100);`;
    const r = spawnSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: ROOT, encoding: 'utf8' });
    expect({ status: r.status, stdout: r.stdout.trim() }).toEqual({ status: 0, stdout: 'States.Timeout 0' });
  });

  test('a task that failed before its answer stops waiting', () => {
    const tokens = localTaskTokens();
    const { token } = tokens.wait(60_000);
    expect(tokens.waiting).toBe(1);
    tokens.cancel(token);
    expect(tokens.waiting).toBe(0);
  });
});
