import * as z from 'zod';
import { PolicyError } from '../errors';
import { INDEXES_BEFORE_DECIDING, KINDS, type Kind, PARENTS } from './kinds';
import { CALENDAR_DATE, isTimeZone, startOfDay } from './time';

/**
 * Every date, window, wave and role of migration-rules.md, as data. An operator changes a date with a
 * policy file (`--policy <file>`) holding only the keys to change; each key replaces its default whole.
 */
/** The years a date of the migration can plausibly fall in (the platforms ran from 2005; ESEP from 2022). */
export const POLICY_YEARS = { from: 2000, to: 2099 } as const;
const calendarDate = z
  .string()
  .regex(CALENDAR_DATE, 'expected a calendar date YYYY-MM-DD')
  .refine((date) => {
    const t = Date.parse(`${date}T00:00:00Z`);
    return Number.isFinite(t) && new Date(t).toISOString().startsWith(date);
  }, 'no such day')
  .refine((date) => {
    const year = Number(date.slice(0, 4));
    return year >= POLICY_YEARS.from && year <= POLICY_YEARS.to;
  }, `expected a year from ${POLICY_YEARS.from} to ${POLICY_YEARS.to}`);
/** A wave id names report folders and keys: lower-case letters, digits and dashes, starting with a letter or digit. */
const waveId = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,31}$/,
    'expected 1-32 characters of [a-z0-9-], starting with a letter or a digit',
  );

export const ORGANISER_ROLES = ['CSS', 'NSO', 'AMBASSADOR', 'TEACHER'] as const;

export const PolicySchema = z
  .object({
    /** Cut-off dates are calendar dates in this zone. */
    timeZone: z.string().refine(isTimeZone, 'unknown time zone'),
    /** Waves in the order they run; each kind belongs to exactly one. */
    waves: z.array(z.object({ id: waveId, kinds: z.array(z.enum(KINDS)) }).strict()).min(1),
    /** TS-1: TwinSpaces of projects registered on or after this date migrate. */
    twinspaceCutoff: calendarDate,
    /** TS-2, GR-3: TwinSpace and group content created on or after this date migrates. */
    contentCutoff: calendarDate,
    /** PR-2: profile activities on or after this date are shown. */
    activityCutoff: calendarDate,
    /** GR-1: a group is active when an item was created or updated in [from, to). */
    groupActivityWindow: z.object({ from: calendarDate, to: calendarDate }).strict(),
    /** EV-1: events by these organiser roles move to participants' portfolios. */
    eligibleOrganiserRoles: z.array(z.enum(ORGANISER_ROLES)),
    /** PR-5: the FAQ lists contacts once as profile data and once as not migrated; default: not. */
    migrateContacts: z.boolean(),
    /**
     * GR-1 reads "activity" as the group's items; whether founding a group in the window is activity too
     * is open in the FAQ. Default: no (the rule's own wording: items created or updated).
     */
    groupFoundingIsActivity: z.boolean(),
    /**
     * EV-1 moves eligible events "to participants' portfolios" with no date; whether events before the
     * 1.7.2018 cut-off of other content move is open in the FAQ. Default: null (every date moves, as PR-3
     * moves the portfolio whatever its date); a date drops events that start before it.
     */
    eventsFrom: calendarDate.nullable(),
  })
  .strict();

export type Policy = z.infer<typeof PolicySchema>;

export const DEFAULT_POLICY: Policy = {
  timeZone: 'Europe/Brussels',
  waves: [
    { id: 'sept-2022', kinds: ['projects', 'twinspace-items', 'mailbox', 'feed-posts', 'partner-forum'] },
    { id: 'nov-2022', kinds: ['groups', 'group-items'] },
    {
      id: '2023',
      kinds: ['accounts', 'activities', 'portfolio', 'events', 'learning-lab', 'photos', 'contacts'],
    },
  ],
  twinspaceCutoff: '2018-07-01',
  contentCutoff: '2018-07-01',
  activityCutoff: '2018-07-01',
  groupActivityWindow: { from: '2021-01-01', to: '2022-02-22' },
  eligibleOrganiserRoles: ['NSO', 'CSS', 'AMBASSADOR'],
  migrateContacts: false,
  groupFoundingIsActivity: false,
  eventsFrom: null,
};

