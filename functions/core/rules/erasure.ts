import { createHmac } from 'node:crypto';
import { UsageError } from '../errors';
import { isSpaceKind, type Kind, ownersOf } from './kinds';

/**
 * ER-1 (docs/support-desk.md, "Erasure requests"): a teacher who asks for their data to be erased (GDPR Art. 17). The state keeps
 * an audit record without personal data: the keyed hash of the account id (the identity index's HMAC key,
 * as for e-mails), the ticket that asked, and when. Every record the account owns decides `ERASED`
 * (nothing migrated, on no receipt, its decision line anonymous), wherever and whenever it is read; the
 * TwinSpaces and groups it founded or administers stay for their other members, without it among them.
 */

/** The id every output gives a record of an erased account (decisions.ndjson, the ledger): no one's. */
export const ERASED_ID = '(erased)';

/** What the state keeps of an erasure: no id, no name, no e-mail. */
export interface Erasure {
  readonly platform: 'etwinning' | 'seg';
  /** The ticket of the request (the operator's `--reason`): never an e-mail address. */
  readonly ticket: string;
  readonly at: string;
}

/** The keyed hash an erasure is kept under: of the account id, as records name their owners. */
export const erasureKey = (secret: string | Uint8Array, accountId: string): string =>
  createHmac('sha256', secret).update(`erasure:${accountId}`, 'utf8').digest('hex');

/** Whether an account id is erased. */
export type IsErased = (accountId: string) => boolean;
export const NONE_ERASED: IsErased = () => false;

/** The erased accounts among any ids, from the erasures' keys and the HMAC key (each id hashed once). */
export function erasedAmong(keys: ReadonlySet<string>, secret: string | Uint8Array): IsErased {
  if (keys.size === 0) return NONE_ERASED;
  const seen = new Map<string, boolean>();
  return (id) => {
    let erased = seen.get(id);
    if (erased === undefined) {
      erased = keys.has(erasureKey(secret, id));
      seen.set(id, erased);
    }
    return erased;
  };
}

/** The longest ticket kept. */
export const TICKET_CHARS = 200;
const EMAIL_INSIDE = /[^\s@]+@[^\s@]+\.[^\s@]+/;

/** A ticket as the audit record keeps it; refuses an empty or long one, or one that holds an e-mail address. */
export function checkTicket(ticket: string): string {
  const t = ticket.trim();
  if (t === '') throw new UsageError('--reason: give the ticket of the erasure request (its number or id)');
  if ([...t].length > TICKET_CHARS) throw new UsageError(`--reason: at most ${TICKET_CHARS} characters`);
  if (EMAIL_INSIDE.test(t))
    throw new UsageError(
      '--reason: holds an e-mail address; the audit record keeps no personal data: give the ticket number',
    );
  // biome-ignore lint/suspicious/noControlCharactersInRegex: a control character in a ticket is refused
  if (/[\u0000-\u001f\u007f]/.test(t)) throw new UsageError('--reason: no control characters');
  return t;
}

/** `<platform>:<id>`, as `forget --account` takes it. */
export function parseAccountRef(text: string): { platform: 'etwinning' | 'seg'; accountId: string } {
  const at = text.indexOf(':');
  const platform = text.slice(0, at);
  const accountId = text.slice(at + 1);
  if (at < 0 || (platform !== 'etwinning' && platform !== 'seg') || accountId === '')
    throw new UsageError(`--account: "${text}" is not <platform>:<id> (etwinning:<id> or seg:<id>)`);
  return { platform, accountId };
}

/**
 * Whether a record with these owners is an erased account's. A TwinSpace or group is its members' place,
 * not its founder's alone: it is never erased with one of them.
 */
export const ownedByErased = (kind: Kind, owners: readonly string[], isErased: IsErased): boolean =>
  isErased !== NONE_ERASED && !isSpaceKind(kind) && owners.some(isErased);

/** Whether a line is the erased account's: it owns it (best effort, on raw objects too). */
export const isErasedRecord = (kind: Kind, raw: Record<string, unknown>, isErased: IsErased): boolean =>
  isErased !== NONE_ERASED && ownedByErased(kind, ownersOf(kind, raw), isErased);

/** The people lists of a record, by kind: whom an erased account is taken out of. */
const PEOPLE: Partial<Record<Kind, string>> = {
  projects: 'members',
  groups: 'members',
  events: 'participantIds',
  mailbox: 'recipientIds',
};

/** A record without erased accounts among its members, participants or recipients (the same object if none). */
export function withoutErased<T extends object>(kind: Kind, record: T, isErased: IsErased): T {
  const field = PEOPLE[kind];
  const list = field && (record as Record<string, unknown>)[field];
  if (!field || isErased === NONE_ERASED || !Array.isArray(list)) return record;
  const idOf = (v: unknown) => (typeof v === 'string' ? v : (v as { accountId?: unknown } | null)?.accountId);
  const kept = list.filter((v) => {
    const id = idOf(v);
    return typeof id !== 'string' || !isErased(id);
  });
  return kept.length === list.length ? record : { ...record, [field]: kept };
}

/**
 * The erasures known now, as a check of account ids: one read of the erasures (a few items), and the HMAC
 * key only when there is one. Read once per chunk or part, so a later run, a re-run or a redelivery
 * decides by every erasure recorded before it started its work.
 */
export async function erasedNow(
  identities: { erasures(): Promise<ReadonlyMap<string, unknown>> },
  secret: () => Promise<string>,
): Promise<IsErased> {
  const keys = await identities.erasures();
  return keys.size === 0 ? NONE_ERASED : erasedAmong(new Set(keys.keys()), await secret());
}
