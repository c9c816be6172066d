import { createHash } from 'node:crypto';
import { bytesOf } from './bytes';
import { eachLimited } from './concurrency';
import { ForbiddenIndexError } from './errors';
import { workKeys } from './keys';
import type { ObjectStore } from './ports';
import { normaliseEmail } from './rules/identity';
import { CREDENTIAL_FIELDS } from './rules/schemas';

/**
 * The values that must never reach the target (the export's password hashes, logins and e-mail
 * addresses), kept so that verify checks them at any size without reading the accounts file: validate,
 * which reads that file whole anyway, keys each value (SHA-256 after the e-mail key, cut to 16 bytes: no
 * credential or address is copied) and writes
 *
 * - a Bloom filter of the keys, of a size that grows with the accounts up to `MAX_FILTER_BITS` (16 MiB)
 *   and no further: what a verify container reads once, whatever the export's size;
 * - the keys themselves in shards of about `SHARD_VALUES` each: a string the filter may hold is confirmed
 *   (or not) in its one shard, so that the filter's false positives never count as a leak.
 *
 * A document's string is a leak when its own key is among the export's: exact, as the set it replaces.
 */

/** Bytes of a value's keyed digest. */
const DIGEST_BYTES = 16;
/** Bits the filter tests for a value (double hashing of the digest's first 8 bytes). */
const PROBES = 12;
/** Bits of the filter per value while under its cap: about 1 false positive in 10^6 strings (0.31^12). */
const BITS_PER_VALUE = 32;
const MIN_FILTER_BITS = 2 ** 13;
/** The filter's cap (16 MiB): at 1.1 million accounts, 30 bits a value, about 1.4 false positives in 10^6 strings. */
export const MAX_FILTER_BITS = 2 ** 27;
/** Values in a shard (about 128 KiB of keys), what confirming one string reads. */
export const SHARD_VALUES = 8192;
const MAX_SHARDS = 4096;
/** The values an account line may give: its credential fields, its e-mail address and that normalised. */
export const VALUES_PER_ACCOUNT = CREDENTIAL_FIELDS.length + 2;
/** The filter object's header: a tag, then the filter's bits, the shards and the probes (uint32 LE). */
const TAG = 'FVX1';
const HEADER_BYTES = 16;
/** Shards a verify container keeps once read. */
const SHARDS_KEPT = 64;

export interface ForbiddenLayout {
  readonly filterBits: number;
  readonly shards: number;
}

/** The filter's bits and the shards for an accounts file of `accounts` lines. */
export function forbiddenLayout(accounts: number): ForbiddenLayout {
  const values = Math.max(1, accounts * VALUES_PER_ACCOUNT);
  let filterBits = MIN_FILTER_BITS;
  while (filterBits < values * BITS_PER_VALUE && filterBits < MAX_FILTER_BITS) filterBits *= 2;
  return { filterBits, shards: Math.min(MAX_SHARDS, Math.ceil(values / SHARD_VALUES)) };
}

/** Bytes of the filter object of a layout. */
export const filterObjectBytes = (layout: ForbiddenLayout) => HEADER_BYTES + layout.filterBits / 8;

/** The most a verify container holds of an index: its filter, and the shards it keeps once read. */
export const checkHeldBytes = (layout: ForbiddenLayout) =>
  filterObjectBytes(layout) + SHARDS_KEPT * SHARD_VALUES * DIGEST_BYTES;

/** The most validate holds while it builds an index of `values`: its filter, and shards grown by doubling. */
export const buildHeldBytes = (layout: ForbiddenLayout, values: number) =>
  filterObjectBytes(layout) + 2 * values * DIGEST_BYTES;

/** The values of one accounts line that must never reach the target; none for a line that is not JSON. */
export function forbiddenValuesOf(text: string): string[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return [];
  }
  if (!raw || typeof raw !== 'object') return [];
  const values: string[] = [];
  for (const field of [...CREDENTIAL_FIELDS, 'email']) {
    const v = (raw as Record<string, unknown>)[field];
    // Short values (a login "jan") would match ordinary words; exact matches of 6+ characters only.
    if (typeof v !== 'string' || v.trim().length < 6) continue;
    values.push(v);
    if (field === 'email' && normaliseEmail(v) !== v) values.push(normaliseEmail(v));
  }
  return values;
}

