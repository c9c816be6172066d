import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileSystemError } from '../../cli/messages';
import { ExportRejectedError } from '../../functions/core/errors';
import { keyPart } from '../../functions/core/keys';
import { type ChunkLine, decodeChunk } from '../../functions/core/pipeline/chunks';
import { bucketExportSource, startRun } from '../../functions/core/pipeline/run';
import { PARTITIONING } from '../../functions/core/pipeline/sizing';
import { splitStage } from '../../functions/core/pipeline/split';
import { neutralise } from '../../functions/core/report/neutralise';
import { LIMITS } from '../../functions/core/rules/limits';
import { compilePolicy } from '../../functions/core/rules/policy';
import { safeIdSegment } from '../../functions/core/rules/safe-name';
import { exportFiles } from '../../local/runtime/fs-export-source';
import { ROOT } from '../helpers/cli';
import { blob, buildExport } from '../helpers/memory-export';
import { memoryObjects, memoryStore } from '../helpers/memory-ports';

const CORPUS = join(ROOT, 'test', 'fixtures', 'bad-inputs');

describe('export strings on a line of text', () => {
  test.each([
    ['an escape sequence', 'red\u001b[31m!', 'red\\u001b[31m!'],
    ['a newline and a tab', 'one\ntwo\tthree', 'one\\ntwo\\tthree'],
    ['a NUL and DEL', 'a\u0000b\u007f', 'a\\u0000b\\u007f'],
    ['a C1 control', 'x\u009by', 'x\\u009by'],
    ['a bidirectional override', 'abc\u202edcba', 'abc\\u202edcba'],
    ['a line separator', 'a\u2028b', 'a\\u2028b'],
    ['a lone surrogate', 'a\ud800b', 'a\\ud800b'],
  ])('%s is escaped', (_, raw, shown) => {
    expect(neutralise(raw)).toBe(shown);
  });
  test('ordinary text, accents, scripts and emoji are kept', () => {
    const text = 'Ana Müller · 日本語 · Ελληνικά · 🌍 "quoted"';
    expect(neutralise(text)).toBe(text);
  });
});

describe('ids are keyed as the exact strings they are', () => {
  const lookAlikes = ['f\ud800', 'f\udc00', 'f\ud801'];
  test('ids that differ only by lone surrogates get distinct keys and file names', () => {
    expect(new Set(lookAlikes.map(keyPart)).size).toBe(3);
    expect(new Set(lookAlikes.map(safeIdSegment)).size).toBe(3);
  });
  test('no key carries an e-mail address', () => {
    expect(keyPart('jan.peeters@school.example.eu')).not.toContain('@');
    expect(safeIdSegment('jan.peeters@school.example.eu')).not.toContain('@');
    expect(keyPart('acc-000001')).toBe('acc-000001');
  });
});

describe('an export folder is read only through itself', () => {
  test('an upload carries the listed files, the blobs and the manifest, nothing else', async () => {
    const dir = join(CORPUS, 'extra-files');
    const files = await exportFiles(dir, ['mailbox.ndjson']);
    expect(files.sort()).toEqual(['mailbox.ndjson', 'manifest.json']);
    const withBlob = await exportFiles(join(CORPUS, 'unsafe-names'), ['accounts.ndjson']);
    expect(withBlob.filter((f) => f.startsWith('blobs/'))).toHaveLength(4);
  });
  test('a symbolic link is rejected, naming the path', async () => {
    await expect(exportFiles(join(CORPUS, 'symlink-kind-file'), ['mailbox.ndjson'])).rejects.toThrow(
      ExportRejectedError,
    );
    await expect(exportFiles(join(CORPUS, 'symlink-blob'), [])).rejects.toThrow(
      /blobs\/[0-9a-f]{64}: is a symbolic link/,
    );
  });
});

