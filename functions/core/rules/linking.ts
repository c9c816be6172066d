import * as z from 'zod';
import { eachLimited } from '../concurrency';
import { LinkRefusedError } from '../errors';
import { targetKeys } from '../keys';
import type {
  AccountRef,
  IdentityStore,
  IndexedAccount,
  LinkOutcome,
  ObjectStore,
  Platform,
  UserLink,
} from '../ports';
import { emailKey } from './identity';
import { safeIdSegment } from './safe-name';

/**
 * Account linking (rules ID-2 to ID-9), in whatever order registrations, exports and waves arrive.
 *
 * - A legacy account is `(platform, id)` across exports; the latest export holding it (by `exportedAt`)
 *   gives its keyed e-mail (ID-9). The index holds keyed hashes only, never an e-mail (ID-5).
 * - A user's first registration decides for ever which e-mail counts (ID-4): it links at once, or is kept
 *   pending under its keyed e-mail and links when an export that holds a match is indexed.
 * - eTwinning wins over SEG, and two accounts of the winning platform are never linked automatically
 *   (ID-3, ID-8); a user linked to an SEG account moves to the eTwinning account when it arrives.
 *
 * Every step is safe under redelivery and concurrency: a user's link is written only over the version it
 * was read at, and an account is claimed (conditionally) before a link names it, released again by a
 * delivery that lost.
 */
export const RegistrationSchema = z.object({
  esepUserId: z.string().min(1).max(256),
  email: z
    .string()
    .max(512)
    .regex(/^\s*[^@\s]+@[^@\s]+\s*$/u, 'expected an e-mail address'),
  registeredAt: z.iso.datetime({ offset: true }),
});
export type Registration = z.infer<typeof RegistrationSchema>;

/** The events of the account-link function, on the registration bus (docs/operators.md). */
export const LINK_EVENTS = {
  /** An ESEP registration, as EU Login sends it. */
  registration: { source: 'esep.accounts', detailType: 'ESEP Registration' },
  /** The support desk links a pending or ambiguous registration by hand (ID-8). */
  supportLink: { source: 'esep.support', detailType: 'ESEP Support Link' },
} as const;

/** The support desk's link by hand (ID-8), as the CLI and the account-link function's event carry it. */
export const SupportLinkSchema = z.object({
  esepUserId: z.string().min(1).max(256),
  legacyAccountId: z.string().min(1).max(512),
  exportId: z.string().min(1).max(64).optional(),
  reason: z.string().trim().min(1).max(1000),
  /** Who links (an operator's name or role id, never an e-mail). */
  by: z
    .string()
    .min(1)
    .max(256)
    .refine((v) => !v.includes('@'), 'an operator name, not an e-mail address'),
});
export type SupportLink = z.infer<typeof SupportLinkSchema>;

export interface LinkDeps {
  readonly identities: IdentityStore;
  readonly secret: string;
  readonly now?: () => Date;
}

export const refKey = (ref: AccountRef) => `${ref.platform}#${ref.accountId}`;
const sameRef = (a: AccountRef | undefined, b: AccountRef | undefined) =>
  a !== undefined && b !== undefined && refKey(a) === refKey(b);

/** The standing accounts whose current (latest-export) keyed e-mail is `key`. */
export async function accountsWithEmail(identities: IdentityStore, key: string): Promise<IndexedAccount[]> {
  const refs = await identities.withEmail(key);
  if (refs.length === 0) return [];
  const found = await identities.accounts(refs);
  return [...found.values()].filter((a) => a.emailKey === key && !a.withdrawnIn);
}

/**
 * What the identity index knows of accounts beyond one export, for a chunk worker (ID-3, PR-7): a
 * standing account by id (either platform) is `migrated`, or `superseded` when it is an SEG account and
 * an eTwinning account has its current keyed e-mail.
 */
export function accountsElsewhere(identities: IdentityStore) {
  const etwinningKeys = async (keys: readonly string[]): Promise<Set<string>> => {
    const found = new Set<string>();
    await eachLimited(keys, 16, async (key) => {
      if ((await accountsWithEmail(identities, key)).some((a) => a.platform === 'etwinning')) found.add(key);
    });
    return found;
  };
  const accounts = async (ids: readonly string[]): Promise<Map<string, 'migrated' | 'superseded'>> => {
    const found = await identities.accounts(
      ids.flatMap((accountId) =>
        (['etwinning', 'seg'] as const).map((platform) => ({ platform, accountId })),
      ),
    );
    const superseding = await etwinningKeys(
      [...found.values()].filter((a) => a.platform === 'seg').map((a) => a.emailKey),
    );
    const out = new Map<string, 'migrated' | 'superseded'>();
    for (const a of found.values()) {
      if (a.withdrawnIn) continue;
      const status = a.platform === 'seg' && superseding.has(a.emailKey) ? 'superseded' : 'migrated';
      if (out.get(a.accountId) !== 'migrated') out.set(a.accountId, status);
    }
    return out;
  };
  return { accounts, etwinningKeys };
}

