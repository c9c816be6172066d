import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { createGzip, type Gzip } from 'node:zlib';
import type { Kind } from '../functions/core/rules/kinds';
import { sha256Of } from '../functions/core/rules/ndjson';
import { DEFAULT_POLICY, type Policy } from '../functions/core/rules/policy';
import { EXPORT_ID, type FileRef } from '../functions/core/rules/schemas';
import { startOfDay } from '../functions/core/rules/time';

/**
 * A realistic synthetic export, deterministic for a seed, streamed to disk (a million accounts never sit
 * in memory). Every edge case of the rules is planted at the start of the files, so that even a small
 * export holds each of them; the rest is random with realistic proportions per account.
 */
export interface GenerateOptions {
  readonly out: string;
  readonly accounts: number;
  readonly seed: number;
  /** Boundary dates come from this policy (the defaults). */
  readonly policy?: Policy;
  /**
   * The folder holds an export that esep-migrate generated earlier (its marker says so): remove that
   * export's files first. Otherwise nothing in the folder is removed; files of the same names are replaced.
   */
  readonly replacePrevious?: boolean;
}

/** How each kind file is written: some gzip-compressed, some with CRLF endings, one with a BOM. */
const FILE_STYLE: Record<Kind, { gzip?: boolean; crlf?: boolean; bom?: boolean }> = {
  accounts: { gzip: true },
  activities: { crlf: true },
  portfolio: {},
  events: {},
  'learning-lab': {},
  projects: {},
  'twinspace-items': { gzip: true },
  groups: { crlf: true },
  'group-items': { gzip: true, crlf: true },
  photos: {},
  contacts: { crlf: true },
  'feed-posts': { bom: true },
  mailbox: {},
  'partner-forum': {},
};

// ---- randomness -------------------------------------------------------------------------------

