import fc from 'fast-check';
import { emailKey, normaliseEmail } from '../../functions/core/rules/identity';
import { safeFileName, safeIdSegment } from '../../functions/core/rules/safe-name';

describe('e-mail normalisation (ID-2) and its keyed hash (ID-5)', () => {
  test.each([
    ['  Maria.Rossi@School.EU ', 'maria.rossi@school.eu'],
    ['ZOE\u0308@SCHULE.DE', 'zoë@schule.de'],
    ['zo\u00eb@schule.de', 'zoë@schule.de'],
    ['\tJAN@x.nl\n', 'jan@x.nl'],
  ])('%j → %j', (input, expected) => {
    expect(normaliseEmail(input)).toBe(expected.normalize('NFC'));
  });
  test('normalisation is idempotent', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        (s) => normaliseEmail(normaliseEmail(s)) === normaliseEmail(s),
      ),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        (s) => normaliseEmail(normaliseEmail(s)) === normaliseEmail(s),
      ),
      { numRuns: 2000 },
    );
  });
  test('variants of one address share a key; the key depends on the secret and holds no e-mail', () => {
    const k = emailKey('secret', 'Zoë@Schule.de');
    expect(emailKey('secret', ' ZOE\u0308@schule.DE ')).toBe(k);
    expect(emailKey('other', 'zoë@schule.de')).not.toBe(k);
    expect(k).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('safe file names (DQ-6)', () => {
  test.each([
    ['../../etc/passwd', '____etc_passwd'],
    ['a/b\\c.pdf', 'a_b_c.pdf'],
    ['bell\u0007.txt', 'bell_.txt'],
    ['..', '_'],
    ['.', 'file'],
    ['normal name.pdf', 'normal name.pdf'],
  ])('%j → %j', (name, safe) => {
    expect(safeFileName(name)).toBe(safe);
  });
  test('a name over 255 bytes is cut on a character, keeps its extension and stays distinct', () => {
    const long = `${'é'.repeat(200)}.pdf`;
    const safe = safeFileName(long);
    expect(Buffer.byteLength(safe)).toBeLessThanOrEqual(255);
    expect(safe.endsWith('.pdf')).toBe(true);
    expect(safeFileName(`${'é'.repeat(201)}.pdf`)).not.toBe(safe);
  });
  test('object keys can ask for a tighter budget and stay distinct', () => {
    const name = `${'x'.repeat(240)}.pdf`;
    expect(safeFileName(name)).toBe(name);
    const short = safeFileName(name, 200);
    expect(Buffer.byteLength(short)).toBeLessThanOrEqual(200);
    expect(short.endsWith('.pdf')).toBe(true);
    expect(safeFileName(`${'x'.repeat(241)}.pdf`, 200)).not.toBe(short);
  });
  test('every result is one safe path segment, and safe names stay as they are', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (name) => {
        const safe = safeFileName(name);
        return (
          safe.length > 0 &&
          // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must not remain
          !/[/\\\u0000-\u001f\u007f-\u009f]/.test(safe) &&
          safe !== '.' &&
          !safe.includes('..') &&
          Buffer.byteLength(safe) <= 255 &&
          safeFileName(safe) === safe
        );
      }),
      { numRuns: 3000 },
    );
  });
  test('ids become safe path segments, stable and distinct', () => {
    expect(safeIdSegment('acc-000001')).toBe('acc-000001');
    expect(safeIdSegment('../x')).toMatch(/^~[A-Za-z0-9_-]{32}$/);
    expect(safeIdSegment('../x')).toBe(safeIdSegment('../x'));
    expect(safeIdSegment('../x')).not.toBe(safeIdSegment('../y'));
  });
});