/** ID-3 and ID-8: eTwinning wins over SEG; two accounts of the winning platform are never linked. */
export function chooseLegacy(
  accounts: readonly AccountRef[],
): { account: AccountRef } | { reason: 'LINK_PENDING' | 'AMBIGUOUS_LEGACY_EMAIL' } {
  const of = (platform: Platform) => [
    ...new Map(accounts.filter((a) => a.platform === platform).map((a) => [a.accountId, a])).values(),
  ];
  const etwinning = of('etwinning');
  const candidates = etwinning.length > 0 ? etwinning : of('seg');
  if (candidates.length === 0) return { reason: 'LINK_PENDING' };
  if (candidates.length > 1) return { reason: 'AMBIGUOUS_LEGACY_EMAIL' };
  const [only] = candidates as [AccountRef];
  return { account: { platform: only.platform, accountId: only.accountId } };
}

/** What `register` answers for a user's stored link: its account and the export that staged it. */
export async function outcomeOf(identities: IdentityStore, link: UserLink): Promise<LinkOutcome> {
  if (link.state !== 'linked' || !link.account)
    return { esepUserId: link.esepUserId, decision: 'not-linked', reason: link.reason };
  const indexed = (await identities.accounts([link.account])).get(refKey(link.account));
  return {
    esepUserId: link.esepUserId,
    decision: 'linked',
    reason: link.reason,
    legacyAccountId: link.account.accountId,
    platform: link.account.platform,
    ...(indexed ? { exportId: indexed.exportId } : {}),
  };
}

/**
 * Moves a user's link to `account` over the version it was read at: claims the account first, releases
 * it again when this delivery lost, and releases the account it replaces. The user's link as it stands.
 */
async function moveLink(
  identities: IdentityStore,
  link: UserLink,
  account: AccountRef,
  reason: UserLink['reason'],
  audit?: UserLink['audit'],
): Promise<UserLink> {
  if (!(await identities.claim(account, link.esepUserId))) return link;
  const next: UserLink = {
    ...link,
    state: 'linked',
    reason,
    account,
    version: link.version + 1,
    ...(audit ? { audit } : {}),
  };
  if (await identities.putUserLink(next, link.version)) {
    if (link.account && !sameRef(link.account, account))
      await identities.release(link.account, link.esepUserId);
    if (link.state === 'pending') await identities.removePending(link.emailKey, link.esepUserId);
    return next;
  }
  const winner = await identities.userLink(link.esepUserId);
  if (!sameRef(winner?.account, account) && !sameRef(link.account, account))
    await identities.release(account, link.esepUserId);
  return winner ?? link;
}

/** A pending user's link, tried against the index as it stands (ID-4); the link as it stands after. */
export async function tryPending(
  identities: IdentityStore,
  esepUserId: string,
): Promise<UserLink | undefined> {
  const link = await identities.userLink(esepUserId);
  if (link?.state !== 'pending') return link;
  const choice = chooseLegacy(await accountsWithEmail(identities, link.emailKey));
  if ('account' in choice) return moveLink(identities, link, choice.account, 'LINKED');
  if (choice.reason === link.reason) return link;
  const next: UserLink = { ...link, reason: choice.reason, version: link.version + 1 };
  return (await identities.putUserLink(next, link.version))
    ? next
    : ((await identities.userLink(esepUserId)) ?? link);
}

/**
 * Decides one registration (ID-2, ID-4). The first registration of a user is kept (its keyed e-mail,
 * never the e-mail) and linked at once when it can be; a repeated one answers the user's current state,
 * and one with another e-mail changes nothing (`LINK_FROZEN` while the first is still pending).
 */