/** The policy with its dates as instants and its waves as a lookup, ready for the decisions. */
export interface CompiledPolicy {
  readonly policy: Policy;
  readonly twinspaceCutoffMs: number;
  readonly contentCutoffMs: number;
  readonly activityCutoffMs: number;
  readonly groupWindowMs: { readonly from: number; readonly to: number };
  readonly eligibleOrganiserRoles: ReadonlySet<string>;
  /** EV-1's optional cut-off (policy `eventsFrom`), or undefined. */
  readonly eventsFromMs: number | undefined;
  readonly waveOf: Readonly<Record<Kind, string>>;
  readonly waveIds: readonly string[];
}

function crossChecks(policy: Policy): string[] {
  const problems: string[] = [];
  const waveOf = new Map<Kind, string>();
  const ids = new Set<string>();
  for (const wave of policy.waves) {
    if (ids.has(wave.id)) problems.push(`waves: wave "${wave.id}" is listed twice`);
    if (wave.id === 'all') problems.push('waves: "all" names every wave (--wave all) and cannot be a wave');
    ids.add(wave.id);
    for (const kind of wave.kinds) {
      const other = waveOf.get(kind);
      if (other) problems.push(`waves: kind "${kind}" is in wave "${other}" and in wave "${wave.id}"`);
      waveOf.set(kind, wave.id);
    }
  }
  for (const kind of KINDS) if (!waveOf.has(kind)) problems.push(`waves: kind "${kind}" is in no wave`);
  const together: [Kind, Kind][] = [
    ...Object.entries(PARENTS).map(([child, p]) => [child as Kind, p.kind] as [Kind, Kind]),
    ...Object.entries(INDEXES_BEFORE_DECIDING).map(
      ([kind, needs]) => [kind as Kind, needs.kind] as [Kind, Kind],
    ),
  ];
  for (const [a, b] of together) {
    if (waveOf.has(a) && waveOf.has(b) && waveOf.get(a) !== waveOf.get(b)) {
      problems.push(`waves: "${a}" needs "${b}" and must be in the same wave`);
    }
  }
  const { from, to } = policy.groupActivityWindow;
  if (from >= to) problems.push('groupActivityWindow: "from" must be before "to"');
  return problems;
}

/** Validates a policy (or a partial one over the defaults) and compiles it; throws PolicyError. */
export function compilePolicy(overrides: unknown = {}, source = 'policy'): CompiledPolicy {
  if (typeof overrides !== 'object' || overrides === null || Array.isArray(overrides)) {
    throw new PolicyError(`${source}: expected a JSON object`);
  }
  const parsed = PolicySchema.safeParse({ ...DEFAULT_POLICY, ...overrides });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PolicyError(`${source}: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  const policy = parsed.data;
  const problems = crossChecks(policy);
  if (problems.length > 0) throw new PolicyError(`${source}: ${problems.join('; ')}`);
  const day = (date: string) => startOfDay(date, policy.timeZone);
  const waveOf = {} as Record<Kind, string>;
  for (const wave of policy.waves) for (const kind of wave.kinds) waveOf[kind] = wave.id;
  return {
    policy,
    twinspaceCutoffMs: day(policy.twinspaceCutoff),
    contentCutoffMs: day(policy.contentCutoff),
    activityCutoffMs: day(policy.activityCutoff),
    groupWindowMs: { from: day(policy.groupActivityWindow.from), to: day(policy.groupActivityWindow.to) },
    eligibleOrganiserRoles: new Set(policy.eligibleOrganiserRoles),
    eventsFromMs: policy.eventsFrom === null ? undefined : day(policy.eventsFrom),
    waveOf,
    waveIds: policy.waves.map((w) => w.id),
  };
}

/** Parses a policy file's text (JSON). */
export function parsePolicyJson(text: string, source: string): CompiledPolicy {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new PolicyError(`${source}: not valid JSON (${(cause as Error).message})`, { cause });
  }
  return compilePolicy(value, source);
}
