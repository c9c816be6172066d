import type { SQSRecord } from 'aws-lambda';
import { type Clients, policyFrom, secretString } from '../adapters/aws';
import { readConfig } from '../adapters/config';
import { dynamoStore } from '../adapters/dynamo-store';
import { countDecisions, logger } from '../adapters/observability';
import { bucketExportSource, exportPrefix, s3Objects } from '../adapters/s3-objects';
import { eachLimited } from '../core/concurrency';
import { workChunk } from '../core/pipeline/chunk-work';
import { ChunkMessageSchema, chunkId, decodeChunk, workKeys } from '../core/pipeline/chunks';
import { blobChecker } from '../core/pipeline/decide-export';
import { ENTITY_OF_KIND, type Entity } from '../core/pipeline/workers';
import type { ObjectStore, PipelineStore } from '../core/ports';
import type { CompiledPolicy } from '../core/rules/policy';
import { targetOf } from '../core/rules/targets';
import { sqsBatchHandler } from './sqs-batch';

export interface EntityDeps {
  readonly store: PipelineStore;
  readonly objects: ObjectStore;
  readonly policy: CompiledPolicy;
  readonly exportsBucket: string;
  readonly migratedBucket: string;
  /** The identity index's HMAC key (resolved lazily: only account chunks need it). */
  readonly emailSecret: () => Promise<string>;
}

/** A chunk message that cannot be processed as it stands; it will reach the dead-letter queue. */
export class PoisonMessageError extends Error {
  override name = 'PoisonMessageError';
}

/**
 * One chunk: decide its lines (the same core as `plan`), copy the migrated files server-side, write the
 * migrated documents, keep the results for the report, then record the chunk's marker once. Every write
 * is keyed by the chunk or record, so a redelivered message changes nothing.
 */
export async function processChunkRecord(entity: Entity, body: string, deps: EntityDeps): Promise<void> {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (cause) {
    throw new PoisonMessageError('message body is not JSON', { cause });
  }
  const parsed = ChunkMessageSchema.safeParse(raw);
  if (!parsed.success)
    throw new PoisonMessageError(`not a chunk message: ${parsed.error.issues[0]?.path.join('.')}`);
  const msg = parsed.data;
  if (ENTITY_OF_KIND[msg.kind] !== entity)
    throw new PoisonMessageError(`kind ${msg.kind} does not belong to ${entity}`);
  if (await deps.store.hasChunkMarker(msg.scope, msg.stage, chunkId(msg))) {
    logger.info('chunk already done', {
      exportId: msg.exportId,
      stage: msg.stage,
      kind: msg.kind,
      chunk: msg.chunk,
    });
    return;
  }
  const text = await deps.objects.getText(deps.exportsBucket, msg.key);
  if (text === undefined) throw new PoisonMessageError(`chunk object ${msg.key} is missing`);

  const blobKey = (sha256: string) => `${exportPrefix(msg.exportId)}blobs/${sha256}`;
  const outcome = await workChunk(msg, decodeChunk(text), {
    store: deps.store,
    policy: deps.policy,
    emailSecret: msg.kind === 'accounts' ? await deps.emailSecret() : '',
    blobStatus: blobChecker(bucketExportSource(deps.objects, deps.exportsBucket, msg.exportId)),
  });

  if (msg.op === 'decide') {
    const targets = outcome.results.flatMap(
      ({ result }) => targetOf(msg.exportId, result.decided, result.record) ?? [],
    );
    await eachLimited(targets, 16, async (target) => {
      if (target.file)
        await deps.objects.copy(
          deps.exportsBucket,
          blobKey(target.file.sha256),
          deps.migratedBucket,
          target.file.key,
        );
      await deps.objects.put(
        deps.migratedBucket,
        target.documentKey,
        `${JSON.stringify(target.document, null, 2)}\n`,
        'application/json',
      );
    });
    const rows = outcome.results.map(({ result }) => JSON.stringify(result.decided)).join('\n');
    await deps.objects.put(
      deps.exportsBucket,
      workKeys.result(msg.scope, msg.stage, msg.kind, msg.chunk),
      `${rows}\n`,
      'application/x-ndjson',
    );
  }
  const first = await deps.store.putChunkMarker(msg.scope, msg.stage, chunkId(msg), outcome.counts);
  if (first && msg.op === 'decide') countDecisions(msg.kind, outcome.counts);
  logger.info('chunk done', {
    exportId: msg.exportId,
    stage: msg.stage,
    kind: msg.kind,
    op: msg.op,
    chunk: msg.chunk,
    first,
    ...outcome.counts,
  });
}

/** The SQS-fed handler of an entity worker: partial batch responses, one failed record never fails the rest. */
export function makeEntityHandler(entity: Entity, deps: EntityDeps) {
  const record = async (r: SQSRecord) => {
    try {
      await processChunkRecord(entity, r.body, deps);
    } catch (error) {
      // Ids and the error only: a chunk's content never goes to the logs.
      const e = error as Error;
      logger.error('chunk failed', {
        entity,
        messageId: r.messageId,
        receiveCount: r.attributes?.ApproximateReceiveCount,
        errorType: e.name,
        error: e.message,
      });
      throw error;
    }
  };
  return sqsBatchHandler(record);
}

/** An entity worker's dependencies from clients and its environment (AWS, or the local stand-ins). */
export function entityDepsFrom(clients: Clients, env: NodeJS.ProcessEnv): EntityDeps {
  const config = readConfig(['exportsBucket', 'migratedBucket', 'table', 'policy', 'emailKeySecret'], env);
  let secret: Promise<string> | undefined;
  return {
    store: dynamoStore(clients.dynamo, config.table),
    objects: s3Objects(clients.s3),
    policy: policyFrom(config.policy),
    exportsBucket: config.exportsBucket,
    migratedBucket: config.migratedBucket,
    emailSecret: () => {
      secret ??= secretString(clients.secrets, config.emailKeySecret);
      return secret;
    },
  };
}