export async function linkRegistration(reg: Registration, deps: LinkDeps): Promise<LinkOutcome> {
  const { identities } = deps;
  const key = emailKey(deps.secret, reg.email);
  let link = await identities.userLink(reg.esepUserId);
  if (!link) {
    // Pending first, then the link: an indexing that runs meanwhile sees one or the other.
    await identities.addPending(key, reg.esepUserId);
    const first: UserLink = {
      esepUserId: reg.esepUserId,
      state: 'pending',
      reason: 'LINK_PENDING',
      emailKey: key,
      registeredAt: reg.registeredAt,
      version: 1,
    };
    if (!(await identities.putUserLink(first, undefined))) {
      const winner = await identities.userLink(reg.esepUserId);
      if (winner?.emailKey !== key) await identities.removePending(key, reg.esepUserId);
    }
    link = await tryPending(identities, reg.esepUserId);
  } else if (link.state === 'pending' && link.emailKey === key) {
    link = await tryPending(identities, reg.esepUserId);
  }
  if (!link) throw new Error(`the link of ${reg.esepUserId} disappeared`);
  if (link.state === 'pending' && link.emailKey !== key)
    return { esepUserId: reg.esepUserId, decision: 'not-linked', reason: 'LINK_FROZEN' };
  return outcomeOf(identities, link);
}

/**
 * After an export's accounts are indexed: links the pending registrations they match, moves users
 * linked to an SEG account that an eTwinning account of the same keyed e-mail now supersedes (ID-3,
 * `RELINKED`), and, when the e-mail has become ambiguous (ID-8: a second account of the winning platform
 * arrived in a later export), takes back the links it made automatically on that e-mail: the user waits
 * for the support desk, as a user who registered after both exports does. A link made by hand, and a
 * link whose account's e-mail changed later (ID-9), never move. Safe to repeat.
 */
export async function linkAfterIndexing(
  key: string,
  deps: LinkDocumentDeps,
): Promise<{ linked: number; relinked: number; ambiguous: number; accounts: IndexedAccount[] }> {
  const { identities } = deps;
  let linked = 0;
  let relinked = 0;
  for (const user of await identities.pending(key)) {
    const before = await identities.userLink(user);
    if (before?.state === 'pending' && (await tryPending(identities, user))?.state === 'linked') linked++;
  }
  const accounts = await accountsWithEmail(identities, key);
  const choice = chooseLegacy(accounts);
  if (!('account' in choice)) {
    const ambiguous =
      choice.reason === 'AMBIGUOUS_LEGACY_EMAIL' ? await unlinkAmbiguous(key, accounts, deps) : 0;
    return { linked, relinked, ambiguous, accounts };
  }
  if (choice.account.platform !== 'etwinning') return { linked, relinked, ambiguous: 0, accounts };
  for (const seg of accounts.filter((a) => a.platform === 'seg')) {
    const user = await identities.holderOf(seg);
    const link = user === undefined ? undefined : await identities.userLink(user);
    // A link made by hand stays where the support desk put it.
    if (!link || !sameRef(link.account, seg) || link.audit) continue;
    if (sameRef((await moveLink(identities, link, choice.account, 'RELINKED')).account, choice.account))
      relinked++;
  }
  return { linked, relinked, ambiguous: 0, accounts };
}

/**
 * ID-8 after the fact: the users linked automatically on `key` to one of `accounts`, which now share it
 * with another account of the winning platform, go back to pending (`AMBIGUOUS_LEGACY_EMAIL`).
 */
async function unlinkAmbiguous(
  key: string,
  accounts: readonly IndexedAccount[],
  deps: LinkDocumentDeps,
): Promise<number> {
  let unlinked = 0;
  for (const account of accounts)
    if (await unlinkAutomatic(account, 'AMBIGUOUS_LEGACY_EMAIL', deps, (link) => link.emailKey === key))
      unlinked++;
  return unlinked;
}

/**
 * Takes back the automatic link that names `account` (not one made by hand, nor one `keep` excludes):
 * its user is pending again with `reason`, and links when the index next offers one account for the
 * user's e-mail. In this order, each step safe to repeat after a crash: the pending row, the link (over
 * its version), the link document, the account's claim (so a holder whose link is pending is an
 * unlinking to finish, and is finished here). True when this call put the link back to pending.
 */
