import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { plan } from '../../cli/commands/plan';
import { readReceipt } from '../../cli/commands/receipt';
import type { Receipt } from '../../functions/core/report/summary';
import { account } from '../helpers/identity-world';
import { quiet, run, STAFF, useTempFolder, writeExport } from '../helpers/timeline';

/**
 * FAQ eTwinning 17 (EV-3): the Learning Lab of an event is deleted; the event's organiser and participants
 * see it on their receipts, with its file to download. Its people are its event's (AUDIENCE_OF), decided
 * in a stage before it. FAQ eTwinning 9, 11: the members of a deleted TwinSpace or group are offered its
 * items' files as their authors are. `run` and `plan` write the same receipts.
 */
const dir = useTempFolder('esep-lab-');
const bytes = 'slides of the seminar';
const sha256 = createHash('sha256').update(bytes).digest('hex');
const fileOf = (text: string, fileName: string) => ({
  sha256: createHash('sha256').update(text).digest('hex'),
  size: text.length,
  contentType: 'application/pdf',
  fileName,
});
const PAGE = fileOf('our water project', 'water.pdf');
const NOTES = fileOf('notes of the group', 'notes.pdf');
const LAB = {
  exportId: 'lab-2022',
  exportedAt: '2022-09-01T00:00:00Z',
  kinds: {
    accounts: ['e-1', 'e-2', 'e-3'].map((id, i) => account(id, 'etwinning', `t${i}.${STAFF}`)),
    events: [
      {
        id: 'ev-1',
        organiserId: 'e-2',
        organiserRole: 'CSS',
        title: 'Seminar',
        startsAt: '2022-03-01T10:00:00Z',
        participantIds: ['e-1'],
      },
    ],
    'learning-lab': [
      {
        id: 'll-1',
        eventId: 'ev-1',
        title: 'Seminar lab',
        createdAt: '2022-03-01T10:00:00Z',
        file: { sha256, size: bytes.length, contentType: 'application/pdf', fileName: 'slides.pdf' },
      },
      { id: 'll-2', eventId: 'no-such-event', title: 'Lab of nothing', createdAt: '2022-03-01T10:00:00Z' },
    ],
    // A TwinSpace before the cut-off and a group with nothing in the window: both deleted, with an item
    // with a file each.
    projects: [
      {
        id: 'p-old',
        title: 'Water',
        registeredAt: '2017-01-01T00:00:00Z',
        members: [
          { accountId: 'e-1', role: 'founder' },
          { accountId: 'e-2', role: 'member' },
        ],
      },
    ],
    'twinspace-items': [
      {
        id: 'ti-1',
        projectId: 'p-old',
        kind: 'material',
        title: 'Our page',
        authorId: 'e-1',
        createdAt: '2017-03-01T00:00:00Z',
        file: PAGE,
      },
    ],
    groups: [
      {
        id: 'g-old',
        title: 'Readers',
        createdAt: '2015-01-01T00:00:00Z',
        members: [
          { accountId: 'e-2', role: 'admin' },
          { accountId: 'e-3', role: 'member' },
        ],
      },
    ],
    'group-items': [
      {
        id: 'gi-1',
        groupId: 'g-old',
        kind: 'material',
        title: 'Notes',
        authorId: 'e-2',
        createdAt: '2015-02-01T00:00:00Z',
        file: NOTES,
      },
    ],
  },
  blobs: { [sha256]: bytes, [PAGE.sha256]: 'our water project', [NOTES.sha256]: 'notes of the group' },
};

const receipts = new Map<string, Receipt>();
/** A receipt of a run's folder (its own file) or a plan's (its partition), as `esep-migrate receipt` reads it. */
const receiptOf = (folder: string, id: string) => receipts.get(`${folder}\u0000${id}`) as Receipt;

test("a Learning Lab is on its event's people's receipts, deleted, with its file to download, and a deleted space's items' files on its people's; run and plan agree", async () => {
  const state = join(dir(), 'state');
  const ran = await run(state, LAB);
  expect(ran.summary.verification?.passed).toBe(true);
  const planned = await plan({ exportDir: writeExport(LAB), out: join(dir(), 'plan'), stderr: quiet });
  for (const folder of [ran.outDir, planned.outDir])
    for (const person of ['e-1', 'e-2', 'e-3'])
      receipts.set(`${folder}\u0000${person}`, await readReceipt(folder, person));
  const downloads = (folder: string, person: string) =>
    receiptOf(folder, person)
      .downloads.map((d) => `${d.kind} ${d.id} ${d.fileName}`)
      .sort();
  for (const folder of [ran.outDir, planned.outDir]) {
    for (const person of ['e-1', 'e-2']) {
      const receipt = receiptOf(folder, person);
      expect([person, receipt.spaces.filter((s) => s.kind === 'learning-lab')]).toEqual([
        person,
        [expect.objectContaining({ id: 'll-1', decision: 'dropped', reason: 'LEARNING_LAB_NOT_MIGRATED' })],
      ]);
      expect(receipt.downloads).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ kind: 'learning-lab', id: 'll-1', fileName: 'slides.pdf', sha256 }),
        ]),
      );
    }
    // Who did not take part sees nothing of it.
    expect(receiptOf(folder, 'e-3').spaces.filter((s) => s.kind === 'learning-lab')).toEqual([]);
    // A deleted space's items' files: to their authors, and to the space's other people.
    expect(downloads(folder, 'e-1')).toEqual([
      'learning-lab ll-1 slides.pdf',
      'twinspace-items ti-1 water.pdf',
    ]);
    expect(downloads(folder, 'e-2')).toEqual([
      'group-items gi-1 notes.pdf',
      'learning-lab ll-1 slides.pdf',
      'twinspace-items ti-1 water.pdf',
    ]);
    expect(downloads(folder, 'e-3')).toEqual(['group-items gi-1 notes.pdf']);
    expect(receiptOf(folder, 'e-3').spaces).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'group-items', id: 'gi-1', reason: 'PARENT_NOT_MIGRATED' }),
      ]),
    );
  }
  // The same receipts, whichever wrote them (the download link apart: a run's is local).
  const strip = (r: Receipt) => ({ ...r, downloadDeadline: undefined });
  expect(strip(receiptOf(planned.outDir, 'e-1'))).toEqual(strip(receiptOf(ran.outDir, 'e-1')));
}, 120_000);
