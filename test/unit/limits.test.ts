import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { scratchDir } from '../../functions/adapters/scratch';
import { countWork, LambdaLimitError, limitsRecorder } from '../../local/runtime/limits';

/** The local runtime holds every invocation to its function's limits, as Lambda does, and records it. */
let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'esep-limits-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const limits = { timeoutMs: 200, tmpLimitBytes: 1000 };
/** For the tests that are not about the timeout: a loaded machine may take 200 ms to write a file. */
const roomy = { ...limits, timeoutMs: 60_000 };

test('each invocation has a /tmp of its own, measured, and removed after it', async () => {
  const recorder = limitsRecorder(root);
  const seen: string[] = [];
  const handler = recorder.wrap('report', roomy, async (bytes: number) => {
    const dir = scratchDir();
    seen.push(dir);
    await writeFile(join(dir, 'part'), 'x'.repeat(bytes));
    return bytes;
  });
  expect(await handler(300)).toBe(300);
  expect(await handler(700)).toBe(700);
  expect(new Set(seen).size).toBe(2);
  for (const dir of seen) expect(dir.startsWith(root)).toBe(true);
  expect(await readdir(root)).toEqual([]);
  // Outside an invocation, a handler's scratch folder is the system's.
  expect(scratchDir()).toBe(tmpdir());
  expect(recorder.report({ historyEvents: 12, maxStatePayloadBytes: 345 })).toEqual({
    functions: {
      report: {
        invocations: 2,
        maxDurationMs: expect.any(Number),
        maxWork: { records: 1, requests: 0, bytes: 0 },
        calls: [],
        maxTmpBytes: 700,
        ...roomy,
      },
    },
    historyEvents: 12,
    historyLimit: 25_000,
    maxStatePayloadBytes: 345,
    statePayloadLimitBytes: 256 * 1024,
    // No AWS request was sent.
    requests: { dynamoWriteUnits: 0, dynamoReadUnits: 0, s3Writes: 0, s3Reads: 0 },
  });
});

test('an invocation over its timeout or its ephemeral storage fails, and is still counted', async () => {
  const recorder = limitsRecorder(root);
  const slow = recorder.wrap('verify', limits, () => new Promise((resolve) => setTimeout(resolve, 1000)));
  await expect(slow(undefined)).rejects.toThrow(LambdaLimitError);
  await expect(slow(undefined)).rejects.toThrow('verify timed out after 200 ms');
  // As Step Functions names a Lambda timeout.
  await expect(slow(undefined)).rejects.toMatchObject({ name: 'Sandbox.Timedout' });
  const greedy = recorder.wrap('split', roomy, async () => {
    await writeFile(join(scratchDir(), 'big'), 'x'.repeat(1001));
  });
  await expect(greedy(undefined)).rejects.toThrow('split wrote 1001 bytes to /tmp, over its 1000');
  const { functions } = recorder.report({ historyEvents: 0, maxStatePayloadBytes: 0 });
  expect(functions.verify?.invocations).toBe(3);
  expect(functions.verify?.maxDurationMs).toBeGreaterThanOrEqual(190);
  expect(functions.split).toMatchObject({ invocations: 1, maxTmpBytes: 1001 });
  // A new execution counts afresh.
  recorder.reset();
  expect(recorder.report({ historyEvents: 0, maxStatePayloadBytes: 0 }).functions).toEqual({});
});

test("an invocation's work is counted: the messages it handled, every request its clients sent, their bytes", async () => {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-length': '0', etag: '"x"' });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const client = new S3Client({
      region: 'eu-west-1',
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      forcePathStyle: true,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    });
    countWork(client);
    const put = (body: string) => client.send(new PutObjectCommand({ Bucket: 'b', Key: 'k', Body: body }));
    await put('outside any invocation');
    const recorder = limitsRecorder(root);
    const handler = recorder.wrap('profile', roomy, async (event: { Records: string[] }) => {
      for (const body of event.Records) await put(body);
    });
    await handler({ Records: ['abc', 'defgh'] });
    await handler({ Records: ['x'] });
    const report = recorder.report({ historyEvents: 0, maxStatePayloadBytes: 0 });
    const profile = report.functions.profile;
    expect(profile?.maxWork).toEqual({ records: 2, requests: 2, bytes: 8 });
    // The run's requests: the three PUTs its invocations sent, not the one outside them.
    expect(report.requests).toEqual({ dynamoWriteUnits: 0, dynamoReadUnits: 0, s3Writes: 3, s3Reads: 0 });
    // And which operations it called, for the grants test (scale.test.ts).
    expect(profile?.calls).toEqual(['s3:PutObject']);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
});
