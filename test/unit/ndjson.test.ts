import { gzipSync } from 'node:zlib';
import { type Line, readLines } from '../../functions/core/rules/ndjson';

async function lines(bytes: Buffer, chunk = 3, maxLineBytes?: number): Promise<Line[]> {
  const source = (async function* () {
    for (let i = 0; i < bytes.length; i += chunk) yield bytes.subarray(i, i + chunk);
  })();
  const out: Line[] = [];
  for await (const l of readLines(source, { maxLineBytes })) out.push(l);
  return out;
}

describe('readLines', () => {
  test.each([1, 2, 5, 64 * 1024])(
    'LF and CRLF endings, blank lines, no final newline (chunks of %i bytes)',
    async (chunk) => {
      const text = '{"a":1}\r\n\r\n  \n{"b":"é"}\n\n{"c":3}';
      expect(await lines(Buffer.from(text), chunk)).toEqual([
        { lineNo: 1, text: '{"a":1}' },
        { lineNo: 4, text: '{"b":"é"}' },
        { lineNo: 6, text: '{"c":3}' },
      ]);
    },
  );
  test('a leading BOM is ignored', async () => {
    expect(await lines(Buffer.from('\ufeff{"a":1}\n{"b":2}\n'))).toEqual([
      { lineNo: 1, text: '{"a":1}' },
      { lineNo: 2, text: '{"b":2}' },
    ]);
  });
  test('gzip is detected by its magic bytes and streamed', async () => {
    const text = Array.from({ length: 2000 }, (_, i) => `{"i":${i}}`).join('\r\n');
    const out = await lines(gzipSync(text), 100);
    expect(out).toHaveLength(2000);
    expect(out[1999]).toEqual({ lineNo: 2000, text: '{"i":1999}' });
  });
  test('a truncated gzip file fails loudly', async () => {
    const gz = gzipSync('{"a":1}\n'.repeat(1000));
    await expect(lines(gz.subarray(0, gz.length - 20))).rejects.toThrow();
  });
  test('invalid UTF-8 makes only its own line unreadable', async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"a":1}\n{"b":"'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}\n{"c":3}\n'),
    ]);
    expect(await lines(bytes)).toEqual([
      { lineNo: 1, text: '{"a":1}' },
      { lineNo: 2, unreadable: 'not valid UTF-8' },
      { lineNo: 3, text: '{"c":3}' },
    ]);
  });
  test('a line longer than the limit is unreadable and its bytes are not kept', async () => {
    const bytes = Buffer.from(`{"a":1}\n{"long":"${'x'.repeat(100)}"}\n{"c":3}`);
    expect(await lines(bytes, 8, 50)).toEqual([
      { lineNo: 1, text: '{"a":1}' },
      { lineNo: 2, unreadable: 'line longer than 50 bytes' },
      { lineNo: 3, text: '{"c":3}' },
    ]);
  });
  test('an empty file has no lines', async () => {
    expect(await lines(Buffer.alloc(0))).toEqual([]);
  });
});
