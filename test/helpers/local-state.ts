import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, ListObjectsV2Command, type ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { bucketsOf } from '../../functions/core/bucket-sets';
import { TTL_ATTRIBUTE } from '../../functions/core/keys';
import { startLocalPipeline } from '../../local/runtime/pipeline';

/**
 * The state a run leaves: the table (less run-status timestamps), every target object with its ETag and
 * the bucket of the set that holds it, and the runs' ledgers (their result objects, with how many rows
 * each holds).
 */
export async function snapshot(stateDir: string) {
  const pipeline = await startLocalPipeline({ stateDir });
  try {
    const items: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const r = await pipeline.clients.dynamo.send(
        new ScanCommand({ TableName: pipeline.resources.table, ExclusiveStartKey: start as never }),
      );
      // A run's own bookkeeping is left out: its status, the markers of its identity stages and of its
      // report's parts (each run links and reports afresh), and when a per-run item expires (a time).
      for (const { [TTL_ATTRIBUTE]: _expires, ...item } of r.Items ?? [])
        if (item.pk?.S !== 'RUNS' && !/#(report|identities)\//.test(`${item.pk?.S}#${item.sk?.S}`))
          items.push(JSON.stringify(item));
      start = r.LastEvaluatedKey;
    } while (start);
    const objects: string[] = [];
    let token: string | undefined;
    // Every bucket of the target's set (core/bucket-sets), each key with the bucket that holds it.
    for (const [i, bucket] of bucketsOf(pipeline.resources.buckets.migrated).entries())
      do {
        const r = await pipeline.clients.s3.send(
          new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }),
        );
        for (const o of r.Contents ?? []) objects.push(`${o.Key} ${o.ETag} bucket ${i}`);
        token = r.IsTruncated ? r.NextContinuationToken : undefined;
      } while (token);
    const results: { key: string; etag: string; rows: number }[] = [];
    token = undefined;
    do {
      const r: ListObjectsV2CommandOutput = await pipeline.clients.s3.send(
        new ListObjectsV2Command({
          Bucket: pipeline.resources.buckets.exports,
          Prefix: 'work/',
          ContinuationToken: token,
        }),
      );
      for (const o of r.Contents ?? []) {
        if (!o.Key?.includes('/results/')) continue;
        const body = await pipeline.clients.s3.send(
          new GetObjectCommand({ Bucket: pipeline.resources.buckets.exports, Key: o.Key }),
        );
        const text = (await body.Body?.transformToString()) ?? '';
        results.push({ key: o.Key, etag: String(o.ETag), rows: text.split('\n').filter(Boolean).length });
      }
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return { items: items.sort(), objects: objects.sort(), results };
  } finally {
    await pipeline.stop();
  }
}

/** A report folder without its run's times (and without report.html, which shows them); receipts in name order. */
export function reportOf(outDir: string) {
  const {
    startedAt: _s,
    finishedAt: _f,
    ...summary
  } = JSON.parse(readFileSync(join(outDir, 'summary.json'), 'utf8'));
  // A receipt's download deadline counts from when its export first ran in that state: a time, as above.
  const receipts = readdirSync(join(outDir, 'receipts'))
    .sort()
    .map((f) =>
      readFileSync(join(outDir, 'receipts', f), 'utf8')
        .replace(/(downloadDeadline": ")[0-9TZ:.-]+/g, '$1<time>')
        .replace(/(before|vóór) \d{4}-\d\d-\d\d/g, '$1 <day>'),
    );
  return { summary, decisions: readFileSync(join(outDir, 'decisions.ndjson'), 'utf8'), receipts };
}