/** mulberry32: small, fast, deterministic. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = [
  'Maria',
  'Jan',
  'Zoë',
  'José',
  'Łukasz',
  'Ana-María',
  'Ørjan',
  'Jürgen',
  'Eleni',
  'Aoife',
  'Matteo',
  'Inês',
  'Tomáš',
  'Sofía',
  'Mihai',
  'Liisa',
];
const LAST = [
  'Rossi',
  'De Vries',
  'Müller',
  'García',
  'Kowalski',
  'Papadopoulou',
  'Ó Briain',
  'Novák',
  'Hansen',
  'Silva',
  'Popescu',
  'Tamm',
  'Dubois',
  'Nagy',
];
const COUNTRIES = [
  'BE',
  'NL',
  'DE',
  'FR',
  'IT',
  'ES',
  'PT',
  'PL',
  'CZ',
  'GR',
  'IE',
  'RO',
  'EE',
  'NO',
  'HU',
  'UA',
];
const ITEM_KINDS = ['page', 'material', 'forum-post', 'image', 'video', 'comment'] as const;
const TYPES: Record<string, string> = {
  'application/pdf': 'pdf',
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'text/plain': 'txt',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
};
const PORTFOLIO = ['national-quality-label', 'european-quality-label', 'prize', 'school-label'];

const pad = (n: number) => String(n).padStart(6, '0');
const accountId = (i: number) => `acc-${pad(i)}`;

/** An instant written with a chosen UTC offset (minutes), e.g. `2018-07-01T00:00:00+02:00`. */
export function isoAt(instant: number, offsetMinutes: number): string {
  const local = new Date(instant + offsetMinutes * 60_000).toISOString().slice(0, 19);
  if (offsetMinutes === 0) return `${local}Z`;
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** Timestamps on both sides of a boundary instant, in UTC, CET (+01:00) and CEST (+02:00) offsets. */
export function aroundBoundary(boundary: number): { before: string[]; onOrAfter: string[] } {
  const offsets = [0, 60, 120];
  return {
    before: offsets.map((o) => isoAt(boundary - 1000, o)),
    onOrAfter: [...offsets.map((o) => isoAt(boundary, o)), isoAt(boundary + 30 * 60_000, 0)],
  };
}

// ---- writing ----------------------------------------------------------------------------------

class KindFile {
  readonly path: string;
  records = 0;
  private readonly file: WriteStream;
  private readonly sink: WriteStream | Gzip;
  private readonly eol: string;

  constructor(dir: string, kind: Kind) {
    const style = FILE_STYLE[kind];
    this.path = `${kind}.ndjson${style.gzip ? '.gz' : ''}`;
    this.file = createWriteStream(join(dir, this.path));
    const gzip = style.gzip ? createGzip() : undefined;
    if (gzip) gzip.pipe(this.file);
    this.sink = gzip ?? this.file;
    this.eol = style.crlf ? '\r\n' : '\n';
    if (style.bom) this.sink.write('\ufeff');
  }

  async line(text: string | Buffer): Promise<void> {
    this.records++;
    const ok =
      typeof text === 'string'
        ? this.sink.write(text + this.eol)
        : this.sink.write(Buffer.concat([text, Buffer.from(this.eol)]));
    if (!ok) await once(this.sink, 'drain');
  }

  async blank(): Promise<void> {
    this.sink.write(`  ${this.eol}`);
  }

  async close(): Promise<void> {
    const done = once(this.file, 'close');
    this.sink.end();
    await done;
  }
}

/** The export id a generation into `out` would have; throws RangeError for options it cannot take. */
export function checkGenerateOptions(options: Pick<GenerateOptions, 'out' | 'accounts'>): string {
  const exportId = basename(resolve(options.out));
  if (!EXPORT_ID.test(exportId))
    throw new RangeError(
      `--out: the folder name "${exportId}" is not a valid exportId ([A-Za-z0-9._-], 1-64)`,
    );
  if (!Number.isInteger(options.accounts) || options.accounts < 1)
    throw new RangeError('--accounts: expected a whole number of at least 1');
  return exportId;
}

export async function generateExport(
  options: GenerateOptions,
): Promise<{ exportId: string; records: number }> {
  const out = resolve(options.out);
  const exportId = checkGenerateOptions(options);
  const policy = options.policy ?? DEFAULT_POLICY;
  const rnd = prng(options.seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const chance = (p: number) => rnd() < p;
  /** A count with the given mean (a few per account: 0..2×mean). */
  const about = (mean: number) => {
    const whole = Math.floor(mean);
    return whole + (chance(mean - whole) ? 1 : 0) + (whole > 0 ? int(-Math.min(whole, 1), 1) : 0);
  };
  const n = options.accounts;
  const day = (date: string) => startOfDay(date, policy.timeZone);
  const between = (from: number, to: number, offset?: number) =>
    isoAt(from + Math.floor(rnd() * (to - from)), offset ?? pick([0, 60, 120]));
  const T = {
    start: day('2008-01-01'),
    cutoff: day(policy.contentCutoff),
    windowFrom: day(policy.groupActivityWindow.from),
    windowTo: day(policy.groupActivityWindow.to),
    end: day('2022-08-30'),
  };

  if (options.replacePrevious) {
    // Only what a generated export consists of: its kind files, its manifest and its blobs.
    for (const kind of Object.keys(FILE_STYLE)) {
      await rm(join(out, `${kind}.ndjson`), { force: true });
      await rm(join(out, `${kind}.ndjson.gz`), { force: true });
    }
    await rm(join(out, 'manifest.json'), { force: true });
    await rm(join(out, 'blobs'), { recursive: true, force: true });
  }
  await mkdir(join(out, 'blobs'), { recursive: true });

  const files = {} as Record<Kind, KindFile>;
  for (const kind of Object.keys(FILE_STYLE) as Kind[]) files[kind] = new KindFile(out, kind);
  const emit = (kind: Kind, record: object) => files[kind].line(JSON.stringify(record));

  // Files: a pool of contents, each written once under blobs/<sha256>.
  const pool = Math.max(32, Math.ceil(n / 4));
  const written = new Set<number>();
  const content = (k: number, salt = '') => {
    const body = `ESEP sample file ${k}${salt}\n`.repeat(8 + (k % 40));
    return Buffer.from(body, 'utf8');
  };
  const fileRef = async (fileName?: string, contentType?: string): Promise<FileRef> => {
    const k = int(0, pool - 1);
    const bytes = content(k);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (!written.has(k)) {
      written.add(k);
      await writeFile(join(out, 'blobs', sha256), bytes);
    }
    const type = contentType ?? pick(Object.keys(TYPES));
    return {
      sha256,
      size: bytes.length,
      contentType: type,
      fileName: fileName ?? `document-${k}.${TYPES[type]}`,
    };
  };
  const missingRef = (): FileRef => {
    const bytes = content(0, '-never-exported');
    return {
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: bytes.length,
      contentType: 'application/pdf',
      fileName: 'lost-worksheet.pdf',
    };
  };
  const corruptRef = async (): Promise<FileRef> => {
    const bytes = content(1, '-original');
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await writeFile(join(out, 'blobs', sha256), content(1, '-damaged in transit'));
    return { sha256, size: bytes.length, contentType: 'image/png', fileName: 'class-photo.png' };
  };

  const person = (i: number) => {
    const first = FIRST[i % FIRST.length] as string;
    const last = LAST[(i * 7) % LAST.length] as string;
    const local = `${first}.${last}`
      .normalize('NFD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[^A-Za-z.-]/g, '')
      .toLowerCase();
    return { first, last, email: `${local}.${i}@school${i % 97}.example.eu` };
  };
  const account = async (i: number, over: Record<string, unknown> = {}) => {
    const p = person(i);
    const country = COUNTRIES[i % COUNTRIES.length] as string;
    await emit('accounts', {
      id: accountId(i),
      platform: chance(0.8) ? 'etwinning' : 'seg',
      email: p.email,
      firstName: p.first,
      lastName: p.last,
      country,
      registeredAt: between(T.start, T.end),
      organisations: [
        {
          id: `org-${i % 500}`,
          name: `School ${i % 500}`,
          country,
          role: pick(['teacher', 'head teacher', 'librarian']),
        },
      ],
      ...(chance(0.6) ? { profilePhoto: await fileRef(`portrait-${i}.jpg`, 'image/jpeg') } : {}),
      progressScore: int(0, 400),
      passwordHash: `$2y$10$${createHash('sha256').update(`pw${i}`).digest('base64').slice(0, 53)}`,
      login: `user${i}`,
      ...over,
    });
  };
  const item = async (
    kind: 'twinspace-items' | 'group-items',
    id: string,
    parent: string,
    author: string,
    over: Record<string, unknown>,
  ) => {
    const k = pick(ITEM_KINDS);
    await emit(kind, {
      id,
      [kind === 'twinspace-items' ? 'projectId' : 'groupId']: parent,
      kind: k,
      title: `${k} ${id}`,
      ...(k === 'page' || k === 'forum-post' || k === 'comment' ? { body: `Text of ${id}.` } : {}),
      authorId: author,
      createdAt: between(T.start, T.end),
      ...(k === 'material' || k === 'image' || k === 'video' ? { file: await fileRef() } : {}),
      ...over,
    });
  };
  const members = (founder: number, ownerRole: string) => {
    const list = [{ accountId: accountId(founder), role: ownerRole }];
    for (let m = int(1, 5); m > 0; m--) list.push({ accountId: accountId(int(0, n - 1)), role: 'member' });
    return list;
  };

  // ---- the edge cases, first in each file --------------------------------------------------------
  const edgeAccounts = Math.min(n, 12);
  const shared = { email: 'Maria.Rossi@School1.example.eu' };
  const zoeNfc = 'zoë.müller@schule.example.de'.normalize('NFC');
  // ID-3 supersession, with case, space and Unicode variants of one e-mail.
  await account(0, { platform: 'etwinning', email: shared.email.toLowerCase() });
  if (n > 1) await account(1, { platform: 'seg', email: `  ${shared.email.toUpperCase()} ` });
  if (n > 2) await account(2, { platform: 'etwinning', email: zoeNfc });
  if (n > 3) await account(3, { platform: 'seg', email: zoeNfc.normalize('NFD').toUpperCase() });
  // ID-8 ambiguity: two eTwinning accounts with one e-mail.
  if (n > 4) await account(4, { platform: 'etwinning', email: 'shared.staffroom@school7.example.eu' });
  if (n > 5) await account(5, { platform: 'etwinning', email: 'Shared.Staffroom@school7.example.eu' });
  // An SEG account whose only eTwinning twin is schema-invalid: it is not superseded.
  if (n > 6) await account(6, { platform: 'seg', email: 'jan.devries@basisschool.example.nl' });
  if (n > 7)
    await account(7, {
      platform: 'etwinning',
      email: 'jan.devries@basisschool.example.nl',
      country: 'Netherlands',
    });
  // An SEG account alone migrates; profile photos missing and damaged (the profile migrates without).
  if (n > 8) await account(8, { platform: 'seg', profilePhoto: missingRef() });
  if (n > 9) await account(9, { platform: 'etwinning', profilePhoto: await corruptRef() });
  // Timestamp without offset, missing field.
  if (n > 10) await account(10, { registeredAt: '2015-03-01T10:00:00' });
  if (n > 11) await account(11, { email: undefined });
  // A duplicate id carrying an eTwinning twin of an SEG account: only standing lines supersede.
  await emit('accounts', {
    id: accountId(6),
    platform: 'etwinning',
    email: 'jan.devries@basisschool.example.nl',
    firstName: 'Jan',
    lastName: 'de Vries',
    country: 'NL',
    registeredAt: '2012-01-01T00:00:00Z',
    organisations: [],
  });
  for (let i = edgeAccounts; i < n; i++) await account(i);

  // Every kind file: an unreadable line, a line with no id, a duplicate, a schema break, blank lines.
  const CUT = aroundBoundary(T.cutoff);
  const WIN_FROM = aroundBoundary(T.windowFrom);
  const WIN_TO = aroundBoundary(T.windowTo);
  let seq = 0;
  const nextId = (prefix: string) => `${prefix}-${pad(++seq)}`;

  // Projects around TS-1, each with one item (TS-2 boundary items go into an eligible project).
  const projectIds: string[] = [];
  const edgeProject = async (registeredAt: string) => {
    const id = nextId('prj');
    projectIds.push(id);
    await emit('projects', {
      id,
      title: `Project ${id}`,
      registeredAt,
      members: members(int(0, n - 1), 'founder'),
    });
    return id;
  };
  for (const ts of [...CUT.before, ...CUT.onOrAfter]) await edgeProject(ts);
  const eligible = await edgeProject('2019-09-15T09:00:00+02:00');
  const old = await edgeProject('2016-09-15T09:00:00+02:00');
  for (const ts of [...CUT.before, ...CUT.onOrAfter])
    await item('twinspace-items', nextId('tsi'), eligible, accountId(0), { createdAt: ts });
  await item('twinspace-items', nextId('tsi'), old, accountId(0), { createdAt: '2020-01-10T10:00:00+01:00' });
  await item('twinspace-items', nextId('tsi'), 'prj-not-exported', accountId(0), {
    createdAt: '2020-01-10T10:00:00+01:00',
  });
  // An item of a project that is quarantined (its line breaks the schema, below): held with it (TS-3).
  await item('twinspace-items', nextId('tsi'), 'projects-wrong-types', accountId(0), {
    createdAt: '2020-01-10T10:00:00+01:00',
  });
  await item('twinspace-items', nextId('tsi'), eligible, accountId(1), {
    kind: 'material',
    createdAt: '2020-02-01T10:00:00Z',
    file: missingRef(),
  });
  await item('twinspace-items', nextId('tsi'), eligible, accountId(1), {
    kind: 'image',
    createdAt: '2020-02-01T10:00:00Z',
    file: await corruptRef(),
  });
  const unsafeNames = [
    '../../etc/passwd',
    'reports/2021\\summary.pdf',
    'bell\u0007ring.txt',
    `${'long-name-'.repeat(30)}.pdf`,
    '..',
  ];
  for (const name of unsafeNames)
    await item('twinspace-items', nextId('tsi'), eligible, accountId(2), {
      kind: 'material',
      createdAt: '2021-05-05T12:00:00+02:00',
      file: await fileRef(name),
    });
  await item('twinspace-items', nextId('tsi'), old, accountId(2), {
    kind: 'material',
    createdAt: '2017-05-05T12:00:00+02:00',
    file: await fileRef('old-lesson-plan.pdf'),
  });

  // Groups around GR-1: one group per boundary item, so each group's decision tests one boundary.
  const groupIds: string[] = [];
  const edgeGroup = async (items: Record<string, unknown>[]) => {
    const id = nextId('grp');
    groupIds.push(id);
    await emit('groups', {
      id,
      title: `Group ${id}`,
      createdAt: '2015-01-01T10:00:00+01:00',
      members: members(int(0, n - 1), 'admin'),
    });
    for (const over of items) await item('group-items', nextId('gri'), id, accountId(3), over);
    return id;
  };
  for (const ts of [...WIN_FROM.before, ...WIN_TO.onOrAfter]) await edgeGroup([{ createdAt: ts }]);
  for (const ts of [...WIN_FROM.onOrAfter, ...WIN_TO.before]) await edgeGroup([{ createdAt: ts }]);
  await edgeGroup([{ createdAt: '2017-01-01T10:00:00+01:00', updatedAt: '2021-06-01T10:00:00+02:00' }]);
  const dupGroup = await edgeGroup([{ createdAt: '2019-01-01T10:00:00+01:00' }]);
  await files['group-items'].line(
    JSON.stringify({
      id: `gri-${pad(seq)}`,
      groupId: dupGroup,
      kind: 'page',
      title: 'dup',
      authorId: accountId(3),
      createdAt: '2021-06-01T10:00:00+02:00',
    }),
  );
  await edgeGroup([{ createdAt: '2021-06-01T10:00:00' }]);
  const active = await edgeGroup([{ createdAt: '2021-06-01T10:00:00+02:00' }]);
  for (const ts of [...CUT.before, ...CUT.onOrAfter])
    await item('group-items', nextId('gri'), active, accountId(4), { createdAt: ts });
  await item('group-items', nextId('gri'), 'grp-not-exported', accountId(4), {
    createdAt: '2021-06-01T10:00:00+02:00',
  });

  // Activities around PR-2; events of every organiser role; a learning-lab file.
  for (const ts of [...CUT.before, ...CUT.onOrAfter])
    await emit('activities', {
      id: nextId('act'),
      accountId: accountId(0),
      type: 'login-streak',
      title: 'Activity',
      occurredAt: ts,
    });
  // PR-7: an activity of an account that no export holds.
  await emit('activities', {
    id: nextId('act'),
    accountId: 'acc-not-exported',
    type: 'login-streak',
    title: 'Activity',
    occurredAt: '2021-03-03T10:00:00Z',
  });
  for (const role of ['CSS', 'NSO', 'AMBASSADOR', 'TEACHER']) {
    await emit('events', {
      id: nextId('evt'),
      organiserId: accountId(int(0, n - 1)),
      organiserRole: role,
      title: `${role} event`,
      startsAt: '2021-10-10T15:00:00+02:00',
      participantIds: [accountId(0), accountId(int(0, n - 1))],
    });
  }
  await emit('events', {
    id: nextId('evt'),
    organiserId: accountId(0),
    organiserRole: 'PRINCIPAL',
    title: 'bad role',
    startsAt: '2021-10-10T15:00:00+02:00',
    participantIds: [],
  });

  // Broken lines in every kind file.
  for (const kind of Object.keys(files) as Kind[]) {
    const f = files[kind];
    await f.line(`{"id": "${kind}-truncated", "title": "cut off mid-li`);
    await f.line('{"title": "a record without an id"}');
    await f.line('["not", "an", "object"]');
    await f.blank();
    await f.line(JSON.stringify({ id: `${kind}-wrong-types`, createdAt: 20210101, title: 42 }));
  }
  await files.mailbox.line(Buffer.from([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])); // invalid UTF-8
  const firstProject = projectIds[0] as string;
  await emit('projects', {
    id: firstProject,
    title: 'A second line with an existing id',
    registeredAt: '2020-01-01T00:00:00Z',
    members: [],
  });

  // ---- the bulk: realistic proportions per account ---------------------------------------------
  for (let i = 0; i < n; i++) {
    const me = accountId(i);
    for (let k = about(3); k > 0; k--)
      await emit('activities', {
        id: nextId('act'),
        accountId: me,
        type: pick(['project-joined', 'group-joined', 'event-attended', 'label-awarded']),
        title: 'Activity',
        occurredAt: between(T.start, T.end),
      });
    if (chance(0.5))
      await emit('portfolio', {
        id: nextId('pf'),
        accountId: me,
        kind: pick(PORTFOLIO),
        title: 'Award',
        awardedAt: between(T.start, T.end),
      });
    for (let k = about(2); k > 0; k--)
      await emit('contacts', {
        id: nextId('con'),
        accountId: me,
        otherAccountId: accountId(int(0, n - 1)),
        relation: pick(['contact', 'follower', 'following']),
      });
    for (let k = about(2); k > 0; k--)
      await emit('mailbox', {
        id: nextId('msg'),
        senderId: me,
        recipientIds: [accountId(int(0, n - 1))],
        sentAt: between(T.start, T.end),
      });
    for (let k = about(3); k > 0; k--)
      await emit('feed-posts', {
        id: nextId('feed'),
        accountId: me,
        kind: pick(['post', 'comment']),
        createdAt: between(T.start, T.end),
      });
    if (chance(0.3))
      await emit('partner-forum', {
        id: nextId('pfm'),
        accountId: me,
        title: 'Looking for partners',
        createdAt: between(T.start, T.end),
      });
    if (chance(0.5))
      await emit('photos', {
        id: nextId('pho'),
        accountId: me,
        createdAt: between(T.start, T.end),
        file: await fileRef(`photo-${i}.jpg`, 'image/jpeg'),
      });
    if (chance(0.2)) {
      const id = nextId('prj');
      const registered = between(T.start, T.end);
      const team = members(i, 'founder');
      await emit('projects', { id, title: `Project ${id}`, registeredAt: registered, members: team });
      for (let k = about(20); k > 0; k--) {
        await item('twinspace-items', nextId('tsi'), id, (pick(team) as { accountId: string }).accountId, {
          createdAt: between(Date.parse(registered), T.end),
        });
      }
    }
    if (chance(0.05)) {
      const id = nextId('grp');
      const team = members(i, 'admin');
      await emit('groups', {
        id,
        title: `Group ${id}`,
        createdAt: between(T.start, T.windowFrom),
        members: team,
      });
      const lastActivity = pick([T.cutoff, T.windowFrom, T.windowTo]);
      for (let k = about(20); k > 0; k--) {
        const author = (pick(team) as { accountId: string }).accountId;
        await item('group-items', nextId('gri'), id, author, {
          createdAt: between(T.start, lastActivity === T.windowTo ? T.end : lastActivity),
        });
      }
    }
    if (chance(0.05)) {
      const id = nextId('evt');
      const role = pick(['CSS', 'NSO', 'AMBASSADOR', 'TEACHER', 'TEACHER']);
      const participants = Array.from({ length: int(2, 12) }, () => accountId(int(0, n - 1)));
      await emit('events', {
        id,
        organiserId: me,
        organiserRole: role,
        title: `${role} event`,
        startsAt: between(T.start, T.end),
        participantIds: participants,
      });
      for (let k = int(0, 2); k > 0; k--)
        await emit('learning-lab', {
          id: nextId('lab'),
          eventId: id,
          title: 'Session material',
          createdAt: between(T.start, T.end),
          ...(chance(0.7) ? { file: await fileRef() } : {}),
        });
    }
  }

  let records = 0;
  const listed: { kind: Kind; path: string; records: number; sha256: string }[] = [];
  for (const [kind, f] of Object.entries(files) as [Kind, KindFile][]) {
    await f.close();
    listed.push({
      kind,
      path: f.path,
      records: f.records,
      sha256: await sha256Of(createReadStream(join(out, f.path))),
    });
    records += f.records;
  }
  const manifest = { schemaVersion: 1, exportId, exportedAt: '2022-09-01T02:00:00Z', files: listed };
  await writeFile(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { exportId, records };
}