/**
 * A value's keyed digest: SHA-256 of the secret, a label (apart from the identity index's keys of the same
 * secret) and the value, cut to 16 bytes (a secret-prefix hash, whose one weakness, extending a message
 * from its full digest, a cut digest does not give). The keyed prefix is hashed once and copied for each
 * value: about half an HMAC's cost, what validate pays for every value of the export.
 */
const keyedHash = (secret: string) => {
  const prefix = createHash('sha256').update(secret, 'utf8').update('forbidden\u0000');
  return (value: string): Buffer => prefix.copy().update(value, 'utf8').digest().subarray(0, DIGEST_BYTES);
};

/** Whether the filter has a digest's bits, or (`set`) sets them. Double hashing of its first 8 bytes. */
function probe(filter: Uint8Array, filterBits: number, digest: Buffer, set: boolean): boolean {
  const h1 = digest.readUInt32LE(0);
  const h2 = (digest.readUInt32LE(4) | 1) >>> 0;
  for (let i = 0; i < PROBES; i++) {
    const bit = (h1 + i * h2) % filterBits;
    const at = HEADER_BYTES + (bit >>> 3);
    const mask = 1 << (bit & 7);
    if (set) filter[at] = (filter[at] as number) | mask;
    else if (((filter[at] as number) & mask) === 0) return false;
  }
  return true;
}

const shardOf = (digest: Buffer, shards: number) => digest.readUInt32LE(8) % shards;

/** The forbidden values of an accounts file, keyed, as validate reads its lines: then its objects. */
export class ForbiddenIndexBuilder {
  private readonly filter: Uint8Array;
  private readonly shards: { bytes: Uint8Array; used: number }[];
  private readonly digestOf: (value: string) => Buffer;
  private values = 0;

  constructor(
    secret: string,
    readonly layout: ForbiddenLayout,
  ) {
    this.digestOf = keyedHash(secret);
    this.filter = new Uint8Array(HEADER_BYTES + layout.filterBits / 8);
    const header = Buffer.from(this.filter.buffer, 0, HEADER_BYTES);
    header.write(TAG, 0, 'latin1');
    header.writeUInt32LE(layout.filterBits, 4);
    header.writeUInt32LE(layout.shards, 8);
    header.writeUInt32LE(PROBES, 12);
    this.shards = Array.from({ length: layout.shards }, () => ({ bytes: new Uint8Array(0), used: 0 }));
  }

  /** Adds the forbidden values of one accounts line. */
  addLine(text: string): void {
    for (const value of forbiddenValuesOf(text)) this.add(value);
  }

  add(value: string): void {
    const digest = this.digestOf(value);
    probe(this.filter, this.layout.filterBits, digest, true);
    const shard = this.shards[shardOf(digest, this.layout.shards)] as { bytes: Uint8Array; used: number };
    if (shard.used + DIGEST_BYTES > shard.bytes.length) {
      const grown = new Uint8Array(Math.max(1024, shard.bytes.length * 2));
      grown.set(shard.bytes.subarray(0, shard.used));
      shard.bytes = grown;
    }
    shard.bytes.set(digest, shard.used);
    shard.used += DIGEST_BYTES;
    this.values++;
  }

  /** The values added. */
  get size(): number {
    return this.values;
  }

  /** The filter object (its header, then its bits). */
  filterObject(): Uint8Array {
    return this.filter;
  }

  /** Each shard's object: its values' digests, one after another (empty for a shard that has none). */
  shardObjects(): Uint8Array[] {
    return this.shards.map((s) => s.bytes.subarray(0, s.used));
  }
}

/** Which strings of a document are forbidden values, from an index's filter and, for what it may hold, its shards. */
export class ForbiddenCheck {
  private readonly filterBits: number;
  private readonly shards: number;
  private readonly read = new Map<number, Promise<Uint8Array>>();
  private readonly digestOf: (value: string) => Buffer;

