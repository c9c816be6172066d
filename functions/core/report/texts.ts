import type { Kind } from '../rules/kinds';
import { type Decision, REASONS, type ReasonCode } from '../rules/reasons';

const EN = {
  receiptTitle: 'What happens to your eTwinning and School Education Gateway data',
  receiptIntro:
    'The legacy platforms are moving to the European School Education Platform (ESEP). ' +
    'This is what the migration decided for each item of {account} (export {exportId}).',
  account: {
    etwinning: 'your eTwinning account {accountId}',
    seg: 'your School Education Gateway account {accountId}',
    unknown: 'your legacy account {accountId}',
  },
  todoTitle: 'What to do',
  todoDownload:
    'Download the {count} files listed under “Files you can still download” with their links before {deadline}, when the links stop working; after that, ask {support} for a copy.',
  todoDownloadAsk:
    'Ask {support} for a copy of the {count} files listed under “Files you can still download” before {deadline}: after that date they are deleted.',
  todoDownloadAskAny:
    'Ask {support} for a copy of the {count} files listed under “Files you can still download”: they are deleted once the migration is over.',
  todoNothing:
    'Nothing: what moves appears in ESEP when you register there with the e-mail address of this account.',
  receiptCounts:
    '{total} items: {migrated} move to ESEP, {dropped} are deleted, {quarantined} are held for a person to check.',
  receiptNothing: 'The export holds nothing that belongs to this account.',
  spacesTitle: 'TwinSpaces and groups',
  spaceItems: '{count} of your items in it',
  notYours: '(not yours: you have items in it)',
  partOfTitle: 'Spaces you take part in',
  partOfIntro: 'You are a member or participant of these; their owners decide nothing for you, the rules do.',
  otherTitle: 'Your other items',
  dates: {
    date: 'dated {date}',
    cutoff: 'cut-off {cutoff}',
    window: 'activity window {from} through {last}',
    wave: 'wave {wave}',
  },
  photo: {
    moves: 'your profile photo moves too',
    'left-out': 'your profile photo stays behind (see why)',
  },
  downloadsTitle: 'Files you can still download before they are deleted',
  /** FAQ eTwinning 11 and 21. */
  twinspaceReadable:
    'Until a TwinSpace is migrated, it stays readable (read-only) at twinspace.etwinning.net with the login of the old platform.',
  downloadsNone: 'None of your deleted items has a file.',
  downloadUntil: 'link valid until {until}',
  downloadAsk: 'ask {support} for a copy',
  /** Who to ask (FAQ, further questions: eTwinners their national support service, SEG users the helpdesk). */
  support: {
    etwinning: 'your national support service',
    seg: 'the School Education Gateway helpdesk',
    unknown: 'your national support service',
  },
  reasonsTitle: 'Why',
  withdrawnTitle: 'Withdrawn from ESEP again after the migration',
  withdrawnReason: {
    ROLLED_BACK: 'the operators rolled this wave back; it will be migrated again',
    REPLACED: 'a corrected export replaced this one; the corrected data is migrated instead',
    SEG_SUPERSEDED: 'an eTwinning account with your e-mail arrived; only the eTwinning data moves',
  },
  linkNote:
    'Your migrated data appears in ESEP when you register there with the e-mail address of your legacy account.',
  decision: {
    migrated: 'Moves to ESEP',
    dropped: 'Deleted',
    quarantined: 'Held for a person to check',
  } satisfies Record<Decision, string>,
  kind: {
    accounts: 'Profile',
    activities: 'Profile activity',
    portfolio: 'Portfolio entry',
    events: 'eTwinning Live event',
    'learning-lab': 'Learning Lab item',
    projects: 'TwinSpace',
    'twinspace-items': 'TwinSpace content',
    groups: 'Group',
    'group-items': 'Group content',
    photos: 'Photo',
    contacts: 'Contact',
    'feed-posts': 'Feed post',
    mailbox: 'Mailbox message',
    'partner-forum': 'Partner-finding forum post',
  } satisfies Record<Kind, string>,
  item: 'Item',
  code: 'Code',
  meaning: 'Meaning',
  size: 'Size',
};

