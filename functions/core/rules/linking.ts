import { z } from 'zod';
import { targetKeys } from '../keys';
import type { IdentityEntry, IdentityStore, LinkOutcome, ObjectStore } from '../ports';
import { emailKey } from './identity';
import { safeIdSegment } from './safe-name';

/**
 * Account linking (rules ID-2 to ID-8): an ESEP registration links the legacy account with the same
 * normalised e-mail. The index holds keyed hashes only (ID-5); an outcome never names another account or
 * e-mail beyond the one linked to the registering user.
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

/** ID-3 and ID-8: eTwinning wins over SEG; two accounts of the winning platform are never auto-linked. */
export function chooseLegacy(
  entries: readonly IdentityEntry[],
): { accountId: string } | { reason: 'NO_LEGACY_MATCH' | 'AMBIGUOUS_LEGACY_EMAIL' } {
  const accounts = (platform: IdentityEntry['platform']) => [
    ...new Set(entries.filter((e) => e.platform === platform).map((e) => e.accountId)),
  ];
  const etwinning = accounts('etwinning');
  const candidates = etwinning.length > 0 ? etwinning : accounts('seg');
  if (candidates.length === 0) return { reason: 'NO_LEGACY_MATCH' };
  if (candidates.length > 1) return { reason: 'AMBIGUOUS_LEGACY_EMAIL' };
  return { accountId: candidates[0] as string };
}

/**
 * Decides one registration. Safe under redelivery and concurrency: the user's outcome is a conditional
 * put (the first wins, later ones read it back as LINK_FROZEN), and a legacy account is claimed by a
 * conditional put before the outcome is written (released again if this delivery lost).
 */
export async function linkRegistration(
  reg: Registration,
  deps: { identities: IdentityStore; secret: string },
): Promise<LinkOutcome> {
  const { identities } = deps;
  const frozen = (): LinkOutcome => ({
    esepUserId: reg.esepUserId,
    decision: 'not-linked',
    reason: 'LINK_FROZEN',
  });
  if (await identities.linkOf(reg.esepUserId)) return frozen();
  const choice = chooseLegacy(await identities.lookup(emailKey(deps.secret, reg.email)));
  let outcome: LinkOutcome;
  if ('accountId' in choice && (await identities.claimLegacy(choice.accountId, reg.esepUserId))) {
    outcome = {
      esepUserId: reg.esepUserId,
      decision: 'linked',
      reason: 'LINKED',
      legacyAccountId: choice.accountId,
    };
  } else {
    // A legacy account held by another user reads as no match: nothing reveals that it exists (ID-5).
    outcome = {
      esepUserId: reg.esepUserId,
      decision: 'not-linked',
      reason: 'reason' in choice ? choice.reason : 'NO_LEGACY_MATCH',
    };
  }
  if (await identities.putLink({ ...outcome, registeredAt: reg.registeredAt })) return outcome;
  // Another delivery for this user decided first. Give back the claim only if its outcome does not use
  // it (a concurrent delivery of the same event claimed the same account, and keeps it).
  const winner = await identities.linkOf(reg.esepUserId);
  if (outcome.legacyAccountId && winner?.legacyAccountId !== outcome.legacyAccountId) {
    await identities.releaseLegacy(outcome.legacyAccountId, reg.esepUserId);
  }
  return frozen();
}

/**
 * What a link puts into the target: the ESEP user owns the legacy account's staged data. Staged profiles,
 * memberships and items stay keyed by legacy account id (TS-4, GR-2), so the importer resolves them
 * through this document whichever wave staged them and whenever the user registered.
 */
export function linkDocument(
  outcome: LinkOutcome & { readonly registeredAt?: string },
): { key: string; document: Record<string, unknown> } | undefined {
  if (outcome.decision !== 'linked' || !outcome.legacyAccountId) return undefined;
  return {
    key: targetKeys.link(safeIdSegment(outcome.esepUserId)),
    document: {
      esepUserId: outcome.esepUserId,
      legacyAccountId: outcome.legacyAccountId,
      reason: outcome.reason,
    },
  };
}

/**
 * One registration, delivered (at least once): links it and writes the link document for the user's
 * stored outcome on every delivery, so a crash between the link and the document heals on redelivery.
 */
export async function deliverRegistration(
  detail: unknown,
  deps: {
    readonly identities: IdentityStore;
    readonly secret: () => Promise<string>;
    readonly objects: ObjectStore;
    readonly migratedBucket: string;
  },
): Promise<LinkOutcome> {
  const registration = RegistrationSchema.parse(detail);
  const outcome = await linkRegistration(registration, {
    identities: deps.identities,
    secret: await deps.secret(),
  });
  const stored =
    outcome.reason === 'LINK_FROZEN' ? await deps.identities.linkOf(registration.esepUserId) : outcome;
  const link = stored && linkDocument(stored);
  if (link)
    await deps.objects.put(
      deps.migratedBucket,
      link.key,
      `${JSON.stringify(link.document, null, 2)}\n`,
      'application/json',
    );
  return outcome;
}
