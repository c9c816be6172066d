import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scratchDir } from '../../functions/adapters/scratch';
import { LambdaLimitError, limitsRecorder } from '../../local/runtime/limits';

/** The local runtime holds every invocation to its function's limits, as Lambda does, and records it. */
let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'esep-limits-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const limits = { timeoutMs: 200, tmpLimitBytes: 1000 };

test('each invocation has a /tmp of its own, measured, and removed after it', async () => {
  const recorder = limitsRecorder(root);
  const seen: string[] = [];
  const handler = recorder.wrap('report', limits, async (bytes: number) => {
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
      report: { invocations: 2, maxDurationMs: expect.any(Number), maxTmpBytes: 700, ...limits },
    },
    historyEvents: 12,
    historyLimit: 25_000,
    maxStatePayloadBytes: 345,
    statePayloadLimitBytes: 256 * 1024,
  });
});

test('an invocation over its timeout or its ephemeral storage fails, and is still counted', async () => {
  const recorder = limitsRecorder(root);
  const slow = recorder.wrap('verify', limits, () => new Promise((resolve) => setTimeout(resolve, 1000)));
  await expect(slow(undefined)).rejects.toThrow(LambdaLimitError);
  await expect(slow(undefined)).rejects.toThrow('verify timed out after 200 ms');
  // As Step Functions names a Lambda timeout.
  await expect(slow(undefined)).rejects.toMatchObject({ name: 'Sandbox.Timedout' });
  const greedy = recorder.wrap('split', limits, async () => {
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
