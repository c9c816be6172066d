import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { forgetLocal } from '../../cli/commands/forget';
import { lookupLocal } from '../../cli/commands/lookup';
import { plan } from '../../cli/commands/plan';
import { s3Objects } from '../../functions/adapters/s3-objects';
import { forgetDepsFrom } from '../../functions/adapters/wiring';
import { forgetAccount } from '../../functions/core/pipeline/erase';
import { ERASED_ID } from '../../functions/core/rules/erasure';
import { startLocalPipeline } from '../../local/runtime/pipeline';
import { cliAsync } from '../helpers/cli';
import { account } from '../helpers/identity-world';
import type { ExportSpec } from '../helpers/memory-export';
import { ANA, quiet, register, run, STAFF, useTempFolder, verified, writeExport } from '../helpers/timeline';

/**
 * ER-1, erasure on request (GDPR Art. 17): `forget` withdraws everything of one legacy account (its
 * profile and lists, the items it wrote in a shared TwinSpace, the event it organised, its place among a
 * TwinSpace's members and an event's participants, its link, its receipt, its lines in decisions.ndjson),
 * keeps an audit record without personal data, and every later run, re-run or other export decides it
 * ERASED. Hand-made exports; the account `e-1` (Ana) is erased, `e-2` keeps everything of theirs.
 */
const dir = useTempFolder('esep-erasure-');

const event = (id: string, organiserId: string, participantIds: string[]) => ({
  id,
  organiserId,
  organiserRole: 'CSS',
  title: `Event ${id}`,
  startsAt: '2022-03-01T10:00:00Z',
  participantIds,
});
const item = (id: string, authorId: string) => ({
  id,
  projectId: 'p-1',
  kind: 'page',
  title: `Page by ${authorId}`,
  authorId,
  createdAt: '2022-01-10T10:00:00Z',
});
const activityOf = (id: string, accountId: string) => ({
  id,
  accountId,
  type: 'comment',
  title: 'Shared a lesson plan',
  occurredAt: '2022-03-01T10:00:00Z',
});

const RIVERS = {
  sha256: createHash('sha256').update('rivers of europe').digest('hex'),
  size: 'rivers of europe'.length,
  contentType: 'application/pdf',
  fileName: 'rivers.pdf',
};
const world = (exportId: string, exportedAt: string): ExportSpec & { exportId: string } => ({
  exportId,
  exportedAt,
  kinds: {
    accounts: [account('e-1', 'etwinning', ANA), account('e-2', 'etwinning', STAFF)],
    activities: [activityOf(`${exportId}-a1`, 'e-1'), activityOf(`${exportId}-a2`, 'e-2')],
    projects: [
      {
        id: 'p-1',
        title: 'Water',
        registeredAt: '2021-09-01T00:00:00Z',
        members: [
          { accountId: 'e-2', role: 'founder' },
          { accountId: 'e-1', role: 'member' },
        ],
      },
      // Deleted (before the cut-off): its people are kept with its decision, for its item's file.
      {
        id: 'p-old',
        title: 'Rivers',
        registeredAt: '2017-09-01T00:00:00Z',
        members: [
          { accountId: 'e-2', role: 'founder' },
          { accountId: 'e-1', role: 'member' },
        ],
      },
    ],
    'twinspace-items': [
      item('ti-1', 'e-1'),
      item('ti-2', 'e-2'),
      { ...item('ti-3', 'e-2'), projectId: 'p-old', file: RIVERS },
    ],
    events: [event('ev-1', 'e-1', ['e-2']), event('ev-2', 'e-2', ['e-1'])],
  },
  blobs: { [RIVERS.sha256]: 'rivers of europe' },
});
const FIRST = world('er-2022', '2022-08-01T00:00:00Z');

/** Everything the target and the reports bucket hold, as text by key. */
async function everything(state: string): Promise<Map<string, string>> {
  const p = await startLocalPipeline({ stateDir: state });
  try {
    const objects = s3Objects(p.clients.s3);
    const out = new Map<string, string>();
    for (const bucket of [p.resources.buckets.migrated, p.resources.buckets.reports])
      for (const key of await objects.list(bucket, ''))
        out.set(`${bucket}/${key}`, (await objects.getText(bucket, key)) ?? '');
    return out;
  } finally {
    await p.stop();
  }
}

