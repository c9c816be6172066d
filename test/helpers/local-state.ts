import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { startLocalPipeline } from '../../local/pipeline';

/** The state a run leaves: the table (less run-status timestamps) and every target object with its ETag. */
export async function snapshot(stateDir: string) {
  const pipeline = await startLocalPipeline({ stateDir });
  try {
    const items: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const r = await pipeline.clients.dynamo.send(
        new ScanCommand({ TableName: pipeline.resources.table, ExclusiveStartKey: start as never }),
      );
      for (const item of r.Items ?? []) if (!item.pk?.S?.startsWith('R#')) items.push(JSON.stringify(item));
      start = r.LastEvaluatedKey;
    } while (start);
    const objects: string[] = [];
    let token: string | undefined;
    do {
      const r = await pipeline.clients.s3.send(
        new ListObjectsV2Command({ Bucket: pipeline.resources.buckets.migrated, ContinuationToken: token }),
      );
      for (const o of r.Contents ?? []) objects.push(`${o.Key} ${o.ETag}`);
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    return { items: items.sort(), objects: objects.sort() };
  } finally {
    await pipeline.stop();
  }
}
