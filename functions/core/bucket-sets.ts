import { bucketIndexOf } from './keys';
import type { ObjectStore } from './ports';

/**
 * A set of buckets that acts as one: the migrated target and the reports are spread over several buckets
 * (CDK context `targetBuckets`), because S3 takes 3,500 writes and 5,500 reads a second per partition and a
 * new bucket has one (AWS documents no time for S3 to add more): N buckets take N times that from the
 * first second. A set is named by its buckets' names joined with `,` (a character no bucket name has), so
 * that every function, command and test passes it where one bucket's name went. Which bucket holds a key
 * is `bucketIndexOf` (keys.ts): the ESEP importer reads the same rule (docs/aws.md, "Migrated layout").
 */
export const SET_SEPARATOR = ',';

/**
 * Buckets the target and the reports are each spread over unless the deployment says otherwise: four new
 * buckets take the full-size run's writes and reads within 30 minutes (docs/aws.md, "Full size"), and an
 * account may have 10,000 general purpose buckets (CEILINGS).
 */
export const DEFAULT_TARGET_BUCKETS = 4;

/** The buckets of a set, in order (one for a plain bucket name). */
export const bucketsOf = (name: string): string[] => name.split(SET_SEPARATOR);

/** The name of a set of buckets. */
export const bucketSetName = (buckets: readonly string[]): string => buckets.join(SET_SEPARATOR);

/** The bucket of a set that holds `key`. */
export function bucketOf(name: string, key: string): string {
  const buckets = bucketsOf(name);
  return buckets.length === 1 ? name : (buckets[bucketIndexOf(key, buckets.length) ?? 0] as string);
}

/**
 * An object store that takes a set's name wherever it takes a bucket's: each key goes to its bucket, and a
 * listing merges the listings of the buckets the prefix can reach (in key order, `page.max` at most).
 */
export function withBucketSets(store: ObjectStore): ObjectStore {
  return {
    get: (bucket, key) => store.get(bucketOf(bucket, key), key),
    getText: (bucket, key) => store.getText(bucketOf(bucket, key), key),
    put: (bucket, key, body, contentType) => store.put(bucketOf(bucket, key), key, body, contentType),
    delete: (bucket, key) => store.delete(bucketOf(bucket, key), key),
    copy: (fromBucket, fromKey, toBucket, toKey) =>
      store.copy(bucketOf(fromBucket, fromKey), fromKey, bucketOf(toBucket, toKey), toKey),
    storedSha256: (bucket, key) => store.storedSha256(bucketOf(bucket, key), key),
    async list(bucket, prefix, page) {
      const buckets = bucketsOf(bucket);
      if (buckets.length === 1) return store.list(bucket, prefix, page);
      const one = bucketIndexOf(prefix, buckets.length, true);
      const reached = one === undefined ? buckets : [buckets[one] as string];
      const keys = (await Promise.all(reached.map((b) => store.list(b, prefix, page)))).flat().sort();
      return page ? keys.slice(0, page.max) : keys;
    },
  };
}