/** Where the erased account still shows: keys or contents naming `e-1` (its id as a JSON string or a key segment). */
const naming = (all: Map<string, string>) =>
  [...all].filter(([key, text]) => /(^|\/)e-1(\/|\.|$)/.test(key) || text.includes('"e-1"')).map(([k]) => k);

/** The local report folder's files, as text by relative path. */
function folderFiles(folder: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }))
      if (e.isDirectory()) walk(join(d, e.name));
      else out.set(join(d, e.name).slice(folder.length), readFileSync(join(d, e.name), 'utf8'));
  };
  walk(folder);
  return out;
}

test('forget withdraws everything of the account, keeps the rest, and every later run decides it ERASED', async () => {
  const state = join(dir(), 'state');
  const first = await run(state, FIRST);
  expect(first.summary.verification?.passed).toBe(true);
  expect(await register(state, 'u-ana', ANA)).toMatchObject({ decision: 'linked', legacyAccountId: 'e-1' });
  const before = await everything(state);
  // The world is what the test says: the account is everywhere before.
  expect(naming(before).length).toBeGreaterThan(5);

  const forgotten = await forgetLocal({ account: 'etwinning:e-1', reason: 'GDPR-2022-17', stateDir: state });
  expect(forgotten).toMatchObject({
    again: false,
    runs: 1,
    unlinked: true,
    // Its receipt; and e-2's, which named the event e-1 organised.
    receipts: { deleted: 1, amended: 1 },
    remaining: [],
    erasure: { platform: 'etwinning', ticket: 'GDPR-2022-17' },
  });
  expect(forgotten.deleted).toBeGreaterThanOrEqual(4); // profile, activity, item, event
  expect(forgotten.rewritten).toBe(2); // the TwinSpace's members, ev-2's participants
  expect(forgotten.decisionLines).toBeGreaterThanOrEqual(4);

  const after = await everything(state);
  // Nothing in the target or the reports names the account any more...
  expect(naming(after)).toEqual([]);
  // ...and what is the other teacher's stays: their profile, item, event and the shared TwinSpace.
  const keys = [...after.keys()].join('\n');
  for (const kept of ['/profiles/', '/e-2/profile.json', '/items/ti-2.json', '/ev-2.json', 'twinspace.json'])
    expect(keys).toContain(kept);
  expect(keys).not.toMatch(/ti-1|ev-1/);
  // The local report folder too: no receipt, no line naming it; its decisions kept, anonymous.
  const folder = forgotten.folders[0] as string;
  const files = folderFiles(folder);
  expect([...files].filter(([k, t]) => k.includes('e-1') || t.includes('"e-1"')).map(([k]) => k)).toEqual([]);
  const lines = (files.get('/decisions.ndjson') ?? '')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  expect(lines.filter((l) => l.id === ERASED_ID).length).toBe(forgotten.decisionLines);
  // The audit record: the keyed hash, the ticket, the time; `lookup` shows it; verify passes.
  const found = await lookupLocal({ stateDir: state, account: 'e-1' });
  expect(found).toMatchObject({ erased: { ticket: 'GDPR-2022-17' }, runs: [] });
  expect(found.link).toBeUndefined();
  expect((await verified(state, 'er-2022')).passed).toBe(true);

  // The same command again: the erasure stands as first recorded, nothing left to do.
  const again = await forgetLocal({ account: 'etwinning:e-1', reason: 'GDPR-2022-17', stateDir: state });
  expect(again).toMatchObject({ again: true, deleted: 0, remaining: [], erasure: forgotten.erasure });

  // A re-run of the same export, and a later export holding the account again: ERASED, nothing of it.
  const rerun = await run(state, FIRST);
  expect(rerun.summary.verification?.passed).toBe(true);
  const laterExport = world('er-2023', '2023-02-01T00:00:00Z');
  // plan in this state decides it as the run then does.
  const planned = await plan({
    exportDir: writeExport(laterExport),
    stateDir: state,
    out: join(dir(), 'plan-later'),
    stderr: quiet,
  });
  const later = await run(state, laterExport);
  expect(later.summary.verification?.passed).toBe(true);
  expect(later.summary.counts.accounts).toMatchObject({ migrated: 1, dropped: 1 });
  expect(later.summary.counts.events).toMatchObject({ migrated: 1, dropped: 1 });
  const afterLater = await everything(state);
  expect(naming(afterLater)).toEqual([]);
  const decisions = readFileSync(join(later.outDir, 'decisions.ndjson'), 'utf8');
  expect(decisions.match(/"reason":"ERASED"/g)?.length).toBe(4);
  expect(readFileSync(join(planned.outDir, 'decisions.ndjson'), 'utf8')).toBe(decisions);
  expect(existsSync(join(later.outDir, 'receipts', 'e-1.json'))).toBe(false);
  // Registering with the erased account's e-mail links no one.
  expect(await register(state, 'u-ana-2', ANA)).toMatchObject({ decision: 'not-linked' });

  // The later export holds the other teacher's profile and event now (ID-9): staged from there only.
  expect([...afterLater.keys()].filter((k) => k.endsWith('/ev-2.json'))).toEqual([
    expect.stringContaining('/er-2023/'),
  ]);
  // Verify proves it: a document of the target that names the account again fails it, named.
  const stored = [...afterLater.keys()].find(
    (k) => k.endsWith('/ev-2.json') && k.includes('/er-2023/'),
  ) as string;
  const p = await startLocalPipeline({ stateDir: state });
  try {
    const objects = s3Objects(p.clients.s3);
    const bucket = p.resources.buckets.migrated;
    const key = stored.slice(bucket.length + 1);
    const doc = JSON.parse((await objects.getText(bucket, key)) as string);
    expect(doc.participantIds).toEqual([]);
    await objects.put(bucket, key, JSON.stringify({ ...doc, participantIds: ['e-1'] }), 'application/json');
  } finally {
    await p.stop();
  }
  const check = (await verified(state, 'er-2023')).checks.find((c) => c.name === 'withdrawn');
  expect(check?.passed).toBe(false);
  expect(check?.problems).toEqual(['events ev-2: names an erased account (ER-1)']);
}, 240_000);

