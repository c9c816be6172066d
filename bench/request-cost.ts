/**
 * `npx tsx bench/request-cost.ts [requests]` (issue 24, item 2): what one request to the local stand-ins
 * costs in CPU, and who pays it. The stand-ins and their client share this one thread, so its CPU time
 * (process.cpuUsage) is all the work of a request:
 *
 * - `bare`: the request as plain HTTP, unsigned (the stand-in's own cost, and a minimal client's);
 * - `sdk`: the same request through the AWS SDK v3 client the pipeline uses (as the local runtime builds it).
 *
 * The difference is the SDK client's. A local run makes about two such requests a record: what bounds
 * `run` is read here, not guessed. Run it more than once: an S3 PUT's system time (three files written
 * aside and renamed into place) wanders with the disk. Not part of `npm test`.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { clientRetry } from '../functions/adapters/wiring';
import { fixS3rver } from '../local/stand-ins/s3rver-fixes';
import { serveTable } from '../local/stand-ins/services-host';
import { runMain } from './main';

const REQUESTS = Number(process.argv[2] ?? 3000);
const IN_FLIGHT = 16;
const BODY = JSON.stringify({ kind: 'twinspace-items', id: 'x', title: 'A page', body: 'x'.repeat(300) });
// s3rver's own key: it checks the signature.
const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** CPU milliseconds a request of `requests` made `IN_FLIGHT` at a time. */
async function cpuPerRequest(one: (i: number) => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < REQUESTS) await one(next++);
    }),
  );
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / REQUESTS;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
function bare(endpoint: string, method: string, path: string, body?: string, headers = {}): Promise<number> {
  const url = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        agent,
        headers: { ...headers, ...(body ? { 'content-length': Buffer.byteLength(body) } : {}) },
      },
      (response) => {
        response.resume();
        response.on('end', () =>
          (response.statusCode ?? 500) < 300
            ? resolve(response.statusCode ?? 0)
            : reject(new Error(`${method} ${path}: ${response.statusCode}`)),
        );
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'esep-request-cost-'));
  fixS3rver();
  const S3rver = require('s3rver');
  const s3rver = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: join(dir, 's3') });
  const s3Endpoint = `http://127.0.0.1:${(await s3rver.run()).port}`;
  const table = await serveTable(dir);
  try {
    const s3 = new S3Client({
      region: 'eu-west-1',
      credentials,
      ...clientRetry(),
      endpoint: s3Endpoint,
      forcePathStyle: true,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const dynamo = new DynamoDBClient({
      region: 'eu-west-1',
      credentials,
      ...clientRetry(),
      endpoint: table.endpoint,
    });
    const doc = DynamoDBDocumentClient.from(dynamo);
    await s3.send(new CreateBucketCommand({ Bucket: 'bench' }));
    await dynamo.send(
      new CreateTableCommand({
        TableName: 'bench',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const dynamoHeaders = (target: string) => ({
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `DynamoDB_20120810.${target}`,
      'x-amz-date': '20260101T000000Z',
      // dynalite wants one; it checks no signature.
      authorization:
        'AWS4-HMAC-SHA256 Credential=local/20260101/eu-west-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0',
    });
    let round = 0;
    const item = (i: number, how: string) => ({ pk: { S: `${how}-${i}` }, body: { S: BODY } });
    const measure = async (): Promise<[string, number, number][]> => [
      [
        'S3 PutObject',
        await cpuPerRequest((i) => bare(s3Endpoint, 'PUT', `/bench/bare${round}/${i}.json`, BODY)),
        await cpuPerRequest((i) =>
          s3.send(new PutObjectCommand({ Bucket: 'bench', Key: `sdk${round}/${i}.json`, Body: BODY })),
        ),
      ],
      [
        'S3 GetObject',
        await cpuPerRequest((i) => bare(s3Endpoint, 'GET', `/bench/bare${round}/${i}.json`)),
        await cpuPerRequest(async (i) => {
          const r = await s3.send(new GetObjectCommand({ Bucket: 'bench', Key: `sdk${round}/${i}.json` }));
          await r.Body?.transformToString();
        }),
      ],
      [
        'DynamoDB PutItem',
        await cpuPerRequest((i) =>
          bare(
            table.endpoint,
            'POST',
            '/',
            JSON.stringify({ TableName: 'bench', Item: item(i, `bare${round}`) }),
            dynamoHeaders('PutItem'),
          ),
        ),
        await cpuPerRequest((i) =>
          doc.send(new PutCommand({ TableName: 'bench', Item: { pk: `sdk${round}-${i}`, body: BODY } })),
        ),
      ],
      [
        'DynamoDB GetItem',
        await cpuPerRequest((i) =>
          bare(
            table.endpoint,
            'POST',
            '/',
            JSON.stringify({ TableName: 'bench', Key: { pk: { S: `bare${round}-${i}` } } }),
            dynamoHeaders('GetItem'),
          ),
        ),
        await cpuPerRequest((i) =>
          doc.send(new GetCommand({ TableName: 'bench', Key: { pk: `sdk${round}-${i}` } })),
        ),
      ],
    ];
    // The first round warms the code up (modules loaded on first use, JIT) and makes the folders; the
    // second is measured, over new keys.
    await measure();
    round++;
    const rows = await measure();
    console.log(
      `CPU a request (ms), ${REQUESTS} requests each, ${IN_FLIGHT} in flight, stand-in and client on one thread:`,
    );
    console.log(
      `  ${'request'.padEnd(18)} ${'bare HTTP'.padStart(10)} ${'AWS SDK'.padStart(10)} ${'SDK client alone'.padStart(17)}`,
    );
    for (const [name, plain, sdk] of rows)
      console.log(
        `  ${name.padEnd(18)} ${plain.toFixed(3).padStart(10)} ${sdk.toFixed(3).padStart(10)} ${(sdk - plain).toFixed(3).padStart(17)}`,
      );
  } finally {
    await s3rver.close();
    await table.close();
    await rm(dir, { recursive: true, force: true });
  }
}

runMain(main);
