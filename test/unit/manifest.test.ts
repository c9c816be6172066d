import { gzipSync } from 'node:zlib';
import { ExportRejectedError } from '../../functions/core/errors';
import { validateExport } from '../../functions/core/rules/manifest';
import { buildExport, memorySource, sha256 } from '../helpers/memory-export';

const good = () =>
  buildExport({ kinds: { projects: ['{"id":"p1"}', '', '{"id":"p2"}'], mailbox: ['{"id":"m"}'] } });
const manifestOf = (files: Record<string, string | Uint8Array>) => JSON.parse(String(files['manifest.json']));
type Listed = { kind: string; path: string; records: number };
const listed = (m: Record<string, unknown>) => (m.files as Listed[])[0] as Listed;
const withManifest = (
  files: Record<string, string | Uint8Array>,
  change: (m: Record<string, unknown>) => unknown,
) => {
  const m = manifestOf(files);
  change(m);
  return { ...files, 'manifest.json': JSON.stringify(m) };
};

async function rejection(
  files: Record<string, string | Uint8Array>,
  name = 'test-export',
): Promise<ExportRejectedError> {
  try {
    await validateExport(memorySource(name, files));
  } catch (error) {
    if (error instanceof ExportRejectedError) return error;
    throw error;
  }
  throw new Error('expected the export to be rejected');
}

describe('validateExport', () => {
  test('a consistent export validates, counting non-blank lines', async () => {
    const v = await validateExport(memorySource('test-export', good()));
    expect(v.files.get('projects')?.records).toBe(2);
    expect(v.manifest.exportId).toBe('test-export');
  });

  test.each<
    [string, (f: Record<string, string | Uint8Array>) => Record<string, string | Uint8Array>, RegExp, string]
  >([
    [
      'no manifest',
      (f) => ({ ...f, 'manifest.json': undefined as unknown as string }),
      /manifest\.json is missing/,
      'manifest.json',
    ],
    [
      'manifest not JSON',
      (f) => ({ ...f, 'manifest.json': '{"schemaVersion": 1,' }),
      /manifest\.json is not valid JSON/,
      'manifest.json',
    ],
    [
      'schemaVersion 2',
      (f) =>
        withManifest(f, (m) => {
          m.schemaVersion = 2;
        }),
      /schemaVersion: schemaVersion must be 1/,
      'manifest.json',
    ],
    [
      'unknown kind',
      (f) =>
        withManifest(f, (m) => {
          listed(m).kind = 'wiki-pages';
        }),
      /files\[0\]\.kind: unknown kind "wiki-pages"/,
      'manifest.json',
    ],
    [
      'a kind listed twice',
      (f) =>
        withManifest(f, (m) => {
          (m.files as Listed[]).push({ ...listed(m) });
        }),
      /kind "projects" is listed twice/,
      'manifest.json',
    ],
    [
      'a path leaving the export',
      (f) =>
        withManifest(f, (m) => {
          listed(m).path = '../other/projects.ndjson';
        }),
      /leaves the export/,
      'manifest.json',
    ],
    [
      'a path with a NUL in it',
      (f) =>
        withManifest(f, (m) => {
          listed(m).path = 'projects\u0000.ndjson';
        }),
      /leaves the export/,
      'manifest.json',
    ],
    [
      'a path over the cap of 512 bytes',
      (f) =>
        withManifest(f, (m) => {
          listed(m).path = `${'p'.repeat(600)}.ndjson`;
        }),
      /files\.0\.path: over the cap of 512 bytes \(pathBytes\)/,
      'manifest.json',
    ],
    [
      'a bad exportId',
      (f) =>
        withManifest(f, (m) => {
          m.exportId = 'a/b';
        }),
      /exportId/,
      'manifest.json',
    ],
    [
      'a timestamp without offset',
      (f) =>
        withManifest(f, (m) => {
          m.exportedAt = '2022-09-01T02:00:00';
        }),
      /exportedAt/,
      'manifest.json',
    ],
    [
      'a listed file missing',
      (f) => ({ ...f, 'projects.ndjson': undefined as unknown as string }),
      /projects\.ndjson: listed in manifest\.json but missing/,
      'projects.ndjson',
    ],
    [
      'another SHA-256',
      (f) => ({ ...f, 'projects.ndjson': `${f['projects.ndjson']}\n` }),
      /projects\.ndjson: SHA-256 is [0-9a-f]{64}, the manifest says/,
      'projects.ndjson',
    ],
    [
      'another line count',
      (f) =>
        withManifest(f, (m) => {
          listed(m).records = 3;
        }),
      /projects\.ndjson: has 2 non-blank lines, the manifest says 3/,
      'projects.ndjson',
    ],
  ])('rejects %s, naming the file or field', async (_, damage, message, file) => {
    const error = await rejection(damage(good()));
    expect(error.message).toMatch(message);
    expect(error.file).toBe(file);
  });

  test('a manifest saved as Windows editors save it (a byte-order mark, CRLF, indented) validates', async () => {
    const files = good();
    const windows = `\uFEFF${JSON.stringify(manifestOf(files), null, 2).replace(/\n/g, '\r\n')}\r\n`;
    const v = await validateExport(memorySource('test-export', { ...files, 'manifest.json': windows }));
    expect(v.files.get('projects')?.records).toBe(2);
  });

  test('rejects an exportId that is not the folder name', async () => {
    expect((await rejection(good(), 'other-name')).message).toMatch(
      /does not equal the export's name "other-name"/,
    );
  });

  test('rejects a truncated gzip file', async () => {
    const gz = gzipSync('{"id":"x"}\n'.repeat(500));
    const cut = gz.subarray(0, gz.length - 30);
    const files = buildExport({ kinds: {} });
    const m = manifestOf(files);
    m.files = [{ kind: 'mailbox', path: 'mailbox.ndjson.gz', records: 500, sha256: sha256(cut) }];
    const error = await rejection({ ...files, 'mailbox.ndjson.gz': cut, 'manifest.json': JSON.stringify(m) });
    expect(error.message).toMatch(/mailbox\.ndjson\.gz: cannot be read/);
  });

  test('an export with only a manifest and no files is valid and empty', async () => {
    const v = await validateExport(memorySource('test-export', buildExport({ kinds: {} })));
    expect(v.files.size).toBe(0);
  });
});
