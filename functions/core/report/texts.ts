import type { Kind } from '../rules/kinds';
import { type Decision, REASONS, type ReasonCode } from '../rules/reasons';

/**
 * Every text of the people-facing renderings (receipts, report.html), by language: another language is
 * one more entry here plus one more column of REASONS. Placeholders are `{name}`.
 */
export const TEXTS = {
  en: {
    receiptTitle: 'What happens to your eTwinning and School Education Gateway data',
    receiptIntro:
      'The legacy platforms are moving to the European School Education Platform (ESEP). ' +
      'This is what the migration decided for each item of your legacy account {accountId} (export {exportId}).',
    receiptCounts:
      '{total} items: {migrated} move to ESEP, {dropped} are deleted, {quarantined} are held for a person to check.',
    receiptNothing: 'The export holds nothing that belongs to this account.',
    downloadsTitle: 'Files you can still download before they are deleted',
    downloadsNone: 'None of your deleted items has a file.',
    downloadUntil: 'link valid until {until}',
    downloadAsk: 'ask your national support service for a copy',
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
  },
} as const;

export type Language = keyof typeof TEXTS;

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