test('pieces (the chunks) are cut by bytes as well as lines: twelve 1 MB lines make bounded objects', async () => {
  const { store } = memoryStore();
  const { store: objects, objects: raw } = memoryObjects();
  const dir = join(CORPUS, 'long-lines');
  for (const file of readdirSync(dir))
    await objects.put('exports', `exports/long-lines/${file}`, readFileSync(join(dir, file)));
  const policy = compilePolicy();
  const workflow = {
    policy,
    store,
    objects,
    exportsBucket: 'exports',
    source: (id: string) => bucketExportSource(objects, 'exports', id),
  };
  const run = await startRun({ exportId: 'long-lines', wave: 'sept-2022' }, workflow);
  const sent: unknown[] = [];
  const r = await splitStage(run, 'sept-2022/decide-2', {
    ...workflow,
    queue: async (_, m) => void sent.push(...m),
  });
  expect(r.chunks).toBeGreaterThan(1);
  // The run's last step that works twinspace items sends the pieces validate cut themselves.
  expect(sent).toHaveLength(r.chunks);
  const chunks = [...raw.entries()].filter(([k]) => k.includes('/pieces/twinspace-items/'));
  expect(chunks.length).toBe(r.chunks);
  for (const [, bytes] of chunks)
    expect(bytes.length).toBeLessThanOrEqual(LIMITS.chunkBytes.value + 1_100_000);
});

test('pieces (the chunks) of a kind with files are cut by their files too: no chunk holds more files, or more declared bytes, than its caps (a single larger file alone)', async () => {
  const { store } = memoryStore();
  const { store: objects, objects: raw } = memoryObjects();
  // Thirty items: every third without a file, the others with files of 100 to 1,500 declared bytes.
  const items = Array.from({ length: 30 }, (_, i) => {
    const file = blob(`file ${i}`.padEnd(i % 4 === 3 ? 1500 : 100 + i * 10, '.'));
    return {
      item: {
        id: `ti-${i}`,
        projectId: 'p-1',
        kind: 'material',
        title: `item ${i}`,
        authorId: 'a-1',
        createdAt: '2021-05-01T10:00:00Z',
        ...(i % 3 === 0 ? {} : { file: file.ref }),
      },
      blobs: file.blobs,
    };
  });
  const files = buildExport({
    exportId: 'many-files',
    kinds: { 'twinspace-items': items.map((x) => x.item) },
    blobs: Object.assign({}, ...items.map((x) => x.blobs)),
  });
  for (const [path, bytes] of Object.entries(files))
    await objects.put('exports', `exports/many-files/${path}`, bytes);
  const workflow = {
    policy: compilePolicy(),
    store,
    objects,
    exportsBucket: 'exports',
    source: (id: string) => bucketExportSource(objects, 'exports', id),
    partitioning: { ...PARTITIONING, chunkLines: 100, chunkFiles: 4, chunkFileBytes: 1000 },
  };
  const run = await startRun({ exportId: 'many-files', wave: 'sept-2022' }, workflow);
  const r = await splitStage(run, 'sept-2022/decide-2', { ...workflow, queue: async () => undefined });
  const chunks = [...raw.entries()]
    .filter(([k]) => k.includes('/pieces/twinspace-items/'))
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([, bytes]) => decodeChunk(bytes.toString('utf8')));
  expect(chunks.length).toBe(r.chunks);
  // Thirty lines under a cap of a hundred: only the files cut them.
  expect(r.chunks).toBeGreaterThan(5);
  const declared = (line: ChunkLine) =>
    'text' in line ? ((JSON.parse(line.text) as { file?: { size: number } }).file?.size ?? -1) : -1;
  for (const chunk of chunks) {
    const sizes = chunk.map(declared).filter((size) => size >= 0);
    expect(sizes.length).toBeLessThanOrEqual(4);
    if (sizes.length > 1) expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(1000);
  }
  // Every line once, in the file's order.
  expect(chunks.flat().map((l) => l.lineNo)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
});

test('a full disk says so, and how to go on', () => {
  const error = Object.assign(new Error('no space'), { code: 'ENOSPC', syscall: 'write', path: '/data/out' });
  expect(fileSystemError(error).message).toBe(
    'the disk is full (writing /data/out): free some space, then run the same command again; a run resumes where it stopped',
  );
  const readOnly = Object.assign(new Error('ro'), { code: 'EROFS', syscall: 'open', path: '/mnt/ro' });
  expect(fileSystemError(readOnly).message).toMatch(
    /\/mnt\/ro is on a read-only file system: choose a folder/,
  );
});
