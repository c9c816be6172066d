import { brotliDecompressSync } from 'node:zlib';
import { IntlMessageFormat } from 'intl-messageformat';
import { BoundedMemo } from '../memo';
import type { LinkReasonCode, ReasonCode } from '../rules/reasons';
import type EN from './messages/en.json';
import { PACKED_MESSAGES } from './messages/packed';

/**
 * The languages of the people-facing texts (receipts): the 24 official languages of the EU. Every text is
 * an ICU MessageFormat message (placeholders, plurals) in `messages/<language>.json`, formatted with
 * FormatJS's intl-messageformat; dates and numbers go through `Intl` in the reader's language. English is
 * the source; docs/support-desk.md ("Languages") says which catalogues a native speaker has reviewed.
 */
export const LANGUAGES = [
  'bg',
  'cs',
  'da',
  'de',
  'el',
  'en',
  'es',
  'et',
  'fi',
  'fr',
  'ga',
  'hr',
  'hu',
  'it',
  'lt',
  'lv',
  'mt',
  'nl',
  'pl',
  'pt',
  'ro',
  'sk',
  'sl',
  'sv',
] as const;
export type Language = (typeof LANGUAGES)[number];
export type MessageId = keyof typeof EN;
export type Catalogue = Readonly<Record<MessageId, string>>;

/**
 * The official languages among the 24 of each country an account can have: each EU member state's, and
 * those of the other countries where one of the 24 is official. A country not named here gets English.
 */
export const COUNTRY_LANGUAGES: Readonly<Record<string, readonly Language[]>> = {
  AT: ['de'],
  BE: ['nl', 'fr', 'de'],
  BG: ['bg'],
  CH: ['de', 'fr', 'it'],
  CY: ['el'],
  CZ: ['cs'],
  DE: ['de'],
  DK: ['da'],
  EE: ['et'],
  ES: ['es'],
  FI: ['fi', 'sv'],
  FR: ['fr'],
  GR: ['el'],
  HR: ['hr'],
  HU: ['hu'],
  IE: ['ga', 'en'],
  IT: ['it'],
  LI: ['de'],
  LT: ['lt'],
  LU: ['fr', 'de'],
  LV: ['lv'],
  MC: ['fr'],
  MD: ['ro'],
  MT: ['mt', 'en'],
  NL: ['nl'],
  PL: ['pl'],
  PT: ['pt'],
  RO: ['ro'],
  SE: ['sv'],
  SI: ['sl'],
  SK: ['sk'],
  SM: ['it'],
  VA: ['it'],
};

/** The languages of a receipt, in order: the country's official ones, then English (always). */
export const receiptLanguages = (country: string | undefined): Language[] => [
  ...(COUNTRY_LANGUAGES[country ?? ''] ?? []).filter((l) => l !== 'en'),
  'en',
];

let catalogues: Readonly<Record<Language, Catalogue>> | undefined;

/**
 * Every catalogue, unpacked once: the functions carry them brotli-compressed (messages/packed.ts, made by
 * `npm run messages` from the JSON files), since 24 catalogues as text would take a fifth of a function's
 * bundle.
 */
export function allCatalogues(): Readonly<Record<Language, Catalogue>> {
  catalogues ??= JSON.parse(brotliDecompressSync(Buffer.from(PACKED_MESSAGES, 'base64')).toString('utf8'));
  return catalogues as Readonly<Record<Language, Catalogue>>;
}

export type Values = Readonly<Record<string, string | number>>;

/** The texts of one language: messages, dates, instants and sizes, each as its readers write them. */
export interface Say {
  (id: MessageId, values?: Values): string;
  readonly language: Language;
  /** A calendar date (YYYY-MM-DD). */
  day(date: string): string;
  /** An instant (ISO 8601), in UTC. */
  instant(timestamp: string): string;
  /** A size in bytes, in the units people read (1.5 MB). */
  bytes(bytes: number): string;
  /** The name of a language, in this language. */
  languageName(language: Language): string;
}

const says = new Map<Language, Say>();
/** Dates each language keeps formatted (bounded: a pass over millions of receipts keeps no more). */
const DATES_KEPT = 20_000;

export function sayer(language: Language): Say {
  const cached = says.get(language);
  if (cached) return cached;
  const catalogue = allCatalogues()[language];
  const formats = new Map<MessageId, IntlMessageFormat>();
  const days = new Intl.DateTimeFormat(language, { dateStyle: 'long', timeZone: 'UTC' });
  const instants = new Intl.DateTimeFormat(language, {
    dateStyle: 'long',
    timeStyle: 'long',
    timeZone: 'UTC',
  });
  const names = new Intl.DisplayNames([language], { type: 'language' });
  // Sizes' formats, by unit and fraction digits: made once a language, not once a file.
  const sizes = new Map<string, Intl.NumberFormat>();
  // Texts already made: a message without values by its id, and dates by their text. Every receipt
  // repeats the same few (its kinds, decisions, the rules' dates); formatting them again cost most of it.
  const plain = new Map<MessageId, string>();
  const dayTexts = new BoundedMemo<string>(DATES_KEPT);
  const instantTexts = new BoundedMemo<string>(DATES_KEPT);
  const say = (id: MessageId, values?: Values) => {
    const made = values === undefined ? plain.get(id) : undefined;
    if (made !== undefined) return made;
    let format = formats.get(id);
    if (!format) {
      format = new IntlMessageFormat(catalogue[id], language);
      formats.set(id, format);
    }
    const text = String(format.format(values ?? {}));
    if (values === undefined) plain.set(id, text);
    return text;
  };
  const made: Say = Object.assign(say, {
    language,
    day: (date: string) =>
      dayTexts.get(date, () => {
        const at = Date.parse(`${date.slice(0, 10)}T00:00:00Z`);
        return Number.isNaN(at) ? date : days.format(at);
      }),
    instant: (timestamp: string) =>
      instantTexts.get(timestamp, () => {
        const at = Date.parse(timestamp);
        return Number.isNaN(at) ? timestamp : instants.format(at);
      }),
    bytes: (bytes: number) => {
      const units = ['byte', 'kilobyte', 'megabyte', 'gigabyte', 'terabyte'] as const;
      let value = bytes;
      let unit = 0;
      while (value >= 1000 && unit < units.length - 1) {
        value /= 1000;
        unit++;
      }
      const digits = unit === 0 || value >= 10 ? 0 : 1;
      const key = `${unit}:${digits}`;
      let format = sizes.get(key);
      if (!format) {
        format = new Intl.NumberFormat(language, {
          style: 'unit',
          unit: units[unit],
          unitDisplay: unit === 0 ? 'long' : 'short',
          maximumFractionDigits: digits,
        });
        sizes.set(key, format);
      }
      return format.format(value);
    },
    languageName: (of: Language) => names.of(of) ?? of,
  });
  says.set(language, made);
  return made;
}

/** A reason's plain words (the catalogues' `reason.<code>`). */
export const reasonText = (code: ReasonCode, language: Language = 'en') =>
  sayer(language)(`reason.${code}` as MessageId);

/** A link outcome's plain words (the catalogues' `link.<code>`). */
export const linkReasonText = (code: LinkReasonCode, language: Language = 'en') =>
  sayer(language)(`link.${code}` as MessageId);
