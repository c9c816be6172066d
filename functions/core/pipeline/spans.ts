/**
 * What a range of indexes [from, to) covers of segments laid end to end (each `count` long): each segment
 * it reaches, with its place among them and the range's first index in it and the one after its last.
 * A split's page of a stage's chunks (its steps' pieces in turn), the report's page of a run's results.
 */
export function* spansOf<T extends { readonly count: number }>(
  segments: readonly T[],
  from: number,
  to: number,
): Generator<{ segment: T; index: number; lo: number; hi: number }> {
  let first = 0;
  for (const [index, segment] of segments.entries()) {
    const lo = Math.max(0, from - first);
    const hi = Math.min(segment.count, to - first);
    if (lo < hi) yield { segment, index, lo, hi };
    first += segment.count;
  }
}