test('a forget stopped part way is finished by the same command: the same end state as one that was not', async () => {
  const states = { stopped: join(dir(), 'stopped'), whole: join(dir(), 'whole') };
  await run(states.stopped, FIRST);
  // The same state twice: one erasure is stopped part way, the other is not.
  cpSync(states.stopped, states.whole, { recursive: true });
  // The erasure as the rollback function runs it, its deletes failing after the third (a crash).
  const p = await startLocalPipeline({ stateDir: states.stopped });
  try {
    const deps = forgetDepsFrom(p.clients, p.environments.get('rollback') ?? {});
    let deletes = 0;
    const objects = {
      ...deps.objects,
      delete: async (bucket: string, key: string) => {
        if (++deletes > 3) throw new Error('killed');
        await deps.objects.delete(bucket, key);
      },
    };
    const request = { platform: 'etwinning' as const, accountId: 'e-1', ticket: 'T-1' };
    await expect(forgetAccount(request, { ...deps, objects })).rejects.toThrow('killed');
  } finally {
    await p.stop();
  }
  const partly = await everything(states.stopped);
  expect(naming(partly).length).toBeGreaterThan(0);
  for (const state of Object.values(states))
    expect(await forgetLocal({ account: 'etwinning:e-1', reason: 'T-1', stateDir: state })).toMatchObject({
      remaining: [],
    });
  const [stopped, whole] = [await everything(states.stopped), await everything(states.whole)];
  expect([...stopped.keys()].sort()).toEqual([...whole.keys()].sort());
  // The documents alike; the receipts and decisions too, but for the erasure's own time.
  const at = (text: string) => text.replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, '<time>');
  for (const [key, text] of whole) expect([key, at(stopped.get(key) ?? '')]).toEqual([key, at(text)]);
  expect(naming(stopped)).toEqual([]);
}, 240_000);

test('a refused forget writes nothing: a ticket with an e-mail address, an account that is no <platform>:<id>', async () => {
  const state = join(dir(), 'refused');
  const mail = await cliAsync([
    'forget',
    '--account',
    'etwinning:e-1',
    '--reason',
    `from ${ANA}`,
    '--state',
    state,
  ]);
  expect(mail.status).toBe(2);
  expect(mail.stderr).toContain('holds an e-mail address');
  const bad = await cliAsync(['forget', '--account', 'e-1', '--reason', 'T-1', '--state', state]);
  expect(bad.status).toBe(2);
  expect(bad.stderr).toContain('is not <platform>:<id>');
  expect(existsSync(state)).toBe(false);
}, 60_000);
