import * as z from 'zod';
import type { Kind } from './kinds';
import { idProblem, LIMITS, overCap, utf8Bytes } from './limits';
import { ORGANISER_ROLES } from './policy';

/** Schemas of the export format, schema version 1 (legacy-export.md). Unlisted fields are stripped. */

/** ISO 8601 with an offset (`Z` or `+02:00`); a timestamp without one is invalid (DQ-1). */
const timestamp = z.iso.datetime({ offset: true, error: 'expected an ISO 8601 timestamp with an offset' });
/** An id or a reference to one: keyed as the exact string it is, so it must fit a key (rules/limits.ts). */
const id = z
  .string()
  .min(1)
  .superRefine((value, ctx) => {
    const problem = idProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'expected a lowercase hex SHA-256');

export const FileRefSchema = z.object({
  sha256: sha256Hex,
  size: z.number().int().nonnegative().max(LIMITS.fileBytes.value, overCap('fileBytes')),
  contentType: z.string().min(1).max(255),
  fileName: z
    .string()
    .min(1)
    .refine((name) => utf8Bytes(name) <= LIMITS.fileNameBytes.value, overCap('fileNameBytes')),
});
export type FileRef = z.infer<typeof FileRefSchema>;

const itemKinds = z.enum(['page', 'material', 'forum-post', 'image', 'video', 'comment']);
/** Members of a project or group; at most `ownersPerRecord` of them hold the owning role. */
const members = <R extends string>(roles: readonly [R, ...R[]], owner: R) =>
  z.array(z.object({ accountId: id, role: z.enum(roles) })).superRefine((list, ctx) => {
    if (list.length > LIMITS.membersPerRecord.value)
      ctx.addIssue({ code: 'custom', message: `${list.length} members, ${overCap('membersPerRecord')}` });
    const owners = list.filter((m) => m.role === owner).length;
    if (owners > LIMITS.ownersPerRecord.value)
      ctx.addIssue({
        code: 'custom',
        message: `${owners} with the role ${owner}, ${overCap('ownersPerRecord')}`,
      });
  });

export const AccountSchema = z.object({
  id,
  platform: z.enum(['etwinning', 'seg']),
  // A loose shape check: the address is only ever normalised and hashed, never sent to.
  email: z.string().regex(/^\s*[^@\s]+@[^@\s]+\s*$/u, 'expected an e-mail address'),
  firstName: z.string(),
  lastName: z.string(),
  country: z.string().regex(/^[A-Z]{2}$/, 'expected an ISO 3166-1 alpha-2 code'),
  registeredAt: timestamp,
  organisations: z.array(
    z.object({ id, name: z.string(), country: z.string().regex(/^[A-Z]{2}$/), role: z.string() }),
  ),
  profilePhoto: FileRefSchema.optional(),
  progressScore: z.number().int().nonnegative().optional(),
  // passwordHash and login are not listed: rule ID-1, they are dropped on read.
});
export type Account = z.infer<typeof AccountSchema>;

/** An account's credentials in the export (ID-1): never staged, migrated or shown. */
export const CREDENTIAL_FIELDS = ['passwordHash', 'login'] as const;

/**
 * An account line as it may be staged (the chunks of a run's work area): without its credentials, so
 * that nothing the pipeline keeps holds them (ID-1: dropped on read). A line without them is kept as it is.
 */
export function withoutCredentials(text: string, raw: Readonly<Record<string, unknown>>): string {
  if (!CREDENTIAL_FIELDS.some((f) => Object.hasOwn(raw, f))) return text;
  const kept: Record<string, unknown> = { ...raw };
  for (const f of CREDENTIAL_FIELDS) delete kept[f];
  return JSON.stringify(kept);
}

export const ItemSchema = z.object({
  id,
  kind: itemKinds,
  title: z.string(),
  body: z.string().optional(),
  authorId: id,
  createdAt: timestamp,
  updatedAt: timestamp.optional(),
  file: FileRefSchema.optional(),
});

export const KIND_SCHEMAS = {
  accounts: AccountSchema,
  activities: z.object({ id, accountId: id, type: z.string(), title: z.string(), occurredAt: timestamp }),
  portfolio: z.object({
    id,
    accountId: id,
    kind: z.string().min(1),
    title: z.string(),
    awardedAt: timestamp,
  }),
  events: z.object({
    id,
    organiserId: id,
    organiserRole: z.enum(ORGANISER_ROLES),
    title: z.string(),
    startsAt: timestamp,
    participantIds: z
      .array(id)
      .refine((ids) => ids.length <= LIMITS.membersPerRecord.value, overCap('membersPerRecord')),
  }),
  'learning-lab': z.object({
    id,
    eventId: id,
    title: z.string(),
    createdAt: timestamp,
    file: FileRefSchema.optional(),
  }),
  projects: z.object({
    id,
    title: z.string(),
    registeredAt: timestamp,
    members: members(['founder', 'member'], 'founder'),
  }),
  'twinspace-items': ItemSchema.extend({ projectId: id }),
  groups: z.object({
    id,
    title: z.string(),
    createdAt: timestamp,
    members: members(['admin', 'member'], 'admin'),
  }),
  'group-items': ItemSchema.extend({ groupId: id }),
  photos: z.object({ id, accountId: id, createdAt: timestamp, file: FileRefSchema }),
  contacts: z.object({
    id,
    accountId: id,
    otherAccountId: id,
    relation: z.enum(['contact', 'follower', 'following']),
  }),
  'feed-posts': z.object({ id, accountId: id, kind: z.enum(['post', 'comment']), createdAt: timestamp }),
  mailbox: z.object({ id, senderId: id, recipientIds: z.array(id), sentAt: timestamp }),
  'partner-forum': z.object({ id, accountId: id, title: z.string(), createdAt: timestamp }),
} satisfies Record<Kind, z.ZodType>;

export type RecordOf<K extends Kind> = z.infer<(typeof KIND_SCHEMAS)[K]>;
export type AnyRecord = { [K in Kind]: RecordOf<K> }[Kind];

/** The first schema problem as `<field path>: <message>`, for a decision's detail (DQ-1). */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid record';
  const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
  return `${path.replace(/^\./, '') || '(record)'}: ${issue.message}`;
}

export const EXPORT_ID = /^[A-Za-z0-9._-]{1,64}$/;

export const ManifestSchema = z.object({
  schemaVersion: z.literal(1, { error: 'schemaVersion must be 1' }),
  exportId: z.string().regex(EXPORT_ID, 'exportId must be 1-64 characters of [A-Za-z0-9._-]'),
  exportedAt: timestamp,
  files: z.array(
    z.object({
      kind: z.string(),
      path: z
        .string()
        .min(1)
        .refine((path) => utf8Bytes(path) <= LIMITS.pathBytes.value, overCap('pathBytes')),
      records: z.number().int().nonnegative(),
      sha256: sha256Hex,
    }),
  ),
});
export type Manifest = z.infer<typeof ManifestSchema>;
export type ManifestFile = Manifest['files'][number] & { kind: Kind };
