import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import {
  ExportRejectedError,
  PiecesMissingError,
  PoisonMessageError,
  RunInProgressError,
} from '../../functions/core/errors';
import { chunkId } from '../../functions/core/keys';
import { type ChunkDeps, processChunk } from '../../functions/core/pipeline/chunk-work';
import type { ChunkMessage } from '../../functions/core/pipeline/chunks';
import { decideExport } from '../../functions/core/pipeline/decide-export';
import { discardChunk, recordChunk, stageStatus } from '../../functions/core/pipeline/progress';
import {
  type PartDeps,
  type PartMessage,
  splitReport,
  workPart,
} from '../../functions/core/pipeline/report-parts';
import { runResults } from '../../functions/core/pipeline/results';
import { bucketExportSource, type Run, startRun, type WorkflowDeps } from '../../functions/core/pipeline/run';
import { PARTITIONING, stageBudget } from '../../functions/core/pipeline/sizing';
import { SPLIT_CONCURRENCY, splitStage } from '../../functions/core/pipeline/split';
import { buildStagePlan, REPORT_STAGES } from '../../functions/core/pipeline/stages';
import { rollbackWave } from '../../functions/core/pipeline/withdraw';
import { ENTITIES, type Entity, QUEUED, type Queued } from '../../functions/core/pipeline/workers';
import type { ChunkQueue } from '../../functions/core/ports';
import type { Verification } from '../../functions/core/report/summary';
import type { DecidedRecord } from '../../functions/core/rules/decide';
import { validateExport } from '../../functions/core/rules/manifest';
import { compilePolicy } from '../../functions/core/rules/policy';
import { reportInProcess, verifyRun } from '../../functions/core/verify/verify';
import { makeHandler as runStatusHandler } from '../../functions/run-status/handler';
import { makeHandler as twinspaceHandler } from '../../functions/twinspace/handler';
import { fsExportSource } from '../../local/runtime/fs-export-source';
import { generateExport } from '../../tools/generate';
import { memoryIdentities, memoryObjects, memoryStore } from '../helpers/memory-ports';
import { sqsEvent } from '../helpers/sqs';

/**
 * The distributed workflow (the Lambda functions' logic) against in-memory ports: every chunk message is
 * delivered twice, in shuffled order, and the result must equal `plan` decision for decision.
 */
// Each test runs whole verifies or reports over the run (seconds on a busy 2-core machine, beyond
// jest's 5 s): a test that timed out would go on restoring the target under the next one.
jest.setTimeout(60_000);
const policy = compilePolicy();
let dir: string;
let exportDir: string;
let planned: DecidedRecord[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'esep-wf-'));
  exportDir = join(dir, 'wf-export');
  await generateExport({ out: exportDir, accounts: 160, seed: 42 });
  const source = fsExportSource(exportDir);
  planned = [];
  await decideExport({
    source,
    validated: await validateExport(source),
    policy,
    waves: buildStagePlan(policy),
    sink: (r) => void planned.push(r),
  });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
}, 60_000);

