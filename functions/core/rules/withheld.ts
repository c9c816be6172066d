/** What a document carries where the export had an e-mail address as a whole value (ID-5). */
export const EMAIL_WITHHELD = '(e-mail address withheld)';
const EMAIL_SHAPE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * A document's values with every string that is an e-mail address (a title that is another teacher's
 * address) withheld: the target and the receipts carry no e-mail (ID-5), and verify's check that no e-mail of the
 * export is in it holds by construction. Text that only mentions an address is carried as the user wrote it.
 */
export function withholdEmails<T>(value: T): T {
  if (typeof value === 'string') return (EMAIL_SHAPE.test(value.trim()) ? EMAIL_WITHHELD : value) as T;
  if (Array.isArray(value)) return value.map(withholdEmails) as T;
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withholdEmails(v)])) as T;
  return value;
}
