import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/*
 * S3 replaces an object atomically: a reader sees the old object or the new one, whole. s3rver 3.7 does
 * not: it truncates the file in place and answers before the bytes are written, so a listing or GET
 * during a rewrite (at-least-once delivery rewrites the same documents) can miss the object or read it
 * cut short. This makes its file store write each file aside and rename it into place (atomic on one
 * file system), and answer only once the bytes are on disk. An object and its metadata are still two
 * renames: a command killed between them leaves an object without metadata, which a copy takes as it
 * is. Applied once, to the in-process s3rver.
 */
type Store = {
  rootDirectory: string;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: unknown, md5?: string): Promise<void>;
};

let applied = false;

/**
 * S3 lists keys in lexicographic order, and pages by the last key (StartAfter, continuation tokens).
 * s3rver walks its folders in directory order and pages the same way, so a page could leave out keys
 * that sort before its last one (`items/i1/file` is walked before `items/i1.json`, which sorts first):
 * a paged listing (verify's) then missed objects. Its walk is made to visit entries in key order. Must
 * run before s3rver's file store is loaded (it takes `walk` when it loads).
 */
function walkInKeyOrder(): void {
  const { readdirSync } = require('node:fs') as typeof import('node:fs');
  const { posix } = require('node:path') as typeof import('node:path');
  const utils = require('s3rver/lib/utils') as { walk: unknown };
  const keyOf = (e: { name: string; isDirectory(): boolean }) =>
    e.isDirectory() ? `${e.name}/` : e.name.replace(/\._S3rver_object$/, '');
  utils.walk = function* walk(dir: string, recurse?: (path: string) => boolean): Generator<string> {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => {
      const [x, y] = [keyOf(a), keyOf(b)];
      return x < y ? -1 : x > y ? 1 : 0;
    });
    for (const entry of entries) {
      const path = posix.join(dir, entry.name);
      if (!entry.isDirectory()) yield path;
      else if (!recurse || recurse(path)) yield* walk(path, recurse);
    }
  };
}

/**
 * s3rver pages listings with continuation tokens enciphered with DES, a cipher of OpenSSL's legacy
 * provider: without `--openssl-legacy-provider` every paged ListObjectsV2 failed with a 500, and the
 * command had to start Node twice to set that flag. The tokens only need to come back as they were sent
 * (S3's are opaque too), so in the stand-ins' own thread a 'des' cipher is a plain copy of its bytes:
 * the token is its 8-byte IV and the bucket and key it continues from, in base64.
 */
function tokensWithoutLegacyCipher(): void {
  const crypto = require('node:crypto') as Record<'createCipheriv' | 'createDecipheriv', unknown>;
  const copy = () => ({
    update: (data: string | Buffer, encoding?: BufferEncoding) =>
      typeof data === 'string' ? Buffer.from(data, encoding ?? 'utf8') : Buffer.from(data),
    final: () => Buffer.alloc(0),
  });
  for (const name of ['createCipheriv', 'createDecipheriv'] as const) {
    const original = crypto[name] as (...args: unknown[]) => unknown;
    crypto[name] = (algorithm: unknown, ...rest: unknown[]) =>
      algorithm === 'des' ? copy() : original(algorithm, ...rest);
  }
}

/**
 * s3rver reads a bucket's CORS and website configurations from files on every request (two failed opens
 * a request, through the thread pool, when the bucket has none). Kept once read, per store and file, and
 * forgotten when this process puts or deletes one or deletes the bucket: only the command holding the
 * state folder's lock writes its stand-ins' files.
 */
function bucketConfigsKept(proto: Record<string, unknown>): void {
  const get = proto.getSubresource as (
    this: Store,
    bucket: string,
    key: string | undefined,
    type: string,
  ) => Promise<unknown>;
  const kept = new WeakMap<Store, Map<string, Promise<unknown>>>();
  const keptOf = (store: Store) => {
    let map = kept.get(store);
    if (!map) {
      map = new Map();
      kept.set(store, map);
    }
    return map;
  };
  const forget = (store: Store, bucket: string) => {
    for (const name of keptOf(store).keys()) if (name.startsWith(`${bucket}\0`)) keptOf(store).delete(name);
  };
  proto.getSubresource = function (this: Store, bucket: string, key: string | undefined, type: string) {
    if (key !== undefined) return get.call(this, bucket, key, type);
    const map = keptOf(this);
    const name = `${bucket}\0${type}`;
    let config = map.get(name);
    if (!config) {
      config = get.call(this, bucket, key, type);
      config.catch(() => map.delete(name));
      map.set(name, config);
    }
    return config;
  };
  // What changes a bucket's configurations: forgotten before (no read meanwhile keeps the old) and after.
  for (const method of ['putSubresource', 'deleteSubresource', 'deleteBucket']) {
    const original = proto[method] as (this: Store, bucket: string, ...rest: unknown[]) => Promise<unknown>;
    proto[method] = async function (this: Store, bucket: string, ...rest: unknown[]) {
      forget(this, bucket);
      try {
        return await original.call(this, bucket, ...rest);
      } finally {
        forget(this, bucket);
      }
    };
  }
}

/**
 * A silent s3rver still logs every request: koa-logger times it, formats its line in colour and, for a
 * response of unknown length (a GET's stream), counts its bytes through one more stream, then hands the
 * line to a logger that drops it. Silent here means no logging middleware at all (the app's logger stays,
 * for s3rver's own warnings). Must run before s3rver's main module is loaded, which takes the middleware
 * when it loads.
 */
