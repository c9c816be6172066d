import {
  CopyObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ExportSource, ObjectStore } from '../core/ports';

const isMissing = (error: unknown) =>
  error instanceof NoSuchKey ||
  (error as { name?: string })?.name === 'NoSuchKey' ||
  (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 404;

export function s3Objects(client: S3Client): ObjectStore {
  const get = async (bucket: string, key: string) => {
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
      if (!body) return undefined;
      const parts: Buffer[] = [];
      for await (const chunk of body) parts.push(Buffer.from(chunk));
      return Buffer.concat(parts).toString('utf8');
    },
    async put(bucket, key, body, contentType) {
      await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }),
      );
    },
    async copy(fromBucket, fromKey, toBucket, toKey) {
      const source = `${fromBucket}/${fromKey.split('/').map(encodeURIComponent).join('/')}`;
      await client.send(new CopyObjectCommand({ CopySource: source, Bucket: toBucket, Key: toKey }));
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

/** An export uploaded to `exports/<exportId>/` of a bucket, read through the core's port. */
export const exportPrefix = (exportId: string) => `exports/${exportId}/`;

export function bucketExportSource(objects: ObjectStore, bucket: string, exportId: string): ExportSource {
  return { name: exportId, open: (path) => objects.get(bucket, exportPrefix(exportId) + path) };
}
