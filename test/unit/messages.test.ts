import { IntlMessageFormat } from 'intl-messageformat';
import {
  allCatalogues,
  COUNTRY_LANGUAGES,
  LANGUAGES,
  type MessageId,
  receiptLanguages,
  sayer,
} from '../../functions/core/report/i18n';
import { receiptHtml, receiptText } from '../../functions/core/report/receipts';
import type { Receipt } from '../../functions/core/report/summary';
import { REASON_CODES } from '../../functions/core/rules/reasons';
import { pack, readCatalogues } from '../../tools/pack-messages';

const catalogues = readCatalogues();
const EN = catalogues.en as Record<MessageId, string>;
const IDS = Object.keys(EN) as MessageId[];

type Node = { type: number; value?: string; options?: Record<string, { value: Node[] }>; children?: Node[] };
/** The arguments a message takes (`{name}`, `{count, plural, ...}`, ...), read from its ICU syntax tree. */
function argumentsOf(nodes: readonly Node[], into = new Set<string>()): Set<string> {
  for (const node of nodes) {
    // 1 argument, 2 number, 3 date, 4 time, 5 select, 6 plural (@formatjs/icu-messageformat-parser TYPE).
    if (node.type >= 1 && node.type <= 6 && node.value) into.add(node.value);
    for (const option of Object.values(node.options ?? {})) argumentsOf(option.value, into);
    if (node.children) argumentsOf(node.children, into);
  }
  return into;
}
const argumentsIn = (message: string, language: string) =>
  [...argumentsOf(new IntlMessageFormat(message, language).getAst() as Node[])].sort();

test('the functions carry exactly the catalogues (npm run messages packs them again after an edit)', () => {
  expect(allCatalogues()).toEqual(catalogues);
  expect(pack().length).toBeGreaterThan(0);
});

test('every language has every message, in valid ICU MessageFormat, with the placeholders the English one has', () => {
  expect(Object.keys(catalogues).sort()).toEqual([...LANGUAGES].sort());
  for (const language of LANGUAGES) {
    const catalogue = catalogues[language] as Record<string, string>;
    expect([language, Object.keys(catalogue).sort()]).toEqual([language, [...IDS].sort()]);
    for (const id of IDS)
      expect([language, id, argumentsIn(catalogue[id] as string, language)]).toEqual([
        language,
        id,
        argumentsIn(EN[id], 'en'),
      ]);
  }
  // Every reason code of the rules has its text.
  for (const code of REASON_CODES) expect(IDS).toContain(`reason.${code}`);
});

test('every message formats in every language for the counts whose plural forms differ (0, 1, 2, 3, 5, 11, 21, 102)', () => {
  for (const language of LANGUAGES) {
    const say = sayer(language);
    for (const count of [0, 1, 2, 3, 5, 11, 21, 102])
      for (const id of IDS) {
        const values = Object.fromEntries(
          argumentsIn(EN[id], 'en').map((name) => [
            name,
            /^(count|total|migrated|dropped|quarantined)$/.test(name) ? count : `«${name}»`,
          ]),
        );
        const text = say(id, values);
        expect(text.length).toBeGreaterThan(0);
        // A placeholder left unfilled would read as its name in braces.
        expect([language, id, text]).not.toEqual([language, id, expect.stringMatching(/\{\w+\}/)]);
        for (const [name, value] of Object.entries(values))
          if (typeof value === 'string')
            expect([language, id, name, text.includes(value)]).toEqual([language, id, name, true]);
      }
  }
});

test('no English is left in another language: a message reads as its English only when it is one shared word', () => {
  for (const language of LANGUAGES.filter((l) => l !== 'en')) {
    const catalogue = catalogues[language] as Record<MessageId, string>;
    for (const id of IDS)
      if (catalogue[id] === EN[id])
        expect([language, id, EN[id]]).toEqual([language, id, expect.stringMatching(/^\S+$/)]);
  }
});

