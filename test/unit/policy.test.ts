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
    // Hostile policy files (#17): names that reach keys and folders, prototypes, implausible dates.
    ...['__proto__', '..', 'Nov 2022', 'a/b', '-x', 'Sept'].map((id): [string, string, RegExp] => [
      `a wave named ${JSON.stringify(id)}`,
      JSON.stringify({ waves: [{ id, kinds: KINDS }] }),
      /waves\.0\.id: expected 1-32 characters of \[a-z0-9-\]/,
    ]),
    ['a wave named all', JSON.stringify({ waves: [{ id: 'all', kinds: KINDS }] }), /"all" names every wave/],
    ['the year 0018', '{"contentCutoff": "0018-07-01"}', /contentCutoff: expected a year from 2000 to 2099/],
    ['the year 2218', '{"twinspaceCutoff": "2218-07-01"}', /twinspaceCutoff: expected a year from 2000/],
    ['a __proto__ key', '{"__proto__": {"polluted": true}}', /Unrecognized key/],
  ])('rejects %s with a message that names it', (_, text, message) => {
    expect(() => parsePolicyJson(text, 'ops.json')).toThrow(PolicyError);
    expect(() => parsePolicyJson(text, 'ops.json')).toThrow(message);
  });
});

test('a hostile policy leaves Object.prototype as it was', () => {
  for (const text of ['{"__proto__": {"polluted": true}}', '{"waves": [{"id": "__proto__", "kinds": []}]}'])
    expect(() => parsePolicyJson(text, 'ops.json')).toThrow(PolicyError);
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
});
