/**
 * EventBridge's matching of an event against a rule's pattern (EventBridge user guide, "Amazon
 * EventBridge event patterns" and "Content filtering"), for the operators this project's rules use:
 * exact values, `wildcard`, `prefix`, `suffix` and `exists`. An operator it does not know fails the
 * test rather than matching. No maintained npm matcher is in the registry here (eb-patterns: 404), and
 * TestEventPattern needs an AWS account.
 */
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
    's',
  );

function matchesValue(value: Json | undefined, rule: Json): boolean {
  if (rule === null || typeof rule !== 'object' || Array.isArray(rule)) return value === rule;
  const [op, arg, ...more] = Object.entries(rule).flat();
  if (more.length > 0) throw new Error(`a filter of one operator expected, got ${JSON.stringify(rule)}`);
  if (op === 'exists') return (value !== undefined) === arg;
  if (typeof value !== 'string') return false;
  if (op === 'wildcard' && typeof arg === 'string') return glob(arg).test(value);
  if (op === 'prefix' && typeof arg === 'string') return value.startsWith(arg);
  if (op === 'suffix' && typeof arg === 'string') return value.endsWith(arg);
  throw new Error(`operator not supported by this matcher: ${JSON.stringify(rule)}`);
}

export function matchesPattern(event: Json | undefined, pattern: Json): boolean {
  if (pattern === null || typeof pattern !== 'object' || Array.isArray(pattern))
    throw new Error(`a pattern is an object, got ${JSON.stringify(pattern)}`);
  return Object.entries(pattern).every(([key, rule]) => {
    const value =
      event !== null && typeof event === 'object' && !Array.isArray(event) ? event[key] : undefined;
    if (!Array.isArray(rule)) return matchesPattern(value, rule);
    // A field whose value is an array matches when any of its elements does.
    const values = Array.isArray(value) ? value : [value];
    return values.some((v) => rule.some((r) => matchesValue(v, r)));
  });
}

/** A target's input transformer: each `<name>` of the template is the JSON of its path's value. */
export function transformInput(
  event: Json,
  transformer: { InputPathsMap: Record<string, string>; InputTemplate: string },
): Json {
  const at = (path: string) =>
    path
      .replace(/^\$\.?/, '')
      .split('.')
      .filter(Boolean)
      .reduce<Json | undefined>(
        (o, k) => (o !== null && typeof o === 'object' && !Array.isArray(o) ? o[k] : undefined),
        event,
      );
  const filled = transformer.InputTemplate.replace(/<([^<>]+)>/g, (_, name: string) => {
    const path = transformer.InputPathsMap[name];
    if (path === undefined) throw new Error(`no path for <${name}>`);
    return JSON.stringify(at(path) ?? null);
  });
  return JSON.parse(filled) as Json;
}