async function unlinkAutomatic(
  account: AccountRef,
  reason: 'LINK_PENDING' | 'AMBIGUOUS_LEGACY_EMAIL',
  deps: LinkDocumentDeps,
  keep: (link: UserLink) => boolean = () => true,
  /** ER-1: a link made by hand is taken back too (an erased account is linked to no one). */
  evenByHand = false,
): Promise<boolean> {
  const { identities } = deps;
  const user = await identities.holderOf(account);
  let link = user === undefined ? undefined : await identities.userLink(user);
  if (!link) return false;
  let unlinked = false;
  if (sameRef(link.account, account)) {
    if ((link.audit && !evenByHand) || !keep(link)) return false;
    await identities.addPending(link.emailKey, link.esepUserId);
    const { account: _, audit: __, ...rest } = link;
    const next: UserLink = { ...rest, state: 'pending', reason, version: link.version + 1 };
    if (!(await identities.putUserLink(next, link.version))) return false;
    link = next;
    unlinked = true;
  }
  if (link.state !== 'pending') return false;
  await deps.objects.delete(deps.migratedBucket, targetKeys.link(safeIdSegment(link.esepUserId)));
  await identities.release(account, link.esepUserId);
  return unlinked;
}

/**
 * `run --replace` (ID-9): an account that the replaced content of `exportId` held, withdrawn with it.
 * While no export holds it, it stands nowhere (marked, so its e-mail is still known when the corrected
 * content brings it back, changed or not), and a user linked to it automatically is pending again: the
 * corrected content's indexing links the user anew when it still holds a match. A link made by hand
 * stays where the support desk put it. Safe to repeat.
 */
export async function withdrawIndexedAccount(
  account: AccountRef,
  exportId: string,
  deps: LinkDocumentDeps,
): Promise<void> {
  const indexed = (await deps.identities.accounts([account])).get(refKey(account));
  if (!indexed || indexed.exportId !== exportId) return; // a later export holds it: it stands there
  if (!indexed.withdrawnIn) await deps.identities.putAccount({ ...indexed, withdrawnIn: exportId }, indexed);
  await unlinkAutomatic(account, 'LINK_PENDING', deps);
}

/**
 * ER-1: an erased account stands in no export (marked withdrawn in the index, so that its keyed e-mail
 * links no one), and the user linked to it, automatically or by hand, is pending again: the link and its
 * document are taken back. Safe to repeat. True when a link was taken back now.
 */
export async function unlinkErased(account: AccountRef, deps: LinkDocumentDeps): Promise<boolean> {
  const indexed = (await deps.identities.accounts([account])).get(refKey(account));
  if (indexed && !indexed.withdrawnIn)
    await deps.identities.putAccount({ ...indexed, withdrawnIn: indexed.exportId }, indexed);
  const unlinked = await unlinkAutomatic(account, 'LINK_PENDING', deps, () => true, true);
  // The users waiting on its e-mail are linked as if it had never been indexed: to the one account left
  // with that e-mail, if one is (the same end state whether the erasure came before the exports or after).
  if (indexed)
    for (const a of (await linkAfterIndexing(indexed.emailKey, deps)).accounts) {
      const holder = await deps.identities.holderOf(a);
      if (holder !== undefined) await writeLinkDocument(holder, deps);
    }
  return unlinked;
}

/**
 * The support desk links a pending or ambiguous registration by hand (ID-8): once, audited (who, when,
 * why; never an e-mail), refused for a user already linked, for an account another user holds, and for
 * an id that names no indexed account (or two, without `exportId` to tell them apart).
 */
export async function linkByHand(request: SupportLink, deps: Omit<LinkDeps, 'secret'>): Promise<LinkOutcome> {
  const { identities } = deps;
  const link = await identities.userLink(request.esepUserId);
  if (!link)
    throw new LinkRefusedError(`user ${request.esepUserId} has not registered on ESEP: nothing to link`);
  // The same request again (its command stopped after the link, before its pending row or its link
  // document went): it finishes what that one started, and answers as it would have.
  if (
    link.state === 'linked' &&
    link.audit?.by === request.by &&
    link.audit.why === request.reason &&
    link.account?.accountId === request.legacyAccountId
  ) {
    await identities.removePending(link.emailKey, link.esepUserId);
    return outcomeOf(identities, link);
  }
  if (link.state === 'linked')
    throw new LinkRefusedError(
      `user ${request.esepUserId} is already linked (to ${link.account?.platform} account ${link.account?.accountId}); a link is never changed by hand`,
    );
  const found = [
    ...(
      await identities.accounts(
        (['etwinning', 'seg'] as const).map((platform) => ({ platform, accountId: request.legacyAccountId })),
      )
    ).values(),
  ].filter((a) => !a.withdrawnIn && (request.exportId === undefined || a.exportId === request.exportId));
  if (found.length === 0)
    throw new LinkRefusedError(
      `no indexed export holds account ${request.legacyAccountId}${request.exportId ? ` as its latest export ${request.exportId}` : ''}`,
    );
  if (found.length > 1)
    throw new LinkRefusedError(
      `account id ${request.legacyAccountId} is on both platforms: give --export to say which account is meant`,
    );
  const account = found[0] as IndexedAccount;
  const holder = await identities.holderOf(account);
  if (holder !== undefined && holder !== request.esepUserId)
    throw new LinkRefusedError(`account ${request.legacyAccountId} is linked to another ESEP user`);
  const audit = { by: request.by, at: (deps.now?.() ?? new Date()).toISOString(), why: request.reason };
  const after = await moveLink(identities, link, account, 'LINKED', audit);
  if (!sameRef(after.account, account))
    throw new LinkRefusedError(
      `the link of ${request.esepUserId} changed meanwhile; look it up and try again`,
    );
  return outcomeOf(identities, after);
}

