/**
 * Ids, and a small value for each, kept in typed arrays rather than as strings in a `Set` or `Map`: an id
 * of one-byte characters costs its characters and about 18 bytes (offset, hash, value, and two slots of an
 * open-addressed table at most half full), where a `Map<string, string>` entry costs the string object
 * and the entry (about 70 bytes for a 10-character id on 64-bit Node). `plan` keeps the ids of every
 * line of the kind being decided (DQ-2) and the decisions of the kinds that others follow: these grow
 * with the export, and this is what they grow by. Exact: ids are compared character by character, never
 * by hash alone. An id with a character beyond one byte is kept in a plain `Map` beside the table.
 */
export class IdTable<V extends string = never> {
  private chars = new Uint8Array(1024);
  private used = 0;
  /** Entry i's characters are chars[starts[i], starts[i + 1]). */
  private starts = new Uint32Array(257);
  private hashes = new Uint32Array(256);
  private codes = new Uint8Array(256);
  private count = 0;
  /** Entry index + 1, 0 for an empty slot; a power of two, at most half full. */
  private slots = new Int32Array(512);
  private readonly wide = new Map<string, number>();

  /** `values`: what an id may hold, at most 255 (stored as its index). */
  constructor(private readonly values: readonly V[] = []) {
    if (values.length > 255) throw new RangeError('an IdTable holds at most 255 distinct values');
  }

  get size(): number {
    return this.count + this.wide.size;
  }

  has(id: string): boolean {
    return this.codeOf(id) !== undefined;
  }

  /** The id's value, or undefined when the table does not hold the id. */
  get(id: string): V | undefined {
    const code = this.codeOf(id);
    return code === undefined ? undefined : this.values[code - 1];
  }

  /** Adds the id if new; true when it was (the first claim of an id). */
  add(id: string): boolean {
    const h = hashOf(id);
    if (h === undefined) {
      if (this.wide.has(id)) return false;
      this.wide.set(id, 0);
      return true;
    }
    if (this.find(id, h) >= 0) return false;
    this.insert(id, h, 0);
    return true;
  }

  /** Sets the id's value (adding the id if new). */
  set(id: string, value: V): this {
    const index = this.values.indexOf(value);
    if (index < 0) throw new RangeError(`not a value of this IdTable: ${value}`);
    this.put(id, index + 1);
    return this;
  }

  /** The stored code (value index + 1, 0 for none) of the id, or undefined when absent. */
  private codeOf(id: string): number | undefined {
    const h = hashOf(id);
    if (h === undefined) return this.wide.get(id);
    const entry = this.find(id, h);
    return entry < 0 ? undefined : (this.codes[entry] as number);
  }

  private put(id: string, code: number): void {
    const h = hashOf(id);
    if (h === undefined) {
      this.wide.set(id, code);
      return;
    }
    const found = this.find(id, h);
    if (found >= 0) this.codes[found] = code;
    else this.insert(id, h, code);
  }

  private insert(id: string, h: number, code: number): void {
    this.reserve(id.length);
    const entry = this.count++;
    const start = this.used;
    for (let i = 0; i < id.length; i++) this.chars[start + i] = id.charCodeAt(i);
    this.used += id.length;
    this.starts[entry + 1] = this.used;
    this.hashes[entry] = h;
    this.codes[entry] = code;
    this.place(entry, h);
  }

  /** The entry holding the id, or -1. */
  private find(id: string, h: number): number {
    const mask = this.slots.length - 1;
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const slot = this.slots[s] as number;
      if (slot === 0) return -1;
      const entry = slot - 1;
      if (this.hashes[entry] === h && this.equals(entry, id)) return entry;
    }
  }

  private equals(entry: number, id: string): boolean {
    const start = this.starts[entry] as number;
    if ((this.starts[entry + 1] as number) - start !== id.length) return false;
    for (let i = 0; i < id.length; i++) if (this.chars[start + i] !== id.charCodeAt(i)) return false;
    return true;
  }

  private place(entry: number, h: number): void {
    const mask = this.slots.length - 1;
    let s = h & mask;
    while (this.slots[s] !== 0) s = (s + 1) & mask;
    this.slots[s] = entry + 1;
  }

  /** Room for one more entry of `length` characters, the slots regrown (at most half full). */
  private reserve(length: number): void {
    if (this.used + length > this.chars.length)
      this.chars = grown(this.chars, Math.max(this.chars.length * 2, this.used + length));
    if (this.count + 1 > this.hashes.length) {
      const n = this.hashes.length * 2;
      this.hashes = grown(this.hashes, n);
      this.codes = grown(this.codes, n);
      this.starts = grown(this.starts, n + 1);
    }
    if ((this.count + 1) * 2 > this.slots.length) {
      this.slots = new Int32Array(this.slots.length * 2);
      for (let e = 0; e < this.count; e++) this.place(e, this.hashes[e] as number);
    }
  }
}

function grown<T extends Uint8Array | Uint32Array>(from: T, length: number): T {
  const to = new (from.constructor as new (n: number) => T)(length);
  to.set(from);
  return to;
}

/** FNV-1a over the id's characters, or undefined when one is beyond one byte (kept in the plain map). */
function hashOf(id: string): number | undefined {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    const c = id.charCodeAt(i);
    if (c > 0xff) return undefined;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h >>> 0;
}