/** Dutch, in the wording of the platform FAQ (shared/seeds). */
const NL: typeof EN = {
  receiptTitle: 'Wat er gebeurt met uw gegevens op eTwinning en de School Education Gateway',
  receiptIntro:
    'De oude platforms worden overgezet naar het European School Education Platform (ESEP). ' +
    'Dit heeft de migratie besloten voor elk item van {account} (export {exportId}).',
  account: {
    etwinning: 'uw eTwinning-account {accountId}',
    seg: 'uw School Education Gateway-account {accountId}',
    unknown: 'uw oude account {accountId}',
  },
  todoTitle: 'Wat u moet doen',
  todoDownload:
    'Download de {count} bestanden onder “Bestanden die u nog kunt downloaden” via hun links vóór {deadline}, wanneer de links verlopen; vraag daarna {support} om een kopie.',
  todoDownloadAsk:
    'Vraag {support} vóór {deadline} om een kopie van de {count} bestanden onder “Bestanden die u nog kunt downloaden”: daarna worden ze verwijderd.',
  todoDownloadAskAny:
    'Vraag {support} om een kopie van de {count} bestanden onder “Bestanden die u nog kunt downloaden”: ze worden verwijderd zodra de migratie voorbij is.',
  todoNothing:
    'Niets: wat wordt gemigreerd, verschijnt op het ESEP zodra u zich daar registreert met het e-mailadres van dit account.',
  receiptCounts:
    '{total} items: {migrated} worden gemigreerd naar het ESEP, {dropped} worden verwijderd, {quarantined} worden door een medewerker nagekeken.',
  receiptNothing: 'De export bevat niets dat bij dit account hoort.',
  spacesTitle: 'TwinSpaces en groepen',
  spaceItems: '{count} van uw items erin',
  notYours: '(niet van u: u hebt er items in)',
  partOfTitle: 'Ruimtes waaraan u deelneemt',
  partOfIntro: 'U bent lid of deelnemer; niet de eigenaars beslissen voor u, maar de regels.',
  otherTitle: 'Uw andere items',
  dates: {
    date: 'datum {date}',
    cutoff: 'peildatum {cutoff}',
    window: 'activiteitsperiode {from} tot en met {last}',
    wave: 'fase {wave}',
  },
  downloadsTitle: 'Bestanden die u nog kunt downloaden voordat ze worden verwijderd',
  downloadsNone: 'Bij uw verwijderde items horen geen bestanden.',
  downloadUntil: 'link geldig tot {until}',
  downloadAsk: 'vraag {support} om een kopie',
  twinspaceReadable:
    'Tot een TwinSpace gemigreerd is, blijft hij leesbaar (alleen-lezen) op twinspace.etwinning.net met de login van het oude platform.',
  photo: {
    moves: 'uw profielfoto gaat mee',
    'left-out': 'uw profielfoto blijft achter (zie waarom)',
  },
  support: {
    etwinning: 'uw nationale ondersteuningsdienst',
    seg: 'de helpdesk van School Education Gateway',
    unknown: 'uw nationale ondersteuningsdienst',
  },
  reasonsTitle: 'Waarom',
  withdrawnTitle: 'Na de migratie weer van het ESEP gehaald',
  withdrawnReason: {
    ROLLED_BACK: 'de beheerders hebben deze fase teruggedraaid; ze wordt opnieuw gemigreerd',
    REPLACED: 'een gecorrigeerde export verving deze; de gecorrigeerde gegevens worden gemigreerd',
    SEG_SUPERSEDED:
      'er is een eTwinning-account met uw e-mailadres aangekomen; alleen de eTwinning-gegevens worden gemigreerd',
  },
  linkNote:
    'Uw gemigreerde gegevens verschijnen op het ESEP zodra u zich daar registreert met het e-mailadres van uw oude account.',
  decision: {
    migrated: 'Wordt gemigreerd naar het ESEP',
    dropped: 'Wordt verwijderd',
    quarantined: 'Wordt door een medewerker nagekeken',
  },
  kind: {
    accounts: 'Profiel',
    activities: 'Profielactiviteit',
    portfolio: 'Portfolio-item',
    events: 'eTwinning Live-evenement',
    'learning-lab': 'Learning Lab-item',
    projects: 'TwinSpace',
    'twinspace-items': 'TwinSpace-inhoud',
    groups: 'Groep',
    'group-items': 'Groepsinhoud',
    photos: 'Foto',
    contacts: 'Contact',
    'feed-posts': 'Feedbericht',
    mailbox: 'Mailboxbericht',
    'partner-forum': 'Bericht in het partnerzoekforum',
  },
  item: 'Item',
  code: 'Code',
  meaning: 'Betekenis',
  size: 'Grootte',
};

/**
 * Every text of the people-facing renderings (receipts, report.html), by language: another language is
 * one more entry here plus one more column of REASONS and LINK_REASONS. Placeholders are `{name}`.
 */
export const TEXTS = { en: EN, nl: NL } as const;

export type Language = keyof typeof TEXTS;

/** Translations of a receipt written besides the English one, by the account's country. */
export const RECEIPT_TRANSLATIONS: Readonly<Record<string, readonly Exclude<Language, 'en'>[]>> = {
  NL: ['nl'],
  BE: ['nl'],
};

/** A text with its `{placeholders}` filled in. */
export const fill = (text: string, values: Readonly<Record<string, string | number>>) =>
  text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in values ? String(values[name]) : whole));

/** A reason's plain words in a language (REASONS holds one column per language). */
export const reasonText = (code: ReasonCode, language: Language = 'en') => REASONS[code][language];

/** Bytes in the units people read (1.5 MB). */
export function humanBytes(bytes: number): string {
  const units = ['bytes', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