  constructor(
    secret: string,
    private readonly filter: Uint8Array,
    private readonly readShard: (shard: number) => Promise<Uint8Array | undefined>,
  ) {
    const header = Buffer.from(filter.buffer, filter.byteOffset, Math.min(HEADER_BYTES, filter.length));
    const filterBits = header.length === HEADER_BYTES ? header.readUInt32LE(4) : 0;
    if (
      header.toString('latin1', 0, 4) !== TAG ||
      filterBits < 8 ||
      filterBits % 8 !== 0 ||
      filter.length !== HEADER_BYTES + filterBits / 8 ||
      header.readUInt32LE(12) !== PROBES ||
      header.readUInt32LE(8) < 1
    )
      throw new ForbiddenIndexError('the forbidden values index is not one this version writes');
    this.filterBits = filterBits;
    this.shards = header.readUInt32LE(8);
    this.digestOf = keyedHash(secret);
  }

  /** Those of `values` that are forbidden. */
  async among(values: Iterable<string>): Promise<Set<string>> {
    const found = new Set<string>();
    for (const value of new Set(values)) {
      const digest = this.digestOf(value);
      if (!probe(this.filter, this.filterBits, digest, false)) continue;
      const shard = await this.shard(shardOf(digest, this.shards));
      for (let at = 0; at + DIGEST_BYTES <= shard.length; at += DIGEST_BYTES)
        if (digest.compare(shard, at, at + DIGEST_BYTES) === 0) {
          found.add(value);
          break;
        }
    }
    return found;
  }

  private shard(n: number): Promise<Uint8Array> {
    let shard = this.read.get(n);
    if (!shard) {
      if (this.read.size >= SHARDS_KEPT) this.read.clear();
      shard = this.readShard(n).then((bytes) => {
        if (!bytes) throw new ForbiddenIndexError(`shard ${n} of the forbidden values index is missing`);
        return bytes;
      });
      this.read.set(n, shard);
    }
    return shard;
  }
}

/** Where a run's index is: the exports bucket's work area, by the run's scope and id. */
export interface IndexPlace {
  readonly objects: ObjectStore;
  readonly bucket: string;
  readonly scope: string;
  readonly run: string;
}

/**
 * The keys of the objects an index of a layout has at its place (its filter and every shard): what a
 * start that failed deletes of the index it may have put.
 */
export const forbiddenIndexKeys = (place: Pick<IndexPlace, 'scope' | 'run'>, layout: ForbiddenLayout) => [
  workKeys.forbiddenFilter(place.scope, place.run),
  ...Array.from({ length: layout.shards }, (_, n) => workKeys.forbiddenShard(place.scope, place.run, n)),
];

/** Objects of an index put at once (below the SDK's 50 sockets per client). */
const PUTS_IN_FLIGHT = 16;

/** Puts an index's shards, then its filter (what verify reads first: there only once the shards are). */
export async function putForbiddenIndex(place: IndexPlace, index: ForbiddenIndexBuilder): Promise<void> {
  const { objects, bucket, scope, run } = place;
  await eachLimited([...index.shardObjects().entries()], PUTS_IN_FLIGHT, async ([n, bytes]) => {
    await objects.put(bucket, workKeys.forbiddenShard(scope, run, n), bytes, 'application/octet-stream');
  });
  await objects.put(
    bucket,
    workKeys.forbiddenFilter(scope, run),
    index.filterObject(),
    'application/octet-stream',
  );
}

const whole = async (body: AsyncIterable<Uint8Array> | undefined) => (body ? bytesOf(body) : undefined);

/** A run's index, as verify checks a document's strings against it; ForbiddenIndexError when it is missing. */
export async function readForbiddenCheck(place: IndexPlace, secret: string): Promise<ForbiddenCheck> {
  const { objects, bucket, scope, run } = place;
  const filter = await whole(await objects.get(bucket, workKeys.forbiddenFilter(scope, run)));
  if (!filter)
    throw new ForbiddenIndexError(
      `the run's index of the values that must never reach the target is missing (${workKeys.forbiddenFilter(scope, run)}): a run started before this version wrote none; run the export again`,
    );
  return new ForbiddenCheck(secret, filter, async (n) =>
    whole(await objects.get(bucket, workKeys.forbiddenShard(scope, run, n))),
  );
}
