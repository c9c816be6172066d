/**
 * A cache of computed values by key that holds at most `limit` of them: when full it starts again, so a
 * long pass keeps bounded memory however many distinct keys it meets (a receipt's dates, a blob's hash).
 */
export class BoundedMemo<V, K extends string | number = string> {
  private readonly values = new Map<K, V>();

  constructor(private readonly limit: number) {}

  get(key: K, compute: () => V): V {
    const found = this.values.get(key);
    if (found !== undefined || this.values.has(key)) return found as V;
    const value = compute();
    if (this.values.size >= this.limit) this.values.clear();
    this.values.set(key, value);
    return value;
  }
}