/**
 * What a link puts into the target: the ESEP user owns the legacy account `(platform, id)` as staged by
 * `exportId` (ID-9). Staged profiles, memberships and items stay keyed by legacy account id (TS-4, GR-2),
 * so the importer resolves them through this document whichever wave staged them.
 */
export function linkDocument(
  outcome: LinkOutcome,
  supersedes: readonly AccountRef[] = [],
): { key: string; document: Record<string, unknown> } | undefined {
  if (outcome.decision !== 'linked' || !outcome.legacyAccountId) return undefined;
  return {
    key: targetKeys.link(safeIdSegment(outcome.esepUserId)),
    document: {
      esepUserId: outcome.esepUserId,
      legacyAccountId: outcome.legacyAccountId,
      platform: outcome.platform,
      exportId: outcome.exportId,
      reason: outcome.reason,
      // The SEG accounts this eTwinning account supersedes (ID-3): their data is not migrated, but their
      // places (a member or admin of a staged TwinSpace or group, which keep legacy account ids) are
      // this user's, so that no space is left with an admin no one can be.
      ...(supersedes.length > 0
        ? { supersedes: supersedes.map((a) => ({ platform: a.platform, accountId: a.accountId })) }
        : {}),
    },
  };
}

/** The SEG accounts that a linked eTwinning account supersedes: the same current keyed e-mail (ID-3). */
async function supersededBy(
  identities: IdentityStore,
  account: AccountRef | undefined,
): Promise<AccountRef[]> {
  if (account?.platform !== 'etwinning') return [];
  const indexed = (await identities.accounts([account])).get(refKey(account));
  if (!indexed || indexed.withdrawnIn) return [];
  return (await accountsWithEmail(identities, indexed.emailKey))
    .filter((a) => a.platform === 'seg')
    .sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0));
}

export interface LinkDocumentDeps {
  readonly identities: IdentityStore;
  readonly objects: ObjectStore;
  readonly migratedBucket: string;
}

/** Writes a user's link document as the link stands (every delivery: a crash between heals on redelivery). */
export async function writeLinkDocument(esepUserId: string, deps: LinkDocumentDeps): Promise<void> {
  const link = await deps.identities.userLink(esepUserId);
  const doc =
    link &&
    linkDocument(await outcomeOf(deps.identities, link), await supersededBy(deps.identities, link.account));
  if (doc)
    await deps.objects.put(
      deps.migratedBucket,
      doc.key,
      `${JSON.stringify(doc.document, null, 2)}\n`,
      'application/json',
    );
}

/** One registration, delivered (at least once): links it and writes the user's link document. */
export async function deliverRegistration(
  detail: unknown,
  deps: LinkDocumentDeps & { readonly secret: () => Promise<string> },
): Promise<LinkOutcome> {
  const registration = RegistrationSchema.parse(detail);
  const outcome = await linkRegistration(registration, {
    identities: deps.identities,
    secret: await deps.secret(),
  });
  await writeLinkDocument(registration.esepUserId, deps);
  return outcome;
}

/** One link by hand, delivered: links it (or refuses) and writes the user's link document. */
export async function deliverSupportLink(detail: unknown, deps: LinkDocumentDeps): Promise<LinkOutcome> {
  const outcome = await linkByHand(SupportLinkSchema.parse(detail), deps);
  await writeLinkDocument(outcome.esepUserId, deps);
  return outcome;
}
