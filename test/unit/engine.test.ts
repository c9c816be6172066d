import { compilePolicy } from '../../functions/core/rules/policy';
import { account } from '../helpers/identity-world';
import { blob, decideAll } from '../helpers/memory-export';

const project = (id: string, registeredAt = '2019-01-01T00:00:00Z') => ({
  id,
  title: 'P',
  registeredAt,
  members: [{ accountId: 'a1', role: 'founder' }],
});
const tsItem = (id: string, projectId: string, over: object = {}) => ({
  id,
  projectId,
  kind: 'page',
  title: 'T',
  authorId: 'a1',
  createdAt: '2020-01-01T00:00:00Z',
  ...over,
});
const group = (id: string) => ({
  id,
  title: 'G',
  createdAt: '2015-01-01T00:00:00Z',
  members: [{ accountId: 'a1', role: 'admin' }],
});
const grItem = (id: string, groupId: string, createdAt = '2021-06-01T00:00:00+02:00') => ({
  id,
  groupId,
  kind: 'page',
  title: 'T',
  authorId: 'a1',
  createdAt,
});
const activity = (id: string, accountId: string) => ({
  id,
  accountId,
  type: 'comment',
  title: 'T',
  occurredAt: '2020-01-01T00:00:00Z',
});

describe('which rule decides (migration-rules.md, in order)', () => {
  test('an unreadable line is INVALID_RECORD with id <file>:<line>, counting blank lines', async () => {
    const { records } = await decideAll({
      kinds: { projects: [project('p1'), '', '{"id": "p2"', '   ', '{"no": "id"}'] },
    });
    expect(records.map((r) => [r.id, r.reason])).toEqual([
      ['p1', 'TWINSPACE_ELIGIBLE'],
      ['projects.ndjson:3', 'INVALID_RECORD'],
      ['projects.ndjson:5', 'INVALID_RECORD'],
    ]);
  });

  test('the first line with an id stands whatever it holds; later ones are duplicates whatever they hold', async () => {
    const { records } = await decideAll({
      kinds: { projects: [{ id: 'p1', title: 5 }, project('p1'), project('p1', '2010-01-01T00:00:00Z')] },
    });
    expect(records.map((r) => r.reason)).toEqual(['INVALID_RECORD', 'DUPLICATE_ID', 'DUPLICATE_ID']);
    expect(records[0]?.detail).toMatch(/^title: /);
  });

  test('an item whose container is a line of its kind is never an orphan; with an invalid container it is held (TS-3)', async () => {
    const { byId } = await decideAll({
      kinds: {
        projects: [
          project('p1'),
          { id: 'p-bad', title: 'no date' },
          project('p-old', '2015-01-01T00:00:00Z'),
        ],
        'twinspace-items': [
          tsItem('i1', 'p1'),
          tsItem('i2', 'p-bad'),
          tsItem('i3', 'p-old'),
          tsItem('i4', 'p-none'),
          tsItem('i5', 'p1', { createdAt: 'yesterday' }),
        ],
      },
    });
    expect(byId.get('twinspace-items/i1')?.reason).toBe('CONTENT_ELIGIBLE');
    expect(byId.get('twinspace-items/i2')).toMatchObject({
      decision: 'quarantined',
      reason: 'PARENT_QUARANTINED',
    });
    expect(byId.get('twinspace-items/i3')?.reason).toBe('PARENT_NOT_MIGRATED');
    expect(byId.get('twinspace-items/i4')?.reason).toBe('ORPHAN_RECORD');
    expect(byId.get('twinspace-items/i5')).toMatchObject({
      reason: 'INVALID_RECORD',
      detail: expect.stringMatching(/^createdAt: /),
    });
  });

  test('GR-1 counts only standing, schema-valid items; a quarantined item makes the activity unknown, never inactive', async () => {
    const { byId, records } = await decideAll({
      kinds: {
        groups: [group('g-dup'), group('g-invalid'), group('g-ok'), group('g-old'), group('g-both')],
        'group-items': [
          grItem('x1', 'g-dup', '2019-01-01T00:00:00Z'),
          grItem('x1', 'g-dup'),
          { ...grItem('x2', 'g-invalid'), kind: 'poster' },
          grItem('x3', 'g-ok'),
          grItem('x4', 'g-old', '2019-01-01T00:00:00Z'),
          grItem('x5', 'g-both'),
          { ...grItem('x6', 'g-both'), kind: 'poster' },
        ],
      },
    });
    expect(byId.get('groups/g-dup')).toMatchObject({
      decision: 'quarantined',
      reason: 'GROUP_ACTIVITY_UNKNOWN',
    });
    expect(byId.get('groups/g-invalid')?.reason).toBe('GROUP_ACTIVITY_UNKNOWN');
    expect(byId.get('groups/g-ok')?.reason).toBe('GROUP_ACTIVE');
    expect(byId.get('groups/g-old')?.reason).toBe('GROUP_INACTIVE');
    expect(byId.get('groups/g-both')?.reason).toBe('GROUP_ACTIVE');
    // The items of a group held for review are held with it (GR-4), not deleted.
    expect(records.filter((r) => r.id === 'x1').map((r) => r.reason)).toEqual([
      'PARENT_QUARANTINED',
      'DUPLICATE_ID',
    ]);
    expect(byId.get('group-items/x3')?.reason).toBe('CONTENT_ELIGIBLE');
    expect(byId.get('group-items/x4')?.reason).toBe('PARENT_NOT_MIGRATED');
  });

  test('members and participants of a valid record get it on their receipts; of an invalid line, nobody but its owners', async () => {
    const event = (id: string, organiserRole: string, participantIds: string[]) => ({
      id,
      organiserId: 'a1',
      organiserRole,
      title: 'Webinar',
      startsAt: '2021-10-10T15:00:00+02:00',
      participantIds,
    });
    const { byId } = await decideAll({
      kinds: {
        events: [event('ok', 'NSO', ['a1', 'a2', 'a3', 'a2']), event('bad', 'PRINCIPAL', ['a2', 'a3'])],
      },
    });
    expect(byId.get('events/ok')).toMatchObject({ owners: ['a1'], members: ['a2', 'a3'] });
    expect(byId.get('events/bad')).toMatchObject({ decision: 'quarantined', owners: ['a1'] });
    expect(byId.get('events/bad')?.members).toBeUndefined();
  });

  test('PR-7: account-owned records follow their account (superseded, quarantined, in no export)', async () => {
    const email = 'same@school.example';
    const { byId } = await decideAll({
      kinds: {
        accounts: [
          account('et', 'etwinning', email),
          account('sg', 'seg', email),
          { ...account('bad', 'etwinning', 'bad@school.example'), country: 'nowhere' },
        ],
        activities: [
          activity('a-et', 'et'),
          activity('a-sg', 'sg'),
          activity('a-bad', 'bad'),
          activity('a-none', 'nobody'),
        ],
        portfolio: [
          { id: 'p-sg', accountId: 'sg', kind: 'prize', title: 'T', awardedAt: '2010-01-01T00:00:00Z' },
        ],
      },
    });
    expect(byId.get('activities/a-et')?.reason).toBe('ACTIVITY_ELIGIBLE');
    expect(byId.get('activities/a-sg')).toMatchObject({ decision: 'dropped', reason: 'SEG_SUPERSEDED' });
    expect(byId.get('portfolio/p-sg')?.reason).toBe('SEG_SUPERSEDED');
    expect(byId.get('activities/a-bad')).toMatchObject({
      decision: 'quarantined',
      reason: 'PARENT_QUARANTINED',
    });
    expect(byId.get('activities/a-none')).toMatchObject({ decision: 'quarantined', reason: 'ORPHAN_RECORD' });
  });

  test('ID-3: an SEG account is superseded only by a standing, schema-valid eTwinning account (case, space, NFC)', async () => {
    const zoe = 'zoë@schule.example.de';
    const { byId } = await decideAll({
      kinds: {
        accounts: [
          account('seg-1', 'seg', ` ${zoe.normalize('NFD').toUpperCase()} `),
          account('et-1', 'etwinning', zoe),
          account('seg-2', 'seg', 'jan@school.nl'),
          account('et-2', 'etwinning', 'JAN@school.nl', { country: 'Netherlands' }),
          account('seg-3', 'seg', 'eva@school.se'),
          account('et-1', 'etwinning', 'eva@school.se'),
          account('seg-4', 'seg', 'alone@school.fi'),
        ],
      },
    });
    expect(byId.get('accounts/seg-1')?.reason).toBe('SEG_SUPERSEDED');
    expect(byId.get('accounts/seg-2')?.reason).toBe('PROFILE_MIGRATED');
    expect(byId.get('accounts/et-2')?.reason).toBe('INVALID_RECORD');
    expect(byId.get('accounts/seg-3')?.reason).toBe('PROFILE_MIGRATED');
    expect(byId.get('accounts/seg-4')?.reason).toBe('PROFILE_MIGRATED');
  });

  test('files are checked only for records that would migrate', async () => {
    const good = blob('lesson plan');
    const missing = blob('never exported', 'missing.pdf').ref;
    const corrupt = blob('original bytes', 'photo.png');
    const { byId } = await decideAll({
      kinds: {
        projects: [project('p1'), project('p-old', '2015-01-01T00:00:00Z')],
        'twinspace-items': [
          tsItem('ok', 'p1', { file: good.ref }),
          tsItem('missing', 'p1', { file: missing }),
          tsItem('corrupt', 'p1', { file: corrupt.ref }),
          tsItem('dropped-missing', 'p-old', { file: missing }),
          tsItem('old-missing', 'p1', { createdAt: '2017-01-01T00:00:00Z', file: missing }),
        ],
        accounts: [account('a1', 'etwinning', 'a@b.eu', { profilePhoto: missing })],
        photos: [{ id: 'ph', accountId: 'a1', createdAt: '2021-01-01T00:00:00Z', file: missing }],
      },
      blobs: { ...good.blobs, [corrupt.ref.sha256]: 'damaged bytes' },
    });
    expect(byId.get('twinspace-items/ok')?.reason).toBe('CONTENT_ELIGIBLE');
    expect(byId.get('twinspace-items/missing')?.reason).toBe('BLOB_MISSING');
    expect(byId.get('twinspace-items/corrupt')?.reason).toBe('BLOB_CHECKSUM_MISMATCH');
    expect(byId.get('twinspace-items/dropped-missing')?.reason).toBe('PARENT_NOT_MIGRATED');
    expect(byId.get('twinspace-items/old-missing')?.reason).toBe('CONTENT_BEFORE_CUTOFF');
    expect(byId.get('accounts/a1')).toMatchObject({
      decision: 'migrated',
      reason: 'PROFILE_MIGRATED',
      detail: expect.stringContaining('profilePhoto left out'),
    });
    expect(byId.get('photos/ph')?.reason).toBe('PHOTO_NOT_MIGRATED');
  });
});