function silentWithoutLogging(): void {
  const notLogged = (_ctx: unknown, next: () => Promise<unknown>) => next();
  const path = require.resolve('s3rver/lib/middleware/logger');
  if (require.cache[require.resolve('s3rver')]) return; // loaded already: it keeps its logging
  const logging = require(path) as (app: unknown, silent: boolean) => unknown;
  const cached = require.cache[path];
  if (!cached) return;
  cached.exports = (app: unknown, silent: boolean) => {
    const middleware = logging(app, silent);
    return silent ? notLogged : middleware;
  };
}

/**
 * A copy's source (`x-amz-copy-source`) is URL-encoded, each segment of its key as a URI component (the
 * SDK's clients and S3 agree). s3rver decodes it with `decodeURI`, which leaves the reserved characters
 * encoded: a key with an `@` (a run's scope, `<exportId>@<hash>`) or a `+`, `&`, `=`, `$`, `,`, `;`, `:`
 * or `#` was looked for under its encoded name, and missing. The header is decoded whole here and handed
 * on so that s3rver's `decodeURI` gives it back unchanged (only `%` is escaped for it).
 */
function copySourceDecoded(): void {
  const object = require('s3rver/lib/controllers/object') as Record<string, (ctx: unknown) => unknown>;
  const original = object.putObjectCopy as (ctx: { headers: Record<string, string> }) => unknown;
  object.putObjectCopy = (ctx) => {
    const c = ctx as { headers: Record<string, string> };
    const source = c.headers['x-amz-copy-source'] ?? '';
    c.headers['x-amz-copy-source'] = decodeURIComponent(source).replace(/%/g, '%25');
    return original(c);
  };
}

/** Makes the in-process s3rver behave as S3 does where the pipeline depends on it (see above). */
export function fixS3rver(): void {
  if (applied) return;
  applied = true;
  tokensWithoutLegacyCipher();
  silentWithoutLogging();
  walkInKeyOrder();
  copySourceDecoded();
  const proto = require('s3rver/lib/stores/filesystem').prototype as Store & Record<string, unknown>;
  bucketConfigsKept(proto);
  const original = { putMetadata: proto.putMetadata as Store['putMetadata'] };
  /**
   * A rename into a folder that may not be there: tried first, and only when the folder is missing made and
   * tried again. A PUT into a folder that exists costs no `mkdir`; s3rver removes a folder that a delete
   * emptied, even while another PUT is about to rename into it, and the second try covers that too.
   */
  const renameInto = async (from: string, target: string) => {
    try {
      await rename(from, target);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await mkdir(dirname(target), { recursive: true });
      await rename(from, target);
    }
  };
  /** The store's folder of files written aside, made once a store (nothing else removes it). */
  const made = new WeakMap<Store, Promise<string>>();
  const staging = (store: Store): Promise<string> => {
    let folder = made.get(store);
    if (!folder) {
      const path = `${store.rootDirectory}-tmp`;
      folder = mkdir(path, { recursive: true }).then(() => path);
      folder.catch(() => made.delete(store));
      made.set(store, folder);
    }
    return folder;
  };
  const aside = async (store: Store, target: string, write: (tmp: string) => Promise<void>) => {
    const tmp = join(await staging(store), randomUUID());
    await write(tmp);
    await renameInto(tmp, target);
  };

  proto.putObject = async function (
    this: Store,
    object: { bucket: string; key: string; content: unknown; metadata: unknown },
  ) {
    const md5 = createHash('md5');
    let size = 0;
    await aside(this, this.getResourcePath(object.bucket, object.key, 'object'), async (tmp) => {
      if (Buffer.isBuffer(object.content)) {
        md5.update(object.content);
        size = object.content.length;
        await writeFile(tmp, object.content);
      } else {
        const count = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            md5.update(chunk);
            size += chunk.length;
            callback(null, chunk);
          },
        });
        await pipeline(object.content as NodeJS.ReadableStream, count, createWriteStream(tmp));
      }
    });
    const digest = md5.digest('hex');
    await this.putMetadata(object.bucket, object.key, object.metadata, digest);
    return { size, md5: digest };
  };

  proto.putMetadata = async function (
    this: Store,
    bucket: string,
    key: string,
    metadata: unknown,
    md5?: string,
  ) {
    // The original writes both files in place; write them aside first, then move them over.
    const staged = join(await staging(this), randomUUID());
    const stage = Object.create(this) as Store;
    stage.getResourcePath = (_b, _k, resource) => `${staged}.${resource}`;
    await original.putMetadata.call(stage, bucket, key, metadata, md5);
    if (md5) await renameInto(`${staged}.object.md5`, this.getResourcePath(bucket, key, 'object.md5'));
    await renameInto(`${staged}.metadata.json`, this.getResourcePath(bucket, key, 'metadata.json'));
  };

  proto.copyObject = async function (
    this: Store & { getMetadata(bucket: string, key: string): Promise<unknown> },
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    replacementMetadata?: unknown,
  ) {
    const path = (bucket: string, key: string, resource: string) =>
      this.getResourcePath(bucket, key, resource);
    if (srcBucket !== destBucket || srcKey !== destKey) {
      await aside(this, path(destBucket, destKey, 'object'), (tmp) =>
        copyFile(path(srcBucket, srcKey, 'object'), tmp),
      );
      if (!replacementMetadata) {
        for (const resource of ['object.md5', 'metadata.json']) {
          const from = path(srcBucket, srcKey, resource);
          // A command killed between an object's rename and its metadata's left the object without them
          // (s3rver reads such an object, and works its MD5 out again): there is nothing to copy, and
          // what the destination had belongs to its former object.
          if (!existsSync(from)) {
            await rm(path(destBucket, destKey, resource), { force: true });
            continue;
          }
          await aside(this, path(destBucket, destKey, resource), (tmp) => copyFile(from, tmp));
        }
      }
    }
    if (replacementMetadata) await this.putMetadata(destBucket, destKey, replacementMetadata);
    return this.getMetadata(destBucket, destKey);
  };
}
