import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { bucketOf, withBucketSets } from '../core/bucket-sets';
import { bytesOf } from '../core/bytes';
import { exportKeys } from '../core/keys';
import type { ObjectStore } from '../core/ports';
import { paceOf } from './pacing';

const isMissing = (error: unknown) =>
  error instanceof NoSuchKey ||
  (error as { name?: string })?.name === 'NoSuchKey' ||
  (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404;

/** S3 as the object store: a bucket set's name (core/bucket-sets) reaches each key's bucket. */
export const s3Objects = (client: S3Client): ObjectStore => withBucketSets(s3Buckets(client));

function s3Buckets(client: S3Client): ObjectStore {
  // The buckets are shared by the workers of a stage, each paced to its share (sizing.ts stageBudget).
  const writes = (bucket: string) => paceOf(client, 'bucketWrites', bucket)(1);
  const reads = (bucket: string) => paceOf(client, 'bucketReads', bucket)(1);
  const get = async (bucket: string, key: string) => {
    await reads(bucket);
    try {
      const r = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return r.Body as AsyncIterable<Uint8Array> | undefined;
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  };
  return {
    get,
    async getText(bucket, key) {
      const body = await get(bucket, key);
      return body && (await bytesOf(body)).toString('utf8');
    },
    async put(bucket, key, body, contentType) {
      await writes(bucket);
      await client.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: key,
          Body: body,
          // Stated, so that an empty body is not taken for a stream of unknown length.
          ContentLength: typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength,
          ContentType: contentType,
        }),
      );
    },
    async copy(fromBucket, fromKey, toBucket, toKey) {
      const source = `${fromBucket}/${fromKey.split('/').map(encodeURIComponent).join('/')}`;
      await writes(toBucket);
      // S3 keeps the copy's SHA-256 (verify reads it back instead of downloading the file).
      await client.send(
        new CopyObjectCommand({
          CopySource: source,
          Bucket: toBucket,
          Key: toKey,
          ChecksumAlgorithm: 'SHA256',
        }),
      );
    },
    async storedSha256(bucket, key) {
      await reads(bucket);
      try {
        const r = await client.send(
          new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }),
        );
        // The stand-in keeps no SHA-256 (s3rver: an MD5 ETag only); nor does S3 for a multipart object's whole.
        const full = r.ChecksumSHA256 && !r.ChecksumSHA256.includes('-') && r.ChecksumType !== 'COMPOSITE';
        return full
          ? { exists: true, sha256: Buffer.from(r.ChecksumSHA256 as string, 'base64').toString('hex') }
          : { exists: true };
      } catch (error) {
        if (isMissing(error)) return { exists: false };
        throw error;
      }
    },
    async delete(bucket, key) {
      await writes(bucket);
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    },
    async list(bucket, prefix, page) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const r = await client.send(
          new ListObjectsV2Command({
            Bucket: bucket,
            Prefix: prefix,
            ContinuationToken: token,
            ...(token === undefined && page?.startAfter ? { StartAfter: page.startAfter } : {}),
            ...(page ? { MaxKeys: Math.min(1000, page.max - keys.length) } : {}),
          }),
        );
        for (const o of r.Contents ?? []) if (o.Key) keys.push(o.Key);
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token && (!page || keys.length < page.max));
      return keys.sort();
    },
  };
}

/** A pre-signed GET link to a file of an export, and when it expires. */
export type DownloadLink = (file: {
  sha256: string;
  fileName: string;
}) => Promise<{ url: string; expiresAt: string }>;

/**
 * Pre-signed GET links to the export's blobs, named as the teacher knew the file (TS-5); none when
 * `hours` is 0. A link signed with the function's role lasts at most as long as the role's session,
 * whatever `hours` says.
 */
export function presignedDownloads(
  s3: S3Client,
  exportsBucket: string,
  exportId: string,
  hours: number,
): DownloadLink | undefined {
  if (hours <= 0) return undefined;
  return async (d) => {
    const expiresIn = Math.round(hours * 3600);
    const url = await getSignedUrl(
      s3,
      new GetObjectCommand({
        Bucket: exportsBucket,
        Key: exportKeys.blob(exportId, d.sha256),
        ResponseContentDisposition: `attachment; filename*=UTF-8''${encodeURIComponent(d.fileName)}`,
      }),
      { expiresIn },
    );
    return { url, expiresAt: new Date(Date.now() + expiresIn * 1000).toISOString() };
  };
}

/** A pre-signed GET link to one object of a bucket set (the support desk's link to a receipt page). */
export const presignedObject = (
  s3: S3Client,
  bucketSet: string,
  key: string,
  seconds: number,
): Promise<string> =>
  getSignedUrl(s3, new GetObjectCommand({ Bucket: bucketOf(bucketSet, key), Key: key }), {
    expiresIn: seconds,
  });