describe('waves and files', () => {
  const spec = {
    kinds: {
      projects: [project('p1')],
      'twinspace-items': [tsItem('i1', 'p1')],
      groups: [group('g1')],
      'group-items': [grItem('x1', 'g1')],
      accounts: [account('a1', 'etwinning', 'a@b.eu')],
    },
    gzip: ['twinspace-items' as const, 'accounts' as const],
  };
  test('a wave decides its own kinds and touches no other', async () => {
    expect(new Set((await decideAll(spec, { wave: 'nov-2022' })).records.map((r) => r.kind))).toEqual(
      new Set(['groups', 'group-items']),
    );
    expect(new Set((await decideAll(spec, { wave: 'sept-2022' })).records.map((r) => r.wave))).toEqual(
      new Set(['sept-2022']),
    );
  });
  test('all waves run in order, gzip files included', async () => {
    const { records } = await decideAll(spec);
    expect(records.map((r) => r.kind)).toEqual([
      'projects',
      'twinspace-items',
      'groups',
      'group-items',
      'accounts',
    ]);
    expect(records.every((r) => r.decision === 'migrated')).toBe(true);
  });
  test('a wave moved by policy brings its kinds along (groups on 30.09.2022)', async () => {
    const policy = compilePolicy({
      waves: [
        {
          id: 'sept-2022',
          kinds: [
            'projects',
            'twinspace-items',
            'mailbox',
            'feed-posts',
            'partner-forum',
            'groups',
            'group-items',
          ],
        },
        {
          id: '2023',
          kinds: ['accounts', 'activities', 'portfolio', 'events', 'learning-lab', 'photos', 'contacts'],
        },
      ],
    });
    const { records } = await decideAll(spec, { policy, wave: 'sept-2022' });
    expect(records.map((r) => r.kind).sort()).toEqual([
      'group-items',
      'groups',
      'projects',
      'twinspace-items',
    ]);
  });
  test('owners: founders of projects, authors of items, the account itself', async () => {
    const { byId } = await decideAll(spec);
    expect(byId.get('projects/p1')?.owners).toEqual(['a1']);
    expect(byId.get('twinspace-items/i1')?.owners).toEqual(['a1']);
    expect(byId.get('accounts/a1')?.owners).toEqual(['a1']);
  });
});

test('a title that is an e-mail address reaches the report and the receipts withheld (ID-5)', async () => {
  const { records } = await decideAll({
    kinds: { projects: [{ ...project('p1'), title: 'Jan@School2.example.eu' }, project('p2')] },
  });
  expect(records.map((r) => r.title)).toEqual(['(e-mail address withheld)', 'P']);
});
