import { targetKeys } from '../keys';
import { copiesFile, type DecidedRecord } from './decide';
import type { Kind } from './kinds';
import { KEY_SEGMENT_BYTES, safeFileName, safeIdSegment } from './safe-name';
import type { AnyRecord, FileRef, RecordOf } from './schemas';
import { withholdEmails } from './withheld';

/**
 * The layout of the migrated bucket, which an ESEP importer reads (docs/aws.md, "Migrated layout"). Every key
 * is under `<exportId>/`, every id a safe segment, every file name made safe (DQ-6): a key never leaves
 * its record's own prefix. Documents carry the export's fields only: never a password hash, login or
 * e-mail (the e-mail lives only as a keyed hash in the identity index).
 */
export interface TargetWrite {
  readonly documentKey: string;
  readonly document: Record<string, unknown>;
  /** A file to copy server-side from `blobs/<sha256>` of the export to `key`. */
  readonly file?: { readonly sha256: string; readonly key: string };
}

const seg = safeIdSegment;

/**
 * A record's own fields for its document. Items and portfolio entries have a field `kind` of their own
 * (page, prize, ...); it is carried as `type`, so that the document's `kind` is always the record's kind.
 */
function fieldsOf(record: object): Record<string, unknown> {
  const { kind, ...rest } = record as Record<string, unknown>;
  return kind === undefined ? rest : { ...rest, type: kind };
}

function withFile(
  prefix: string,
  ref: FileRef | undefined,
): { file?: TargetWrite['file']; fileDoc?: Record<string, unknown> } {
  if (!ref) return {};
  const key = `${prefix}/${safeFileName(ref.fileName, KEY_SEGMENT_BYTES)}`;
  return {
    file: { sha256: ref.sha256, key },
    fileDoc: {
      key,
      fileName: ref.fileName,
      size: ref.size,
      contentType: ref.contentType,
      sha256: ref.sha256,
    },
  };
}

/** What a migrated record becomes in the target; undefined for a record that is not migrated. */
export function targetOf(
  exportId: string,
  decided: DecidedRecord,
  record: AnyRecord | undefined,
): TargetWrite | undefined {
  const write = documentOf(exportId, decided, record);
  return write && { ...write, document: withholdEmails(write.document) };
}

function documentOf(
  exportId: string,
  decided: DecidedRecord,
  record: AnyRecord | undefined,
): TargetWrite | undefined {
  if (decided.decision !== 'migrated' || !record) return undefined;
  const meta = { kind: decided.kind, id: decided.id, wave: decided.wave, reason: decided.reason };
  const item = (
    container: 'twinspaces' | 'groups',
    parentId: string,
    r: RecordOf<'twinspace-items'> | RecordOf<'group-items'>,
  ) => {
    const prefix = targetKeys.item(exportId, container, seg(parentId), seg(r.id));
    const { file, fileDoc } = withFile(prefix, r.file);
    const { file: _ref, ...fields } = r;
    return {
      documentKey: `${prefix}.json`,
      document: { ...fieldsOf(fields), ...meta, ...(fileDoc ? { file: fileDoc } : {}) },
      ...(file ? { file } : {}),
    };
  };
  switch (decided.kind as Kind) {
    case 'accounts': {
      const a = record as RecordOf<'accounts'>;
      const prefix = targetKeys.profile(exportId, seg(a.id));
      // The photo is copied only when step 7 found it sound (detail says why it was left out otherwise).
      const photo = copiesFile(decided) ? a.profilePhoto : undefined;
      const { file, fileDoc } = withFile(`${prefix}/photo`, photo);
      return {
        documentKey: targetKeys.profileDocument(exportId, seg(a.id)),
        document: {
          ...meta,
          legacyAccountId: a.id,
          platform: a.platform,
          firstName: a.firstName,
          lastName: a.lastName,
          country: a.country,
          registeredAt: a.registeredAt,
          organisations: a.organisations,
          ...(a.progressScore === undefined ? {} : { legacyProgressScore: a.progressScore }),
          ...(fileDoc ? { profilePhoto: fileDoc } : {}),
        },
        ...(file ? { file } : {}),
      };
    }
    case 'activities':
    case 'portfolio':
    case 'contacts': {
      const r = record as { accountId: string; id: string };
      return {
        documentKey: targetKeys.profileList(exportId, seg(r.accountId), decided.kind, seg(r.id)),
        document: { ...fieldsOf(r), ...meta },
      };
    }
    case 'events':
      return {
        documentKey: targetKeys.event(exportId, seg(decided.id)),
        document: { ...fieldsOf(record), ...meta },
      };
    case 'projects':
      return {
        documentKey: targetKeys.container(exportId, 'twinspaces', seg(decided.id)),
        document: { ...fieldsOf(record), ...meta },
      };
    case 'groups':
      return {
        documentKey: targetKeys.container(exportId, 'groups', seg(decided.id)),
        document: { ...fieldsOf(record), ...meta },
      };
    case 'twinspace-items': {
      const r = record as RecordOf<'twinspace-items'>;
      return item('twinspaces', r.projectId, r);
    }
    case 'group-items': {
      const r = record as RecordOf<'group-items'>;
      return item('groups', r.groupId, r);
    }
    default:
      // Kinds whose rules never migrate (photos, mailbox, feeds, forum, learning lab) have no layout.
      return undefined;
  }
}

/**
 * Every legacy account a migrated document names: its owner (a profile's account, a list's or an item's
 * author, an event's organiser) and its people (members, participants). Verify checks none is erased.
 */
export function accountsNamed(doc: Record<string, unknown>): string[] {
  const ids: unknown[] = [doc.legacyAccountId, doc.accountId, doc.authorId, doc.organiserId];
  if (Array.isArray(doc.members))
    for (const m of doc.members) ids.push((m as { accountId?: unknown })?.accountId);
  if (Array.isArray(doc.participantIds)) ids.push(...doc.participantIds);
  return ids.filter((v): v is string => typeof v === 'string');
}
