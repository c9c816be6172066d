/**
 * One measurement in a fresh process (so that its peak RSS is its own): prints one JSON line
 * `{ms, records, migrated?, maxRssMb}`. Called by bench.ts with a work folder of its own, which bench.ts removes after
 * this process has exited: removing tens of thousands of files is not part of any measurement. Not a
 * public command.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { plan } from '../cli/commands/plan';
import { runLocal } from '../cli/commands/run';
import { eachLimited } from '../functions/core/concurrency';
import { decisionsIn } from '../functions/core/report/summary';
import { validateRecord } from '../functions/core/rules/decide';
import type { Kind } from '../functions/core/rules/kinds';
import { readLines } from '../functions/core/rules/ndjson';
import type { LimitsReport } from '../local/runtime/limits';
import { startServices } from '../local/stand-ins/services';
import { runMain } from './main';

const quiet = { write: () => true };

/**
 * Reads every line of the export's kind files (gunzipping) and `JSON.parse`s it; with `validate`, also
 * checks it against its kind's schema, as rule DQ-1 asks of every record (the floor of `plan`).
 */
async function parse(exportDir: string, validate: boolean): Promise<number> {
  const manifest = JSON.parse(readFileSync(join(exportDir, 'manifest.json'), 'utf8')) as {
    files: { kind: Kind; path: string }[];
  };
  let records = 0;
  for (const file of manifest.files) {
    for await (const line of readLines(
      createReadStream(join(exportDir, file.path), { highWaterMark: 256 * 1024 }),
    )) {
      if ('text' in line) {
        try {
          const raw = JSON.parse(line.text);
          if (validate && raw && typeof raw === 'object') validateRecord(file.kind, raw);
        } catch {}
      }
      records++;
    }
  }
  return records;
}

/** The local DynamoDB stand-in's raw BatchWriteItem rate: 25 items a batch, 16 batches in flight (the pipeline's own). */
async function store(work: string, items: number): Promise<number> {
  const services = await startServices(work);
  try {
    await services.clients.dynamo.send(
      new CreateTableCommand({
        TableName: 'bench',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const doc = DynamoDBDocumentClient.from(services.clients.dynamo);
    const batches = Array.from({ length: Math.ceil(items / 25) }, (_, b) =>
      Array.from({ length: 25 }, (_, i) => ({
        PutRequest: {
          Item: {
            pk: `D#bench#kind#id-${b * 25 + i}`,
            sk: '0000000001',
            decision: 'migrated',
            reason: 'CONTENT_ELIGIBLE',
            wave: 'sept-2022',
          },
        },
      })),
    );
    const started = performance.now();
    await eachLimited(batches, 16, async (batch) => {
      let pending = batch;
      while (pending.length > 0) {
        const r = await doc.send(new BatchWriteCommand({ RequestItems: { bench: pending } }));
        pending = (r.UnprocessedItems?.bench ?? []) as typeof pending;
      }
    });
    return performance.now() - started;
  } finally {
    await services.stop();
  }
}

/**
 * PutObject through the AWS SDK client into the local S3 stand-in: small objects, 16 in flight (the
 * pipeline's own). The client's CPU is most of it (bench/request-cost.ts).
 */
async function s3Puts(work: string, objects: number): Promise<number> {
  const services = await startServices(work);
  try {
    await services.clients.s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
    const body = JSON.stringify({
      kind: 'twinspace-items',
      id: 'x',
      title: 'A page of a TwinSpace',
      body: 'x'.repeat(300),
    });
    const started = performance.now();
    await eachLimited(
      Array.from({ length: objects }, (_, i) => i),
      16,
      async (i) => {
        await services.clients.s3.send(
          new PutObjectCommand({ Bucket: 'bench', Key: `p/${i}.json`, Body: body }),
        );
      },
    );
    return performance.now() - started;
  } finally {
    await services.stop();
  }
}

async function main() {
  const [task, arg, work] = process.argv.slice(2) as [string, string, string];
  const started = performance.now();
  let records = 0;
  /** Of a run: the records it migrated, each one document put into the migrated bucket at least. */
  let migrated: number | undefined;
  let ms: number | undefined;
  /** plan: the model's heaviest invocation per step, [function, seconds]. */
  let steps: Record<string, [string, number]> | undefined;
  /** run: what the local runtime measured per function, [invocations, heaviest ms]. */
  let limits: Record<string, [number, number]> | undefined;
  /** The run's requests as its clients sent them (run), or as the AWS model counts them (plan). */
  let workload: Record<string, number> | undefined;
  if (task === 'parse' || task === 'validate') records = await parse(arg, task === 'validate');
  else if (task === 'store') {
    records = Number(arg);
    ms = await store(work, records);
  } else if (task === 's3') {
    records = Number(arg);
    ms = await s3Puts(work, records);
  } else if (task === 'plan') {
    const r = await plan({ exportDir: arg, out: work, stderr: quiet });
    records = decisionsIn(r.summary.counts);
    // The model's heaviest invocation of each step, for the comparison with what a run measures.
    steps = Object.fromEntries(
      r.estimate.feasibility.steps.map((x) => [x.step, [x.function, x.perInvocationSeconds]]),
    );
    workload = { ...r.estimate.workload };
  } else if (task === 'run') {
    const r = await runLocal({ exportDir: arg, stateDir: work, stderr: quiet });
    // A figure of a run that did not complete and verify would measure something else.
    if (r.failed || r.summary.verification?.passed !== true)
      throw new Error(`the run ended ${r.summary.status}, verification ${r.summary.verification?.passed}`);
    records = decisionsIn(r.summary.counts);
    migrated = Object.values(r.summary.counts).reduce((n, c) => n + c.migrated, 0);
    const measured = JSON.parse(readFileSync(join(r.outDir, 'limits.json'), 'utf8')) as LimitsReport;
    limits = Object.fromEntries(
      Object.entries(measured.functions).map(([name, f]) => [name, [f.invocations, f.maxDurationMs]]),
    );
    workload = { records, ...measured.requests };
  } else throw new Error(`unknown task ${task}`);
  process.stdout.write(
    `${JSON.stringify({ ms: ms ?? performance.now() - started, records, migrated, steps, limits, workload, maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024) })}\n`,
  );
}

runMain(main);
