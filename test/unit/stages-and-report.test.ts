import { ConservationError } from '../../functions/core/errors';
import { buildStagePlan, selectWaves } from '../../functions/core/pipeline/stages';
import { buildReceipt, checkConservation, Tally } from '../../functions/core/report/summary';
import { KINDS, type Kind } from '../../functions/core/rules/kinds';
import { compilePolicy } from '../../functions/core/rules/policy';

describe('the stage plan', () => {
  const plan = buildStagePlan(compilePolicy());
  test('the default waves, stage by stage', () => {
    expect(
      plan.map((w) => [
        w.wave,
        w.stages.map((s) => `${s.id}: ${s.steps.map((st) => `${st.op} ${st.kind}`).join(', ')}`),
      ]),
    ).toEqual([
      [
        'sept-2022',
        [
          'sept-2022/decide-1: decide projects, decide mailbox, decide feed-posts, decide partner-forum',
          'sept-2022/decide-2: decide twinspace-items',
        ],
      ],
      [
        'nov-2022',
        [
          'nov-2022/index: index group-items',
          'nov-2022/decide-1: decide groups',
          'nov-2022/decide-2: decide group-items',
        ],
      ],
      [
        '2023',
        [
          '2023/index: index accounts',
          '2023/decide-1: decide accounts, decide events',
          // PR-7: account-owned records are decided after their accounts; a Learning Lab after its
          // event, whose people it takes (AUDIENCE_OF).
          '2023/decide-2: decide activities, decide portfolio, decide learning-lab, decide photos, decide contacts',
        ],
      ],
    ]);
  });
  test('every kind is decided exactly once, containers before their items, indexes first', () => {
    const decided: Kind[] = [];
    for (const wave of plan) {
      wave.stages.forEach((stage, i) => {
        for (const step of stage.steps) {
          if (step.op === 'decide') decided.push(step.kind);
          else expect(i).toBe(0);
        }
      });
    }
    expect([...decided].sort()).toEqual([...KINDS].sort());
    expect(decided.indexOf('projects')).toBeLessThan(decided.indexOf('twinspace-items'));
    expect(decided.indexOf('groups')).toBeLessThan(decided.indexOf('group-items'));
  });
  test('selecting waves', () => {
    expect(selectWaves(plan, 'all')?.map((w) => w.wave)).toEqual(['sept-2022', 'nov-2022', '2023']);
    expect(selectWaves(plan, '2023')?.map((w) => w.wave)).toEqual(['2023']);
    expect(selectWaves(plan, '2024')).toBeUndefined();
  });
});

describe('report maths', () => {
  test('the tally counts per kind, decision and reason; status follows quarantine', () => {
    const t = new Tally(['projects', 'mailbox']);
    t.add({ kind: 'projects', decision: 'migrated', reason: 'TWINSPACE_ELIGIBLE' });
    t.add({ kind: 'projects', decision: 'dropped', reason: 'TWINSPACE_BEFORE_CUTOFF' });
    const s = t.summary('e', ['sept-2022'], new Date(0), new Date(1000));
    expect(s.counts).toEqual({
      projects: { migrated: 1, dropped: 1, quarantined: 0 },
      mailbox: { migrated: 0, dropped: 0, quarantined: 0 },
    });
    expect(s.status).toBe('completed');
    t.add({ kind: 'mailbox', decision: 'quarantined', reason: 'INVALID_RECORD' });
    expect(t.summary('e', [], new Date(0), new Date(0)).status).toBe('completed-with-quarantine');
    expect(t.total).toBe(3);
  });
  test('conservation holds or names the kinds that break it', () => {
    const counts = { projects: { migrated: 1, dropped: 1, quarantined: 0 } };
    expect(() => checkConservation(counts, new Map([['projects', 2]]))).not.toThrow();
    expect(() => checkConservation(counts, new Map([['projects', 3]]))).toThrow(
      new ConservationError('conservation broken: projects: 2 decisions for 3 lines'),
    );
    expect(() =>
      checkConservation(
        counts,
        new Map([
          ['projects', 2],
          ['mailbox', 1],
        ]),
      ),
    ).toThrow(/mailbox: 0 decisions for 1 lines/);
    expect(() => checkConservation(counts, new Map())).toThrow(/projects: decisions for a kind with no file/);
  });
  test('a receipt lists every record with its reason in plain words, and the dropped files to download', () => {
    const file = { fileName: 'plan.pdf', size: 10, sha256: 'a'.repeat(64) };
    const r = buildReceipt('e', 'a1', [
      {
        kind: 'twinspace-items',
        id: 'i2',
        wave: 'w',
        decision: 'dropped',
        reason: 'CONTENT_BEFORE_CUTOFF',
        owners: ['a1'],
        file,
      },
      {
        kind: 'twinspace-items',
        id: 'i1',
        wave: 'w',
        decision: 'migrated',
        reason: 'CONTENT_ELIGIBLE',
        owners: ['a1'],
        file,
      },
      {
        kind: 'accounts',
        id: 'a1',
        wave: 'w',
        decision: 'migrated',
        reason: 'PROFILE_MIGRATED',
        owners: ['a1'],
        detail: 'd',
      },
    ]);
    expect(r.counts).toEqual({ migrated: 2, dropped: 1, quarantined: 0 });
    expect(r.records.map((x) => x.id)).toEqual(['a1', 'i1', 'i2']);
    expect(r.records[2]?.explanation).toMatch(/before the cut-off/);
    expect(r.records[0]?.detail).toBe('d');
    expect(r.downloads).toEqual([
      { kind: 'twinspace-items', id: 'i2', fileName: 'plan.pdf', size: 10, sha256: 'a'.repeat(64) },
    ]);
  });
});
