import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lookupLocal } from '../../cli/commands/lookup';
import { linkLocal } from '../../cli/commands/register';
import { status } from '../../cli/commands/status';
import { s3Objects } from '../../functions/adapters/s3-objects';
import { targetKeys } from '../../functions/core/keys';
import { startLocalPipeline } from '../../local/runtime/pipeline';
import { cli } from '../helpers/cli';
import {
  ANA,
  ET,
  json,
  profile,
  register,
  run,
  SEG,
  STAFF,
  statusText,
  target,
  useTempFolder,
  verified,
  withdrawnChecked,
  writeExport,
} from '../helpers/timeline';

/**
 * The rules in the real timeline (migration-rules.md ID-3, ID-4, ID-8, ID-9 and undo), through the
 * command line on small hand-made exports: registrations before the exports, an SEG export before the
 * eTwinning one, links by hand, a rollback and a corrected re-export.
 */
jest.setTimeout(300_000);

const tmp = useTempFolder('esep-timeline-');

describe('registrations before the exports, an SEG export before the eTwinning one', () => {
  const state = () => join(tmp(), 'state-a');

  test('ID-4: registered in June 2022, before any export: pending, then linked when the export is indexed', async () => {
    expect(json(['register', '--email', ANA, '--user', 'u-ana', '--state', state()])).toEqual({
      esepUserId: 'u-ana',
      decision: 'not-linked',
      reason: 'LINK_PENDING',
    });
    const result = await run(state(), SEG);
    expect(result.summary.identities).toMatchObject({ indexed: 2, linked: 1 });
    expect(await register(state(), 'u-ana', ANA)).toEqual({
      esepUserId: 'u-ana',
      decision: 'linked',
      reason: 'LINKED',
      legacyAccountId: 's-1',
      platform: 'seg',
      exportId: 'seg-2022',
    });
    expect((await target(state(), `${profile('s-1')}/`)).keys).toEqual([
      `${profile('s-1')}/activities/sa-1.json`,
      `${profile('s-1')}/profile.json`,
    ]);
  });

  test('ID-3: the eTwinning account arrives: RELINKED, the SEG data withdrawn, verify proves it, lookup tells', async () => {
    const result = await run(state(), ET, 'sept-2022');
    expect(result.summary.identities).toMatchObject({ relinked: 1, withdrawn: 1 });
    expect(await register(state(), 'u-ana', ANA)).toMatchObject({
      decision: 'linked',
      reason: 'RELINKED',
      legacyAccountId: 'e-1',
      platform: 'etwinning',
      exportId: 'et-2022',
    });
    const { keys, links } = await target(state(), 'seg-2022/profiles/');
    expect(keys).toEqual([`${profile('s-2')}/activities/sa-2.json`, `${profile('s-2')}/profile.json`]);
    // The SEG account's places (a member or admin of a staged space) are hers (ID-3, issue 26 case 6).
    expect(links['links/u-ana.json']).toEqual({
      esepUserId: 'u-ana',
      legacyAccountId: 'e-1',
      platform: 'etwinning',
      exportId: 'et-2022',
      reason: 'RELINKED',
      supersedes: [{ platform: 'seg', accountId: 's-1' }],
    });
    // The SEG run's receipt says so (its local report folder is refreshed too).
    const receipt = JSON.parse(
      readFileSync(
        join(state(), 'reports', 'seg-2022', 'sept-2022+nov-2022+2023', 'receipts', 's-1.json'),
        'utf8',
      ),
    );
    expect(receipt.withdrawn).toHaveLength(2);
    expect(receipt.withdrawn).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'accounts', id: 's-1', reason: 'SEG_SUPERSEDED' }),
        expect.objectContaining({ kind: 'activities', id: 'sa-1', reason: 'SEG_SUPERSEDED' }),
      ]),
    );
    const verification = await verified(state(), 'seg-2022');
    expect(verification.passed).toBe(true);
    expect(withdrawnChecked(verification)).toBe(2);
    const lookup = await lookupLocal({ account: 's-1', stateDir: state() });
    expect(lookup.withdrawals).toEqual([
      expect.objectContaining({
        exportId: 'seg-2022',
        kind: 'accounts',
        id: 's-1',
        reason: 'SEG_SUPERSEDED',
      }),
      expect.objectContaining({
        exportId: 'seg-2022',
        kind: 'activities',
        id: 'sa-1',
        reason: 'SEG_SUPERSEDED',
      }),
    ]);
    expect(JSON.stringify(lookup).toLowerCase()).not.toContain('escola');
  });

  test('ID-8: an ambiguous registration is linked by hand once, audited; refusals exit 2 saying why', async () => {
    expect((await register(state(), 'u-staff', STAFF)).reason).toBe('AMBIGUOUS_LEGACY_EMAIL');
    const args = [
      'link',
      '--user',
      'u-staff',
      '--account',
      'e-3',
      '--reason',
      'checked with the school',
      '--by',
      'nss-be',
    ];
    expect(json([...args, '--state', state()])).toEqual({
      esepUserId: 'u-staff',
      decision: 'linked',
      reason: 'LINKED',
      legacyAccountId: 'e-3',
      platform: 'etwinning',
      exportId: 'et-2022',
    });
    // The same command again (as after one stopped midway) answers as it did; another link is refused.
    expect(json([...args, '--state', state()])).toMatchObject({ decision: 'linked', legacyAccountId: 'e-3' });
    const other = args.map((a) => (a === 'e-3' ? 'e-2' : a));
    expect(json([...other, '--state', state()], 2)).toMatch(/link refused: user u-staff is already linked/);
    await expect(
      linkLocal({ esepUserId: 'u-x', legacyAccountId: 'e-2', reason: 'r', stateDir: state() }),
    ).rejects.toThrow(/has not registered/);
    expect(json(['link', '--user', 'u-staff', '--account', 'e-2', '--state', state()], 2)).toMatch(
      /required option '--reason <text>'/,
    );
  });

  test('rollback withdraws a wave by its ledger; status and verify say so; the wave runs again', async () => {
    const r = cli(['rollback', 'et-2022', '--wave', 'sept-2022', '--state', state()]);
    expect([r.status, r.stdout]).toEqual([
      0,
      expect.stringMatching(/rolled back wave sept-2022 of et-2022: 1 records withdrawn/),
    ]);
    expect((await target(state(), 'et-2022/')).keys).toEqual([]);
    // The same rollback again: one true line, and no report touched.
    const again = cli(['rollback', 'et-2022', '--wave', 'sept-2022', '--state', state()]);
    expect([again.status, again.stdout]).toEqual([
      0,
      'nothing to roll back: no run of et-2022 has wave sept-2022 in the target\n',
    ]);
    // Nothing dead-lettered and the run rolled back: redrive puts nothing back and writes nothing.
    const redrive = cli(['redrive', 'et-2022', '--state', state()]);
    expect([redrive.status, redrive.stdout]).toEqual([0, expect.stringMatching(/^nothing to redrive: /)]);
    expect((await target(state(), 'et-2022/')).keys).toEqual([]);
    expect(cli(['status', '--state', state()]).stdout).toMatch(/et-2022 {2}sept-2022 {2}rolled-back/);
    expect(cli(['verify', 'et-2022', '--state', state()]).stdout).toMatch(
      /withdrawn record .* \(1 checked\)/,
    );
    await run(state(), ET, 'sept-2022');
    expect((await target(state(), 'et-2022/')).keys).toEqual([
      targetKeys.container('et-2022', 'twinspaces', 'p-1'),
    ]);
  });

  test('a changed export under a finished id is rejected naming its files; --replace withdraws and decides anew', async () => {
    const corrected = {
      ...ET,
      kinds: {
        ...ET.kinds,
        projects: [{ ...(ET.kinds.projects?.[0] as object), registeredAt: '2015-01-01T00:00:00Z' }],
      },
    };
    writeExport(corrected);
    const rejected = cli([
      'run',
      join(tmp(), 'exports', 'et-2022'),
      '--wave',
      'sept-2022',
      '--state',
      state(),
    ]);
    expect(rejected.status).toBe(2);
    expect(rejected.stderr).toMatch(
      /export et-2022 changed since it was run: projects\.ndjson differs .* --replace/,
    );
    expect((await target(state(), 'et-2022/')).keys).toEqual([
      targetKeys.container('et-2022', 'twinspaces', 'p-1'),
    ]);
    const replaced = await run(state(), corrected, 'sept-2022', true);
    expect(replaced.summary.reasons).toMatchObject({ TWINSPACE_BEFORE_CUTOFF: 1 });
    expect((await target(state(), 'et-2022/')).keys).toEqual([]);
    expect(await statusText(state())).toMatch(/a corrected export replaced it/);
    // Issue 27, mistake 4: the replaced run's report stays where it was, its receipts say what was
    // withdrawn and why; the replacing run writes beside it; status points each run at its own report.
    const first = join(state(), 'reports', 'et-2022', 'sept-2022');
    expect(replaced.outDir).not.toBe(first);
    expect(replaced.outDir.startsWith(join(state(), 'reports', 'et-2022', 'sept-2022@'))).toBe(true);
    const firstSummary = JSON.parse(readFileSync(join(first, 'summary.json'), 'utf8'));
    expect(firstSummary.reasons.TWINSPACE_BEFORE_CUTOFF).toBeUndefined();
    const receipt = JSON.parse(readFileSync(join(first, 'receipts', 'e-1.json'), 'utf8'));
    expect(receipt.withdrawn).toEqual([
      expect.objectContaining({ kind: 'projects', id: 'p-1', reason: 'REPLACED' }),
    ]);
    const rows = (await status({ stateDir: state() })).runs.filter(
      (r) => r.exportId === 'et-2022' && r.waves.join('+') === 'sept-2022',
    );
    expect([...new Set(rows.map((r) => r.report))].sort()).toEqual([first, replaced.outDir].sort());
    expect(rows.find((r) => r.report === replaced.outDir)?.state).toBe('completed');
  });
});

