import { resolve } from 'node:path';
import { exportKeys, MANIFEST } from '../../functions/core/keys';
import { buildStagePlan } from '../../functions/core/pipeline/stages';
import { neutralise } from '../../functions/core/report/neutralise';
import { LOCAL_STACK, serveLocalStack } from '../../local/runtime/local-stack';
import { type LocalPipeline, startLocalPipeline } from '../../local/runtime/pipeline';
import { notice } from '../messages';
import { loadPolicy } from './plan';
import { executeRun } from './run';

export interface ServeOptions {
  readonly stateDir?: string;
  readonly policyFile?: string;
  readonly out?: { write(s: string): unknown };
  /** Resolves to stop serving (default: SIGINT or SIGTERM). */
  readonly until?: Promise<unknown>;
}

/**
 * `esep-migrate serve`: keeps the stand-ins up, prints their endpoints, and starts a run whenever a
 * `manifest.json` is uploaded under `exports/<exportId>/` of the local exports bucket — as the
 * EventBridge rule does on AWS. Runs go one at a time, in the order of their uploads.
 */
export async function serve(options: ServeOptions = {}): Promise<void> {
  const out = options.out ?? process.stdout;
  const stateDir = resolve(options.stateDir ?? '.esep-local');
  const policy = await loadPolicy(options.policyFile);
  const pipeline: LocalPipeline = await startLocalPipeline({
    stateDir,
    notice,
    context: options.policyFile ? { policyFile: resolve(options.policyFile) } : {},
  });
  const { endpoints } = pipeline.services;
  const { buckets, table } = pipeline.resources;
  // The operator commands' AWS path (`--stack`) works on this deployment through the SDK's settings.
  const plane = await serveLocalStack(pipeline);
  out.write(
    [
      `esep-migrate serve: the local stand-ins are up (state in ${stateDir})`,
      `  S3        ${endpoints.s3}   credentials S3RVER / S3RVER, path-style`,
      `            exports bucket ${buckets.exports}, migrated ${buckets.migrated}, reports ${buckets.reports}`,
      `  DynamoDB  ${endpoints.dynamodb}   table ${table}`,
      `  SQS       ${endpoints.sqs}`,
      'Upload an export, manifest.json last, to start a run:',
      `  AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER aws --endpoint-url ${endpoints.s3} s3 cp --recursive <exportDir> s3://${buckets.exports}/${exportKeys.prefix('<exportId>')} --exclude ${MANIFEST}`,
      `  AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER aws --endpoint-url ${endpoints.s3} s3 cp <exportDir>/${MANIFEST} s3://${buckets.exports}/${exportKeys.manifest('<exportId>')}`,
      `The operator commands work on this deployment as on a deployed stack (--stack ${LOCAL_STACK}), with these settings:`,
      ...Object.entries(plane.environment).map(([k, v]) => `  export ${k}=${v}`),
      `  esep-migrate status --stack ${LOCAL_STACK}`,
      `endpoints: ${JSON.stringify({ ...endpoints, ...buckets, table, controlPlane: plane.endpoint })}`,
      '',
    ].join('\n'),
  );

  const waves = buildStagePlan(policy).map((w) => w.wave);
  let queue = Promise.resolve();
  pipeline.services.s3Events.on(
    'event',
    (event: {
      Records?: { eventName?: string; s3?: { bucket?: { name?: string }; object?: { key?: string } } }[];
    }) => {
      for (const record of event.Records ?? []) {
        const key = decodeURIComponent(record.s3?.object?.key ?? '');
        const exportId = exportKeys.exportIdOfManifest(key);
        if (
          !record.eventName?.startsWith('ObjectCreated') ||
          record.s3?.bucket?.name !== buckets.exports ||
          !exportId
        )
          continue;
        out.write(`upload of ${key}: starting a run\n`);
        queue = queue.then(async () => {
          try {
            const r = await executeRun(
              pipeline,
              { bucket: buckets.exports, key },
              { exportId, waves },
              undefined,
            );
            out.write(`run of ${exportId}: ${r.summary.status}, report: ${r.outDir}\n`);
          } catch (error) {
            out.write(`run of ${exportId} failed: ${neutralise((error as Error).message)}\n`);
          }
        });
      }
    },
  );

  await (options.until ??
    new Promise((done) => {
      process.once('SIGINT', done);
      process.once('SIGTERM', done);
    }));
  out.write('esep-migrate serve: stopping\n');
  await queue;
  await plane.stop();
  await pipeline.stop();
}