const receipt: Receipt = {
  accountId: 'acc-9',
  exportId: 'ex-1',
  platform: 'etwinning',
  country: 'BE',
  counts: { migrated: 1, dropped: 2, quarantined: 1 },
  downloadDeadline: '2023-03-01T00:00:00.000Z',
  records: [
    {
      kind: 'accounts',
      id: 'acc-9',
      decision: 'migrated',
      reason: 'PROFILE_MIGRATED',
      explanation: '',
      wave: '2023',
      photo: 'moves',
    },
    {
      kind: 'projects',
      id: 'p-1',
      decision: 'dropped',
      reason: 'TWINSPACE_BEFORE_CUTOFF',
      explanation: '',
      wave: 'sept-2022',
      title: 'Wasserkreislauf',
      date: '2019-05-02',
      cutoff: '2020-09-01',
    },
    {
      kind: 'group-items',
      id: 'g-1-i',
      decision: 'dropped',
      reason: 'GROUP_INACTIVE',
      explanation: '',
      wave: 'nov-2022',
      cutoff: '2021-01-01/2022-02-22',
      parent: { kind: 'groups', id: 'g-1' },
    },
    {
      kind: 'portfolio',
      id: 'pf-2',
      decision: 'quarantined',
      reason: 'INVALID_RECORD',
      explanation: '',
      wave: '2023',
      detail: 'awardedAt: expected an ISO 8601 timestamp',
    },
  ],
  spaces: [
    { kind: 'mailbox', id: 'm-7', decision: 'dropped', reason: 'MAILBOX_NOT_MIGRATED', wave: 'sept-2022' },
  ],
  downloads: [
    { kind: 'projects', id: 'p-1', fileName: 'poster.pdf', size: 1_500_000, sha256: 'ab'.repeat(32) },
  ],
};

test("a receipt comes in its country's languages and English, side by side, and each part is wholly in its language", () => {
  expect(receiptLanguages('BE')).toEqual(['nl', 'fr', 'de', 'en']);
  expect(receiptLanguages('IE')).toEqual(['ga', 'en']);
  expect(receiptLanguages('FI')).toEqual(['fi', 'sv', 'en']);
  expect(receiptLanguages('NO')).toEqual(['en']);
  expect(receiptLanguages(undefined)).toEqual(['en']);
  for (const languages of Object.values(COUNTRY_LANGUAGES))
    for (const l of languages) expect(LANGUAGES).toContain(l);

  const html = receiptHtml(receipt);
  expect(html).toContain('<html lang="nl">');
  const sections = [...html.matchAll(/<section id="(\w+)" lang="\1">([\s\S]*?)<\/section>/g)].map((m) => [
    m[1],
    m[2] ?? '',
  ]);
  expect(sections.map(([l]) => l)).toEqual(['nl', 'fr', 'de', 'en']);
  const text = receiptText(receipt);
  // Intl separates a number from its unit with a no-break space in some languages.
  const parts = text.split(/\n={72}\n\n/).map((p) => p.replace(/[\u00a0\u202f]/g, ' '));
  expect(parts).toHaveLength(4);
  // English sentences (the messages of three words or more, as this receipt fills them) appear in the
  // English part only; the export's technical note too.
  const english = IDS.map((id) => EN[id])
    .filter((m) => !m.includes('{') && m.split(' ').length >= 3)
    .filter((m) => text.includes(m));
  expect(english.length).toBeGreaterThan(5);
  for (const [index, part] of parts.entries()) {
    const language = receiptLanguages('BE')[index];
    for (const sentence of english)
      expect([language, sentence, part.includes(sentence)]).toEqual([language, sentence, language === 'en']);
    expect([language, part.includes('expected an ISO 8601 timestamp')]).toEqual([
      language,
      language === 'en',
    ]);
  }
  // Dates and sizes as each language writes them; the window's last day is the day before its end.
  expect(parts[0]).toContain('21 februari 2022');
  expect(parts[1]).toContain('21 février 2022');
  expect(parts[2]).toContain('21. Februar 2022');
  expect(parts[3]).toContain('February 21, 2022');
  expect(parts[1]).toContain('1,5 Mo');
  expect(parts[3]).toContain('1.5 MB');
  // The recipient of a deleted mailbox message is told, in every part.
  for (const [index, part] of parts.entries()) {
    const say = sayer(receiptLanguages('BE')[index] ?? 'en');
    expect(part).toContain(say('reason.MAILBOX_NOT_MIGRATED'));
  }
});