test('the other order (eTwinning export, SEG export, then the registration) ends in the same links and target', async () => {
  const state = join(tmp(), 'state-b');
  await run(state, ET, 'sept-2022');
  const seg = await run(state, SEG);
  expect(seg.summary.reasons).toMatchObject({ SEG_SUPERSEDED: 2, PROFILE_MIGRATED: 1, ACTIVITY_ELIGIBLE: 1 });
  expect(await register(state, 'u-ana', ANA)).toMatchObject({ reason: 'LINKED', legacyAccountId: 'e-1' });
  const { keys, links } = await target(state, 'seg-2022/profiles/');
  expect(keys).toEqual([`${profile('s-2')}/activities/sa-2.json`, `${profile('s-2')}/profile.json`]);
  expect(links['links/u-ana.json']).toMatchObject({
    legacyAccountId: 'e-1',
    platform: 'etwinning',
    exportId: 'et-2022',
    supersedes: [{ platform: 'seg', accountId: 's-1' }],
  });
});

test('after a rollback of one wave, verify still checks the waves that stand: a deleted document of another wave fails it', async () => {
  const state = join(tmp(), 'state-verify');
  const ran = await run(state, ET);
  expect(ran.failed).toBe(false);
  const rolled = cli(['rollback', 'et-2022', '--wave', '2023', '--state', state]);
  expect(rolled.status).toBe(0);
  // Everything standing passes, the withdrawn profiles included (nothing of them remains).
  expect(await verified(state, 'et-2022')).toMatchObject({ passed: true });
  // One sept-2022 document goes missing from the target.
  const key = targetKeys.container('et-2022', 'twinspaces', 'p-1');
  const p = await startLocalPipeline({ stateDir: state });
  try {
    await s3Objects(p.clients.s3).delete(p.resources.buckets.migrated, key);
  } finally {
    await p.stop();
  }
  const v = cli(['verify', 'et-2022', '--state', state]);
  expect(v.status).toBe(1);
  expect(v.stdout).toContain(
    `projects p-1: migrated by this run, but its document ${key} is not in the target`,
  );
});