function upload(objects: ReturnType<typeof memoryObjects>['store']) {
  const walk = async (sub: string) => {
    for (const e of readdirSync(join(exportDir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(rel);
      else await objects.put('exports', `exports/wf-export/${rel}`, readFileSync(join(exportDir, rel)));
    }
  };
  return walk('');
}

/** The generated export's accounts, parsed (its deliberately broken lines left out). */
function exportedAccounts(): Record<string, unknown>[] {
  const manifest = JSON.parse(readFileSync(join(exportDir, 'manifest.json'), 'utf8'));
  const path = manifest.files.find((f: { kind: string }) => f.kind === 'accounts').path as string;
  const bytes = readFileSync(join(exportDir, path));
  return (path.endsWith('.gz') ? gunzipSync(bytes) : bytes)
    .toString('utf8')
    .split('\n')
    .flatMap((l) => {
      try {
        return [JSON.parse(l)];
      } catch {
        return [];
      }
    });
}

/** A deterministic shuffle, each message twice. */
function redeliver<T>(items: T[], seed: number): T[] {
  const twice = [...items, ...items];
  let s = seed;
  for (let i = twice.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [twice[i], twice[j]] = [twice[j] as T, twice[i] as T];
  }
  return twice;
}

/** The workflow's dependencies over in-memory ports, the export under exports/wf-export/. */
const workflowOver = (
  store: WorkflowDeps['store'],
  objects: WorkflowDeps['objects'],
  chunkLines?: number,
): WorkflowDeps => ({
  policy,
  store,
  objects,
  exportsBucket: 'exports',
  source: (id) => bucketExportSource(objects, 'exports', id),
  emailSecret: async () => 'test-secret',
  ...(chunkLines
    ? {
        // Joins and the summary's merge a few objects a step, so that they hand on as a large export's do.
        partitioning: {
          ...PARTITIONING,
          chunkLines,
          // A stage's split goes a few chunks a page, as the full-size export's stages do.
          splitChunks: 4,
          reportResults: 3,
          partitionRecords: 40,
          verifyKeys: 25,
          joinObjects: 4,
          summaryTallies: 8,
          receiptsPerStep: 3,
          spoolPuts: 4,
        },
      }
    : {}),
});

/** An entity worker's dependencies over the ports in memory. */
const chunkDeps = (store: WorkflowDeps['store'], objects: WorkflowDeps['objects']): ChunkDeps => ({
  store,
  objects,
  policy,
  exportsBucket: 'exports',
  migratedBucket: 'migrated',
  emailSecret: async () => 'test-secret',
  identities: memoryIdentities().store,
});

/** Every page of a stage's split, as the state machine goes through them (`next` until none); their pages. */
async function splitAll(run: Run, stage: string, deps: Parameters<typeof splitStage>[2]) {
  const pages: Awaited<ReturnType<typeof splitStage>>[] = [];
  for (let from: number | undefined = 0; from !== undefined; ) {
    const page = await splitStage(run, stage, deps, from);
    pages.push(page);
    from = page.next;
  }
  return pages;
}

async function runWorkflow(wave = 'all') {
  const { store, runs } = memoryStore();
  const { store: objects, objects: raw } = memoryObjects();
  await upload(objects);
  const workflow = workflowOver(store, objects, 17);
  const entityDeps = chunkDeps(store, objects);
  const queued: { entity: Queued; message: object }[] = [];
  const run = await startRun({ key: 'exports/wf-export/manifest.json', wave }, workflow);
  let delivered = 0;
  for (const plan of buildStagePlan(policy).filter((w) => run.waves.includes(w.wave))) {
    for (const stage of plan.stages) {
      await splitAll(run, stage.id, {
        ...workflow,
        queue: async (entity, messages) =>
          void queued.push(...messages.map((message) => ({ entity, message }))),
      });
      for (const { entity, message } of redeliver(queued.splice(0), delivered + 7)) {
        await processChunk(entity as Entity, JSON.stringify(message), entityDeps);
        delivered++;
      }
      expect(await stageStatus(run, stage.id, workflow)).toMatchObject({ done: true });
    }
  }
  const records: DecidedRecord[] = [];
  for await (const r of runResults(run, workflow)) records.push(r);
  const report = await reportInProcess(run, {
    ...workflow,
    reportsBucket: 'reports',
    migratedBucket: 'migrated',
  });
  return {
    run,
    records,
    report,
    runs,
    raw,
    delivered,
    workflow,
    entityDeps,
    workflowStore: { store, runs },
  };
}

const key = (r: DecidedRecord) =>
  `${r.kind}|${r.id}|${r.decision}|${r.reason}|${r.detail ?? ''}|${[...r.owners].join(',')}`;

describe('one execution per export at a time', () => {
  test('a second execution for the same export is refused until the first ends; a stale lock is taken over', async () => {
    const { store } = memoryStore();
    const { store: objects } = memoryObjects();
    await upload(objects);
    let now = new Date('2022-09-01T10:00:00Z');
    const workflow = { ...workflowOver(store, objects), now: () => now };
    const start = (executionId: string) =>
      startRun({ key: 'exports/wf-export/manifest.json', executionId }, workflow);
    const first = await start('exec-1');
    expect(first.executionId).toBe('exec-1');
    await expect(start('exec-2')).rejects.toThrow(RunInProgressError);
    await expect(start('exec-2')).rejects.toThrow(/being run by execution exec-1 since 2022-09-01T10:00:00/);
    // The same execution again (a retried validate) keeps its lock.
    expect((await start('exec-1')).executionId).toBe('exec-1');
    // The run's end (its report, whatever its status) gives the lock back.
    await reportInProcess(first, { ...workflow, reportsBucket: 'reports', migratedBucket: 'migrated' }).catch(
      () => undefined,
    );
    expect(await store.runLocks()).toEqual([]);
    expect((await start('exec-2')).executionId).toBe('exec-2');
    // A lock older than the state machine's timeout belongs to an execution that no longer runs.
    now = new Date('2022-09-02T10:00:01Z');
    expect((await start('exec-3')).executionId).toBe('exec-3');
    // A failed run gives it back on its failure path; a refused start holds none to give.
    await runStatusHandler({ store })({
      run: { ...first, waves: [...first.waves], executionId: 'exec-3' },
      error: { Error: 'X' },
    });
    expect(await store.runLocks()).toEqual([]);
  });
});

describe('split', () => {
  test('a step that does not work its kind last copies each chunk from its piece, then sends their messages a page at a time; the last sends the pieces themselves; a failed copy fails the split and sends nothing', async () => {
    const { store } = memoryStore();
    const { store: objects, objects: raw } = memoryObjects();
    await upload(objects);
    const events: string[] = [];
    const watched = {
      ...objects,
      put: async (bucket: string, key: string, body: string | Uint8Array, type?: string) => {
        if (key.startsWith('work/')) events.push(key.includes('/pieces/') ? 'cut' : 'put');
        return objects.put(bucket, key, body, type);
      },
      copy: async (fromBucket: string, fromKey: string, toBucket: string, toKey: string) => {
        events.push('copy');
        return objects.copy(fromBucket, fromKey, toBucket, toKey);
      },
    };
    const workflow = workflowOver(store, watched, 5);
    const run = await startRun({ key: 'exports/wf-export/manifest.json', wave: 'sept-2022' }, workflow);
    // The run's start read every file once: it cut the kinds its stages work into pieces.
    const cut = events.filter((e) => e === 'cut').length;
    expect(cut).toBe(Object.values(run.pieces ?? {}).reduce((n, f) => n + (f?.pieces ?? 0), 0));
    expect(run.pieces?.accounts?.pieces).toBeGreaterThan(SPLIT_CONCURRENCY * 2);
    // A copy that fails fails the split (no stray rejection), and no message goes out for a missing chunk.
    const failing = { ...objects, copy: async () => Promise.reject(new Error('S3 is down')) };
    let sentAfterFailure = 0;
    await expect(
      splitStage(run, 'identities/index', {
        ...workflowOver(store, failing, 5),
        queue: async () => void sentAfterFailure++,
      }),
    ).rejects.toThrow('S3 is down');
    expect(sentAfterFailure).toBe(0);
    // identities/index works accounts before identities/link does: it copies them.
    events.length = 0;
    const sent: ChunkMessage[] = [];
    const queue = async (_: Queued, messages: readonly object[]) => {
      events.push('send');
      sent.push(...(messages as ChunkMessage[]));
    };
    const pages = await splitAll(run, 'identities/index', { ...workflow, queue });
    const chunks = pages[0]?.chunks ?? 0;
    expect(chunks).toBe(run.pieces?.accounts?.pieces);
    expect(pages.length).toBe(Math.ceil(chunks / 4));
    expect(sent).toHaveLength(chunks);
    // A split reads no export file and stores nothing itself; each page sends once its copies are done.
    expect(events.filter((e) => e === 'put' || e === 'cut')).toEqual([]);
    expect(events.filter((e, i) => e !== events[i - 1])).toEqual(pages.flatMap(() => ['copy', 'send']));
    expect(events.filter((e) => e === 'copy')).toHaveLength(chunks);
    expect(sent.every((m) => m.key.includes('/accounts.identify/') && raw.has(`exports/${m.key}`))).toBe(
      true,
    );
    // The run's last step that works twinspace items (and the only one): its pieces themselves, no copy.
    events.length = 0;
    sent.length = 0;
    const last = await splitAll(run, 'sept-2022/decide-2', { ...workflow, queue });
    expect(events.filter((e) => e === 'copy')).toEqual([]);
    expect(sent).toHaveLength(last[0]?.chunks ?? -1);
    expect(sent.every((m) => m.piece === true && m.key.includes('/pieces/twinspace-items/'))).toBe(true);
  });

  test('a page run again sends only what has no marker; a worked piece is deleted by its coordinates', async () => {
    const { store } = memoryStore();
    const { store: objects, objects: raw } = memoryObjects();
    await upload(objects);
    const workflow = workflowOver(store, objects, 5);
    const paged = {
      ...workflow,
      partitioning: { ...(workflow.partitioning ?? PARTITIONING), splitChunks: 7 },
    };
    const run = await startRun({ key: 'exports/wf-export/manifest.json', wave: 'sept-2022' }, paged);
    const pieceKeys = () => [...raw.keys()].filter((k) => k.includes('/pieces/accounts/')).sort();
    const accountPieces = pieceKeys();
    expect(accountPieces).toHaveLength(run.pieces?.accounts?.pieces ?? -1);
    const sent: ChunkMessage[] = [];
    const queue = async (_: Queued, messages: readonly object[]) =>
      void sent.push(...(messages as ChunkMessage[]));
    // No stage of sept-2022 decides accounts: identities/link works them last in its run.
    const pages = await splitAll(run, 'identities/link', { ...paged, queue });
    const chunks = pages[0]?.chunks ?? 0;
    expect(pages.map((p) => p.sent)).toEqual(pages.map((_, i) => Math.min(7, chunks - 7 * i)));
    expect(sent.map((m) => m.chunk)).toEqual(accountPieces.map((_, i) => i));
    expect(sent.map((m) => `exports/${m.key}`)).toEqual(accountPieces);
    // A page run again (the state machine's retry) sends only the chunks that recorded no marker.
    const [done] = sent;
    if (!done) throw new Error('no chunk sent');
    await store.putChunkMarker(run.scope, done.stage, chunkId(done), {
      lines: 1,
      migrated: 0,
      dropped: 0,
      quarantined: 0,
    });
    sent.length = 0;
    expect((await splitStage(run, 'identities/link', { ...paged, queue }, 0)).sent).toBe(6);
    expect(sent.map((m) => m.chunk)).toEqual([1, 2, 3, 4, 5, 6]);
    // Worked, a piece is deleted by its coordinates (whatever key the message names), as any chunk.
    await discardChunk(
      { ...done, key: 'exports/wf-export/manifest.json' },
      { objects, exportsBucket: 'exports' },
    );
    expect(pieceKeys()).toEqual(accountPieces.slice(1));
    expect(raw.has('exports/exports/wf-export/manifest.json')).toBe(true);
    // A run that validate did not open (a status read back by an earlier version) has no pieces.
    await expect(
      splitStage({ ...run, pieces: undefined }, 'identities/link', { ...paged, queue }, 0),
    ).rejects.toThrow(PiecesMissingError);
  });

  test("budgets each stage's workers from the deployment's capacity, and a worker paces itself to it", async () => {
    const { store } = memoryStore();
    const { store: objects } = memoryObjects();
    await upload(objects);
    const capacity = {
      tableWritesPerSecond: 40_000,
      tableReadsPerSecond: 40_000,
      bucketWritesPerSecond: 3_500,
      bucketReadsPerSecond: 5_500,
      workers: Object.fromEntries(QUEUED.map((q) => [q, 10])) as Record<Queued, number>,
    };
    const workflow = { ...workflowOver(store, objects, 50), capacity };
    const run = await startRun({ key: 'exports/wf-export/manifest.json', wave: 'all' }, workflow);
    const sent: { entity: Queued; budget?: unknown; msg: object }[] = [];
    const queue = async (entity: Queued, messages: readonly object[]) =>
      void sent.push(
        ...messages.map((msg) => ({ entity, budget: (msg as { budget?: unknown }).budget, msg })),
      );
    for (const plan of buildStagePlan(policy))
      for (const stage of plan.stages) {
        sent.length = 0;
        await splitAll(run, stage.id, { ...workflow, queue });
        const queues = [...new Set(sent.map((m) => m.entity))];
        expect(queues.length).toBeGreaterThan(0);
        // Every message of the stage carries the same share: the capacity over the workers of its queues,
        // no more of them than each queue has messages.
        const messages = Object.fromEntries(
          queues.map((q) => [q, sent.filter((m) => m.entity === q).length]),
        );
        for (const m of sent) expect(m.budget).toEqual(stageBudget(capacity, queues, messages));
      }
    // A stage of one entity (2023/index: group items) gives its workers four times a four-entity share.
    expect(stageBudget(capacity, ['group']).tableWrites).toBe(
      4 * stageBudget(capacity, ENTITIES).tableWrites,
    );
    // The worker applies the budget of the message it works.
    const applied: unknown[] = [];
    const last = sent.at(-1) as (typeof sent)[number];
    await processChunk(last.entity as Entity, JSON.stringify(last.msg), {
      ...chunkDeps(store, objects),
      applyBudget: (b) => void applied.push(b),
    });
    expect(applied).toEqual([last.budget]);
  });
});

describe('the workflow over chunks, with at-least-once delivery', () => {
  let result: Awaited<ReturnType<typeof runWorkflow>>;
  // A whole run in memory, report and verify included: seconds on a busy machine.
  beforeAll(async () => {
    result = await runWorkflow();
  }, 60_000);

  test('a map part puts its spool and a receipts partition its receipts a page per invocation, handing the rest on: the same receipts', async () => {
    // The run's report made again (another start, so other markers and spool), its parts worked one
    // message at a time as the report's queue delivers them, counting each invocation's receipt files.
    const again = {
      ...result.run,
      startedAt: new Date(Date.parse(result.run.startedAt) + 1000).toISOString(),
    };
    const receiptKeys = () =>
      [...result.raw.keys()].filter((k) => k.startsWith('reports/') && k.includes('/receipts/'));
    const before = new Map(receiptKeys().map((k) => [k, result.raw.get(k)?.toString('utf8')]));
    for (const k of before.keys()) result.raw.delete(k);
    const queued: PartMessage[] = [];
    let puts = 0;
    let spooled = 0;
    const deps: PartDeps & { queue: ChunkQueue } = {
      ...result.workflow,
      objects: {
        ...result.workflow.objects,
        put: async (bucket, key, body, type) => {
          if (key.includes('/receipts/')) puts++;
          if (key.includes('/spool/') || key.includes('/expected/')) spooled++;
          return result.workflow.objects.put(bucket, key, body, type);
        },
      },
      reportsBucket: 'reports',
      migratedBucket: 'migrated',
      queue: async (_q, messages) => void queued.push(...(messages as PartMessage[])),
    };
    const perInvocation: number[] = [];
    const spooledPerInvocation: number[] = [];
    const handedOn = { map: 0, receipts: 0 };
    for (const stage of Object.values(REPORT_STAGES)) {
      for (let from: number | undefined = 0; from !== undefined; )
        from = (await splitReport(again, stage, deps, from)).next;
      for (let msg = queued.shift(); msg; msg = queued.shift()) {
        [puts, spooled] = [0, 0];
        if (msg.op === 'verify') continue;
        if (msg.built) handedOn.receipts++;
        if (msg.spooled) handedOn.map++;
        await workPart(msg, deps);
        perInvocation.push(puts);
        spooledPerInvocation.push(spooled);
      }
    }
    const FILES_PER_RECEIPT = 5;
    expect(handedOn.receipts).toBeGreaterThan(0);
    expect(handedOn.map).toBeGreaterThan(0);
    expect(Math.max(...perInvocation)).toBeLessThanOrEqual(3 * FILES_PER_RECEIPT);
    // A map part's spool objects, and a receipts step's joined spool.
    expect(Math.max(...spooledPerInvocation)).toBeLessThanOrEqual(4);
    // Every receipt again, under the same keys (their contents name the run's start).
    expect(receiptKeys().sort()).toEqual([...before.keys()].sort());
    expect(before.size).toBeGreaterThan(3 * 3);
  });

  test('agrees with plan, decision for decision, in the same order', () => {
    expect(result.delivered).toBeGreaterThan(100);
    expect(result.records.map(key)).toEqual(planned.map(key));
  });

  test('the result objects (the ledger) hold one row per line, the run is recorded as finished', () => {
    expect(result.records).toHaveLength(planned.length);
    expect([...result.runs.values()].map((r) => r.state)).toEqual(['completed-with-quarantine']);
    expect(result.report.summary.status).toBe('completed-with-quarantine');
  });

  test('migrated records are in the target under their own prefix; nothing dropped or quarantined is', () => {
    const target = [...result.raw.keys()].filter((k) => k.startsWith('migrated/'));
    const migratedItems = planned.filter((r) => r.kind === 'twinspace-items' && r.decision === 'migrated');
    for (const item of migratedItems)
      expect(target.some((k) => k.includes(`/items/${item.id}.json`))).toBe(true);
    const notMigrated = planned.filter((r) => r.kind === 'twinspace-items' && r.decision !== 'migrated');
    for (const item of notMigrated) expect(target.some((k) => k.includes(`/items/${item.id}`))).toBe(false);
    expect(target.every((k) => k.startsWith('migrated/wf-export/'))).toBe(true);
    expect(target.some((k) => k.includes('..'))).toBe(false);
  });

  test('migrated files are byte-identical copies, and no password hash, login or e-mail reaches the target', () => {
    const files = [...result.raw.entries()].filter(
      ([k]) => k.startsWith('migrated/') && !k.endsWith('.json'),
    );
    expect(files.length).toBeGreaterThan(10);
    const documents = [...result.raw.entries()].filter(
      ([k]) => k.startsWith('migrated/') && k.endsWith('.json'),
    );
    const refs = documents.flatMap(([, v]) => {
      const doc = JSON.parse(v.toString('utf8'));
      return [doc.file, doc.profilePhoto].filter(Boolean) as { key: string; sha256: string }[];
    });
    expect(refs.length).toBe(files.length);
    for (const ref of refs) {
      const bytes = result.raw.get(`migrated/${ref.key}`);
      expect(bytes && createHash('sha256').update(bytes).digest('hex')).toBe(ref.sha256);
    }
    const text = [...result.raw.entries()]
      .filter(([k]) => k.startsWith('migrated/'))
      .map(([, v]) => v.toString('utf8'))
      .join('\n');
    expect(text).not.toMatch(/passwordHash|"login"|"email"|@school\d+\.example\.eu/);
  });

  test("a run leaves no chunk set behind: the export's lines are deleted once worked, and what stays in the work area holds no e-mail, password hash or login (ID-1)", () => {
    const staged = [...result.raw.entries()].filter(([k]) => k.startsWith('exports/work/'));
    expect(staged.length).toBeGreaterThan(10); // the ledger (results), the report's parts
    expect(staged.map(([k]) => k).filter((k) => /\.(decide|index|identify|link)\//.test(k))).toEqual([]);
    // The pieces validate cut: each deleted by the last stage that copied it.
    expect(staged.map(([k]) => k).filter((k) => k.includes('/pieces/'))).toEqual([]);
    const credentials = exportedAccounts().flatMap((a) =>
      [a.passwordHash, a.login].filter((v): v is string => typeof v === 'string' && v.length >= 6),
    );
    expect(credentials.length).toBeGreaterThan(10);
    const text = staged.map(([, v]) => v.toString('utf8')).join('\n');
    expect(text).not.toMatch(/@school\d+\.example\.eu/);
    expect(credentials.filter((c) => text.includes(c))).toEqual([]);
    expect(text).not.toMatch(/passwordHash/);
  });

  test('a single wave decides only its kinds and agrees with plan for them', async () => {
    const nov = await runWorkflow('nov-2022');
    const expected = planned.filter((r) => r.wave === 'nov-2022');
    expect(nov.records.map(key)).toEqual(expected.map(key));
  });
});

describe('the steps at their edges', () => {
  test('a damaged export is rejected before anything is written', async () => {
    const { store, runs } = memoryStore();
    const { store: objects, objects: raw } = memoryObjects();
    await upload(objects);
    const mailbox = raw.get('exports/exports/wf-export/mailbox.ndjson') as Buffer;
    raw.set('exports/exports/wf-export/mailbox.ndjson', Buffer.from('{"id":"smuggled"}\n'));
    const workflow = workflowOver(store, objects);
    await expect(startRun({ key: 'exports/wf-export/manifest.json' }, workflow)).rejects.toThrow(
      ExportRejectedError,
    );
    expect(runs.size).toBe(0);
    // A file found damaged after others were cut: the pieces cut of them are deleted, the lock given back.
    raw.set('exports/exports/wf-export/mailbox.ndjson', mailbox);
    const manifest = JSON.parse(raw.get('exports/exports/wf-export/manifest.json')?.toString('utf8') ?? '{}');
    const lastFile = manifest.files.at(-1);
    raw.set(
      `exports/exports/wf-export/${lastFile.path}`,
      Buffer.concat([
        raw.get(`exports/exports/wf-export/${lastFile.path}`) ?? Buffer.alloc(0),
        Buffer.from('\n'),
      ]),
    );
    const cut: string[] = [];
    const watched = {
      ...objects,
      put: async (bucket: string, key: string, body: string | Uint8Array, type?: string) => {
        if (key.includes('/pieces/')) cut.push(key);
        return objects.put(bucket, key, body, type);
      },
    };
    await expect(
      startRun({ key: 'exports/wf-export/manifest.json', executionId: 'e1' }, workflowOver(store, watched)),
    ).rejects.toThrow(new RegExp(`${lastFile.path}: SHA-256 is`));
    expect(cut.length).toBeGreaterThan(0);
    expect([...raw.keys()].filter((k) => k.startsWith('exports/work/'))).toEqual([]);
    expect(runs.size).toBe(0);
    expect(await store.runLocks()).toEqual([]);
    await expect(startRun({ key: 'uploads/x/manifest.json' }, workflow)).rejects.toThrow(/no export named/);
    await expect(startRun({ exportId: 'wf-export', wave: '2030' }, workflow)).rejects.toThrow(
      /unknown wave "2030"/,
    );
  });

  test('a stage is not done until every chunk has recorded its marker and its count', async () => {
    const { store } = memoryStore();
    const run: Run = {
      exportId: 'x',
      scope: 'x@1',
      waves: ['sept-2022'],
      startedAt: new Date(0).toISOString(),
    };
    const counts = { lines: 1, migrated: 0, dropped: 0, quarantined: 0 };
    await store.putStageExpectation(run.scope, 'sept-2022/decide-1', { 'projects.decide': 2 });
    await recordChunk(run.scope, 'sept-2022/decide-1', 'projects.decide.000000', counts, { store });
    expect(await stageStatus(run, 'sept-2022/decide-1', { store })).toMatchObject({
      done: false,
      chunks: 1,
      expected: 2,
      stalled: false,
    });
    expect(
      await store.putChunkMarker(run.scope, 'sept-2022/decide-1', 'projects.decide.000000', counts),
    ).toBe(false);
    // Queues drained while a chunk is missing: stalled after three checks in a row, not before.
    let checks = 0;
    const drained = { store, pendingMessages: async () => 0 };
    for (let i = 1; i <= 3; i++) {
      const status = await stageStatus(run, 'sept-2022/decide-1', drained, checks);
      checks = status.stalledChecks;
      expect(status).toMatchObject({ stalledChecks: i, stalled: i === 3 });
    }
    expect(
      await stageStatus(run, 'sept-2022/decide-1', { store, pendingMessages: async () => 1 }, 2),
    ).toMatchObject({ stalledChecks: 0, stalled: false });
    await recordChunk(run.scope, 'sept-2022/decide-1', 'projects.decide.000001', counts, { store });
    expect(await stageStatus(run, 'sept-2022/decide-1', drained, 2)).toMatchObject({
      done: true,
      chunks: 2,
      expected: 2,
      stalled: false,
    });
    await expect(stageStatus(run, 'nov-2022/decide-1', { store })).rejects.toThrow(/never split/);
  });

  test('poison messages are refused with a typed error, and the SQS handler reports only them as failed', async () => {
    const { store } = memoryStore();
    const { store: objects } = memoryObjects();
    const deps = chunkDeps(store, objects);
    await expect(processChunk('twinspace', 'not json', deps)).rejects.toThrow(PoisonMessageError);
    const wrongQueue = {
      scope: 's',
      exportId: 'e',
      wave: 'w',
      stage: 's/ids',
      op: 'decide',
      kind: 'accounts',
      path: 'a',
      chunk: 0,
      key: 'k',
    };
    await expect(processChunk('twinspace', JSON.stringify(wrongQueue), deps)).rejects.toThrow(
      /does not belong to twinspace/,
    );
    await objects.put('exports', 'k', '{"n":1,"t":"{\\"id\\":\\"p1\\"}"}\n');
    const good = { ...wrongQueue, kind: 'twinspace-items' };
    const handler = twinspaceHandler(deps);
    const response = await handler(sqsEvent(['m1', JSON.stringify(good)], ['m2', '{"broken"']));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm2' }]);
  });
});

test("two deliveries of one chunk at once: the one that finds the chunk deleted by the other's end stops at its marker, not in the dead-letter queue", async () => {
  const { store } = memoryStore();
  const { store: objects, objects: raw } = memoryObjects();
  await upload(objects);
  const workflow = workflowOver(store, objects, 17);
  const run = await startRun({ key: 'exports/wf-export/manifest.json', wave: 'sept-2022' }, workflow);
  const stage = (buildStagePlan(policy).find((w) => w.wave === 'sept-2022')?.stages[0]?.id ?? '') as string;
  const queued: { entity: Queued; message: object }[] = [];
  await splitStage(run, stage, {
    ...workflow,
    queue: async (entity, messages) => void queued.push(...messages.map((message) => ({ entity, message }))),
  });
  const [first] = queued;
  if (!first) throw new Error('no chunk');
  const body = JSON.stringify(first.message);
  const chunkKey = (first.message as { key: string }).key;
  expect(raw.has(`exports/${chunkKey}`)).toBe(true);
  // The first delivery works the chunk, records its marker and deletes the chunk's object.
  expect(await processChunk(first.entity as Entity, body, chunkDeps(store, objects))).toMatchObject({
    done: 'now',
  });
  expect(raw.has(`exports/${chunkKey}`)).toBe(false);
  // The second looked for the marker before the first recorded it, then finds the object gone.
  let looked = 0;
  const late = {
    ...store,
    hasChunkMarker: async (...args: Parameters<typeof store.hasChunkMarker>) =>
      looked++ > 0 && store.hasChunkMarker(...args),
  };
  expect(await processChunk(first.entity as Entity, body, chunkDeps(late, objects))).toMatchObject({
    done: 'before',
  });
  // A chunk that no delivery worked and whose object is gone is a poison message still.
  const [, second] = queued;
  if (!second) throw new Error('a second chunk');
  raw.delete(`exports/${(second.message as { key: string }).key}`);
  await expect(
    processChunk(second.entity as Entity, JSON.stringify(second.message), chunkDeps(store, objects)),
  ).rejects.toThrow(PoisonMessageError);
});

describe('verify reads the target back', () => {
  let result: Awaited<ReturnType<typeof runWorkflow>>;
  // A whole run in memory, report and verify included: seconds on a busy machine.
  beforeAll(async () => {
    result = await runWorkflow();
  }, 60_000);
  const verifyDeps = () => ({ ...result.workflow, migratedBucket: 'migrated' });
  const failed = (v: Verification) => v.checks.filter((c) => !c.passed).map((c) => c.name);
  /** Runs verify on a copy of the target changed by `tamper`, then puts the target back. */
  async function verifyTampered(
    tamper: (target: Map<string, Buffer>) => void,
    ranges = 1,
    pageKeys?: number,
  ): Promise<Verification> {
    const saved = new Map(result.raw);
    tamper(result.raw);
    try {
      return await verifyRun(result.run, verifyDeps(), pageKeys, ranges);
    } finally {
      result.raw.clear();
      for (const [k, v] of saved) result.raw.set(k, v);
    }
  }
  const documentOf = (kind: string, decision: string) => {
    const record = planned.find((r) => r.kind === kind && r.decision === decision);
    const key = [...result.raw.keys()].find(
      (k) => k.startsWith('migrated/') && k.endsWith('.json') && k.includes(`/${record?.id}`),
    );
    return { record, key };
  };

  test('an undisturbed run passes every check, and each check covered something', async () => {
    const v = await verifyRun(result.run, verifyDeps());
    expect(failed(v)).toEqual([]);
    // Every check covered something (nothing was withdrawn from this target: the rollback test does that).
    for (const c of v.checks) if (c.name !== 'withdrawn') expect(c.checked).toBeGreaterThan(0);
    const migrated = planned.filter((r) => r.decision === 'migrated').length;
    expect(v.checks.find((c) => c.name === 'documents')?.checked).toBe(migrated);
  });

  test('page by page, and fanned out over partitions and parts, it reaches the same verdict', async () => {
    const whole = await verifyRun(result.run, verifyDeps());
    // Three keys per page: every partition's check is handed on many times.
    expect(await verifyRun(result.run, verifyDeps(), 3)).toEqual(whole);
    // The run's report verified through its parts (25 keys per verify invocation, tallies merged).
    expect(result.report.summary.verification).toEqual(whole);
  });

  test('a dropped record in the target fails "not-migrated"', async () => {
    const { key } = documentOf('twinspace-items', 'migrated');
    const dropped = planned.find((r) => r.kind === 'twinspace-items' && r.decision === 'dropped');
    const v = await verifyTampered((t) => {
      const doc = JSON.parse(t.get(key as string)?.toString('utf8') ?? '{}');
      t.set(
        (key as string).replace(/[^/]+\.json$/, `${dropped?.id}.json`),
        Buffer.from(JSON.stringify({ ...doc, id: dropped?.id })),
      );
    });
    expect(failed(v)).toEqual(['not-migrated']);
    expect(v.checks.find((c) => c.name === 'not-migrated')?.problems[0]).toMatch(
      /is in the target but was not migrated by this run/,
    );
  });

  test('a file whose bytes changed, or a missing document, fails its check', async () => {
    const file = [...result.raw.keys()].find((k) => k.startsWith('migrated/') && !k.endsWith('.json'));
    const changed = await verifyTampered((t) => t.set(file as string, Buffer.from('not the original bytes')));
    expect(failed(changed)).toEqual(['files']);
    const { record, key } = documentOf('portfolio', 'migrated');
    const missing = await verifyTampered((t) => t.delete(key as string));
    expect(failed(missing)).toEqual(['documents']);
    // Named, record and key, as the other checks name theirs; the same when the partition is paged.
    const named = `portfolio ${record?.id}: migrated by this run, but its document ${(key as string).slice('migrated/'.length)} is not in the target`;
    expect(missing.checks.find((c) => c.name === 'documents')?.problems).toContain(named);
    for (const [ranges, pageKeys] of [
      [3, undefined],
      [1, 3],
      [3, 3],
    ]) {
      const v = await verifyTampered((t) => t.delete(key as string), ranges, pageKeys);
      expect(v.checks.find((c) => c.name === 'documents')?.problems).toContain(named);
    }
  });

  test("an account's password hash or a stray object in the target fails its check", async () => {
    const withHash = exportedAccounts().find((a) => typeof a.passwordHash === 'string') as {
      passwordHash: string;
    };
    const { key } = documentOf('groups', 'migrated');
    const leaked = await verifyTampered((t) => {
      const doc = JSON.parse(t.get(key as string)?.toString('utf8') ?? '{}');
      t.set(key as string, Buffer.from(JSON.stringify({ ...doc, note: withHash.passwordHash })));
    });
    expect(failed(leaked)).toEqual(['credentials']);
    expect(leaked.checks.find((c) => c.name === 'credentials')?.problems[0]).toMatch(/\.note$/);
    // A run without its index of the export's credentials (started before validate wrote one): the check
    // fails, saying why and what to do, once; the others still pass.
    for (const ranges of [1, 3]) {
      const unindexed = await verifyTampered((t) => {
        for (const k of [...t.keys()]) if (k.includes('/forbidden/')) t.delete(k);
      }, ranges);
      expect(failed(unindexed)).toEqual(['credentials']);
      expect(unindexed.checks.find((c) => c.name === 'credentials')?.problems).toEqual([
        expect.stringMatching(
          /index of the values that must never reach the target is missing.*run the export again/,
        ),
      ]);
    }
    const stray = await verifyTampered((t) => t.set('migrated/wf-export/notes/readme.txt', Buffer.from('x')));
    expect(failed(stray)).toEqual(['not-migrated']);
    // Wherever a stray key sorts: before, between or after the areas, or under an area with an id that
    // no partition of printable characters covers.
    for (const key of ['aaa.txt', 'zzz/x', 'profiles/ odd/profile.json', 'events/\u00e9.json', 'groups'])
      for (const ranges of [1, 7]) {
        const found = await verifyTampered(
          (t) => t.set(`migrated/wf-export/${key}`, Buffer.from('x')),
          ranges,
        );
        expect([key, ranges, failed(found)]).toEqual([key, ranges, ['not-migrated']]);
      }
  }, 60_000);

  test('a rolled-back wave leaves nothing in the target, verify proves it, and the wave runs again', async () => {
    const saved = new Map(result.raw);
    const { store, runs } = result.workflowStore;
    try {
      const rollbackDeps = {
        workflow: result.workflow,
        store,
        objects: result.workflow.objects,
        migratedBucket: 'migrated',
        identities: memoryIdentities().store,
      };
      const [rolled] = await rollbackWave('wf-export', '2023', rollbackDeps);
      const migrated2023 = planned.filter((r) => r.wave === '2023' && r.decision === 'migrated');
      expect(rolled?.withdrawn).toBe(migrated2023.length);
      // Nothing of the wave's records is left: no profile, activity or event document, no photo.
      expect(
        [...result.raw.keys()].filter((k) => /^migrated\/wf-export\/(profiles|events)\//.test(k)),
      ).toEqual([]);
      expect([...result.raw.keys()].some((k) => k.startsWith('migrated/wf-export/twinspaces/'))).toBe(true);
      const v = await verifyRun(result.run, verifyDeps());
      expect(failed(v)).toEqual([]);
      expect(v.checks.find((c) => c.name === 'withdrawn')?.checked).toBe(migrated2023.length);
      expect([...runs.values()].find((r) => r.waves.join() === '2023')).toMatchObject({
        state: 'rolled-back',
      });
      // A withdrawn record put back by hand fails the check.
      const again = await verifyTampered((t) => {
        for (const [k, b] of saved) if (/^migrated\/wf-export\/profiles\//.test(k)) t.set(k, b);
      });
      expect(failed(again)).toContain('withdrawn');
      // The wave's markers are gone: it can run again (its stages have nothing done).
      for (const stage of buildStagePlan(policy).find((w) => w.wave === '2023')?.stages ?? [])
        expect((await stageStatus(result.run, stage.id, result.workflow)).chunks).toBe(0);
    } finally {
      result.raw.clear();
      for (const [k, v] of saved) result.raw.set(k, v);
    }
  }, 60_000);
});
