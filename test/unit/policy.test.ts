import { PolicyError } from '../../functions/core/errors';
import { KINDS } from '../../functions/core/rules/kinds';
import { compilePolicy, DEFAULT_POLICY, parsePolicyJson } from '../../functions/core/rules/policy';

describe('policy', () => {
  test('the defaults are the rules as written', () => {
    const p = compilePolicy();
    expect(p.twinspaceCutoffMs).toBe(Date.parse('2018-06-30T22:00:00Z'));
    expect(p.groupWindowMs).toEqual({
      from: Date.parse('2020-12-31T23:00:00Z'),
      to: Date.parse('2022-02-21T23:00:00Z'),
    });
    expect(p.waveIds).toEqual(['sept-2022', 'nov-2022', '2023']);
    expect(p.waveOf.groups).toBe('nov-2022');
    expect(Object.keys(p.waveOf).sort()).toEqual([...KINDS].sort());
  });
  test('a file changes one date without touching the rest', () => {
    const p = parsePolicyJson('{"contentCutoff": "2019-01-01"}', 'ops.json');
    expect(p.contentCutoffMs).toBe(Date.parse('2018-12-31T23:00:00Z'));
    expect(p.twinspaceCutoffMs).toBe(Date.parse('2018-06-30T22:00:00Z'));
    expect(p.policy.waves).toEqual(DEFAULT_POLICY.waves);
  });
  test.each([
    ['not JSON', '{', /ops\.json: not valid JSON/],
    ['an array', '[]', /expected a JSON object/],
    ['an unknown key', '{"contentCuttoff": "2019-01-01"}', /Unrecognized key/],
    ['a bad date', '{"activityCutoff": "2018-02-30"}', /activityCutoff: no such day/],
    ['a date without day', '{"activityCutoff": "2018-07"}', /activityCutoff: expected a calendar date/],
    ['an unknown time zone', '{"timeZone": "Europe/Atlantis"}', /timeZone: unknown time zone/],
    [
      'an empty window',
      '{"groupActivityWindow": {"from": "2022-02-22", "to": "2021-01-01"}}',
      /"from" must be before "to"/,
    ],
    [
      'a kind in two waves',
      JSON.stringify({ waves: [...DEFAULT_POLICY.waves, { id: 'extra', kinds: ['photos'] }] }),
      /kind "photos" is in wave "2023" and in wave "extra"/,
    ],
    [
      'a kind in no wave',
      JSON.stringify({ waves: DEFAULT_POLICY.waves.slice(0, 2) }),
      /kind "accounts" is in no wave/,
    ],
    [
      'items apart from their containers',
      JSON.stringify({
        waves: [
          { id: 'a', kinds: KINDS.filter((k) => k !== 'group-items') },
          { id: 'b', kinds: ['group-items'] },
        ],
      }),
      /"group-items" needs "groups"/,
    ],
    ['an unknown role', '{"eligibleOrganiserRoles": ["MAYOR"]}', /eligibleOrganiserRoles\.0/],
  ])('rejects %s with a message that names it', (_, text, message) => {
    expect(() => parsePolicyJson(text, 'ops.json')).toThrow(PolicyError);
    expect(() => parsePolicyJson(text, 'ops.json')).toThrow(message);
  });
});
