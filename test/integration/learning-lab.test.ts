import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { plan } from '../../cli/commands/plan';
import type { Receipt } from '../../functions/core/report/summary';
import { account } from '../helpers/identity-world';
import { quiet, run, STAFF, useTempFolder, writeExport } from '../helpers/timeline';

/**
 * FAQ eTwinning 17 (EV-3): the Learning Lab of an event is deleted; the event's organiser and participants
 * see it on their receipts, with its file to download. Its people are its event's (AUDIENCE_OF), decided
 * in a stage before it; `run` and `plan` write the same receipts.
 */
const dir = useTempFolder('esep-lab-');
const bytes = 'slides of the seminar';
const sha256 = createHash('sha256').update(bytes).digest('hex');
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
  },
  blobs: { [sha256]: bytes },
};

const receiptOf = (folder: string, id: string) =>
  JSON.parse(readFileSync(join(folder, 'receipts', `${id}.json`), 'utf8')) as Receipt;

test("a Learning Lab is on its event's people's receipts, deleted, with its file to download; run and plan agree", async () => {
  const state = join(dir(), 'state');
  const ran = await run(state, LAB);
  expect(ran.summary.verification?.passed).toBe(true);
  const planned = await plan({ exportDir: writeExport(LAB), out: join(dir(), 'plan'), stderr: quiet });
  for (const folder of [ran.outDir, planned.outDir]) {
    for (const person of ['e-1', 'e-2']) {
      const receipt = receiptOf(folder, person);
      expect([person, receipt.spaces.filter((s) => s.kind === 'learning-lab')]).toEqual([
        person,
        [expect.objectContaining({ id: 'll-1', decision: 'dropped', reason: 'LEARNING_LAB_NOT_MIGRATED' })],
      ]);
      expect(receipt.downloads).toEqual([
        expect.objectContaining({ kind: 'learning-lab', id: 'll-1', fileName: 'slides.pdf', sha256 }),
      ]);
    }
    // Who did not take part sees nothing of it.
    expect(receiptOf(folder, 'e-3').spaces).toEqual([]);
  }
  // The same receipts, whichever wrote them (the download link apart: a run's is local).
  const strip = (r: Receipt) => ({ ...r, downloadDeadline: undefined });
  expect(strip(receiptOf(planned.outDir, 'e-1'))).toEqual(strip(receiptOf(ran.outDir, 'e-1')));
}, 120_000);
