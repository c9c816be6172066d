import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { invocationTmp } from '../../functions/adapters/scratch';
import { CEILINGS } from '../../functions/core/ceilings';
import type { ExecutionStats } from './state-machine';

/**
 * Lambda's limits as the local runtime enforces them: an invocation over either fails, as on AWS. A
 * timeout carries the error name Step Functions sees for one (`Sandbox.Timedout`).
 */
export class LambdaLimitError extends Error {
  constructor(message: string, limit: 'timeout' | 'tmp', options?: ErrorOptions) {
    super(message, options);
    this.name = limit === 'timeout' ? 'Sandbox.Timedout' : 'LambdaLimitError';
  }
}

/**
 * The work of one invocation, counted rather than timed (invocations that share this process slow each
 * other down, so a duration here is not a cost): the messages or Task inputs it handled (`records`: a
 * chunk message holds at most `chunkLines` lines), the AWS requests its clients sent (every attempt),
 * and the bytes those requests and their answers carried.
 */
export interface InvocationWork {
  records: number;
  requests: number;
  bytes: number;
}
/**
 * What a run asked of the services, counted from the requests its functions' clients sent (every
 * attempt): DynamoDB request units (an item written or read, a query's page), S3 writes (PUT, COPY,
 * DELETE) and reads (GET, HEAD). The AWS estimate's `workload`, measured.
 */
export interface RequestCounts {
  dynamoWriteUnits: number;
  dynamoReadUnits: number;
  s3Writes: number;
  s3Reads: number;
}

/** The work of the invocation running (each invocation of the local runtime has its own), and its calls. */
export const invocationWork = new AsyncLocalStorage<
  InvocationWork & { calls: Set<string>; counts: RequestCounts }
>();

const S3_WRITES = new Set(['s3:PutObject', 's3:CopyObject', 's3:DeleteObject']);
const S3_READS = new Set(['s3:GetObject', 's3:HeadObject']);
const DYNAMO_WRITES = new Set(['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:UpdateItem']);
const DYNAMO_READS = new Set(['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan']);

/**
 * What one request asks of the table or a bucket: which of the four measures, and how many units (the
 * items of a batch); undefined for a request to neither (SQS, a listing).
 */
export function unitsOf(
  operation: string,
  input: unknown,
): { measure: keyof RequestCounts; units: number; bucket?: string } | undefined {
  const items = (requests: unknown, field?: 'Keys') =>
    Object.values((requests ?? {}) as Record<string, unknown>).reduce<number>((n, v) => {
      const list = field ? (v as { Keys?: unknown[] }).Keys : v;
      return n + (Array.isArray(list) ? list.length : 0);
    }, 0);
  const i = input as { RequestItems?: unknown; Bucket?: string } | undefined;
  const bucket = i?.Bucket === undefined ? {} : { bucket: i.Bucket };
  if (S3_WRITES.has(operation)) return { measure: 's3Writes', units: 1, ...bucket };
  if (S3_READS.has(operation)) return { measure: 's3Reads', units: 1, ...bucket };
  if (DYNAMO_WRITES.has(operation)) return { measure: 'dynamoWriteUnits', units: 1 };
  if (DYNAMO_READS.has(operation)) return { measure: 'dynamoReadUnits', units: 1 };
  if (operation === 'dynamodb:BatchWriteItem')
    return { measure: 'dynamoWriteUnits', units: items(i?.RequestItems) };
  if (operation === 'dynamodb:BatchGetItem')
    return { measure: 'dynamoReadUnits', units: items(i?.RequestItems, 'Keys') };
  return undefined;
}

export const noRequests = (): RequestCounts => ({
  dynamoWriteUnits: 0,
  dynamoReadUnits: 0,
  s3Writes: 0,
  s3Reads: 0,
});

/** The operation a request calls, as `<service>:<operation>` (DynamoDB's document commands by their own). */
const DOCUMENT_COMMANDS: Record<string, string> = {
  BatchWrite: 'BatchWriteItem',
  BatchGet: 'BatchGetItem',
  Get: 'GetItem',
  Put: 'PutItem',
  Delete: 'DeleteItem',
  Update: 'UpdateItem',
};
export const operationOf = (context: { clientName?: string; commandName?: string }) => {
  const service = (context.clientName ?? '').replace(/(DocumentClient|Client)$/, '').toLowerCase();
  const command = (context.commandName ?? '').replace(/Command$/, '');
  return `${service}:${(service === 'dynamodb' && DOCUMENT_COMMANDS[command]) || command}`;
};

/**
 * Counts every request a function's client sends against the invocation that sent it: an SDK
 * middleware at the end of the stack, so each attempt of a retried call counts.
 */
export function countWork(client: { middlewareStack: { add: (...args: never[]) => void } }): void {
  const size = (body: unknown) =>
    typeof body === 'string' || body instanceof Uint8Array ? Buffer.byteLength(body as string) : 0;
  const middleware =
    (handler: (args: unknown) => Promise<unknown>, context: { clientName?: string; commandName?: string }) =>
    async (args: unknown): Promise<unknown> => {
      const work = invocationWork.getStore();
      const operation = operationOf(context);
      work?.calls.add(operation);
      const asked = unitsOf(operation, (args as { input?: unknown }).input);
      if (work && asked) work.counts[asked.measure] += asked.units;
      const result = await handler(args);
      if (work) {
        const { request } = args as { request?: { body?: unknown } };
        const { response } = result as { response?: { headers?: Record<string, string> } };
        work.requests++;
        work.bytes += size(request?.body) + Number(response?.headers?.['content-length'] ?? 0);
      }
      return result;
    };
  client.middlewareStack.add(middleware as never, { step: 'deserialize', name: 'countWork' } as never);
}

export interface FunctionLimits {
  invocations: number;
  maxDurationMs: number;
  /** The heaviest invocation's work, each measure its own most. */
  maxWork: InvocationWork;
  /** Every AWS operation its invocations called, `<service>:<operation>`, sorted. */
  calls: string[];
  timeoutMs: number;
  maxTmpBytes: number;
  tmpLimitBytes: number;
}

/** limits.json (outputs.md): each function's heaviest invocation against its AWS limits. */
export interface LimitsReport {
  functions: Record<string, FunctionLimits>;
  historyEvents: number;
  historyLimit: number;
  maxStatePayloadBytes: number;
  statePayloadLimitBytes: number;
  /** What the run's functions asked of the services, counted request by request. */
  requests: RequestCounts;
}

/** Step Functions' quota, as the AWS model holds a run to it. */
export const HISTORY_LIMIT = CEILINGS.historyEvents;
export const STATE_PAYLOAD_LIMIT = 256 * 1024;

async function bytesIn(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => []))
    if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).size;
  return total;
}

/**
 * Measures every invocation of the local runtime: its duration and its own /tmp (a folder per
 * invocation, as a fresh Lambda sandbox has), failing one that outlasts its function's timeout or fills
 * more than its ephemeral storage.
 */
export function limitsRecorder(tmpRoot: string) {
  const functions: Record<string, FunctionLimits> = Object.create(null);
  let requests = noRequests();
  let serial = 0;
  return {
    wrap<I, O>(
      name: string,
      limits: { timeoutMs: number; tmpLimitBytes: number },
      handler: (input: I) => Promise<O>,
    ): (input: I) => Promise<O> {
      return async (input) => {
        functions[name] ??= {
          invocations: 0,
          maxDurationMs: 0,
          maxWork: { records: 0, requests: 0, bytes: 0 },
          calls: [],
          maxTmpBytes: 0,
          ...limits,
        };
        const f = functions[name];
        const dir = join(tmpRoot, `${name}-${++serial}`);
        await mkdir(dir, { recursive: true });
        const records = (input as { Records?: unknown[] } | undefined)?.Records;
        const work = {
          records: Array.isArray(records) ? records.length : 1,
          requests: 0,
          bytes: 0,
          calls: new Set<string>(),
          counts: requests,
        };
        const started = performance.now();
        let timer: NodeJS.Timeout | undefined;
        try {
          const timeout = new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new LambdaLimitError(`${name} timed out after ${limits.timeoutMs} ms`, 'timeout')),
              limits.timeoutMs,
            );
          });
          const output = await Promise.race([
            invocationWork.run(work, () => invocationTmp.run(dir, () => handler(input))),
            timeout,
          ]);
          const used = await bytesIn(dir);
          f.maxTmpBytes = Math.max(f.maxTmpBytes, used);
          if (used > limits.tmpLimitBytes)
            throw new LambdaLimitError(
              `${name} wrote ${used} bytes to /tmp, over its ${limits.tmpLimitBytes}`,
              'tmp',
            );
          return output;
        } finally {
          clearTimeout(timer);
          f.invocations++;
          f.maxDurationMs = Math.max(f.maxDurationMs, Math.round(performance.now() - started));
          for (const k of ['records', 'requests', 'bytes'] as const)
            f.maxWork[k] = Math.max(f.maxWork[k], work[k]);
          for (const call of work.calls) if (!f.calls.includes(call)) f.calls.push(call);
          await rm(dir, { recursive: true, force: true });
        }
      };
    },
    report(execution: ExecutionStats): LimitsReport {
      return {
        functions: Object.fromEntries(
          Object.entries(functions).map(([name, f]) => [name, { ...f, calls: [...f.calls].sort() }]),
        ),
        historyEvents: execution.historyEvents,
        historyLimit: HISTORY_LIMIT,
        maxStatePayloadBytes: execution.maxStatePayloadBytes,
        statePayloadLimitBytes: STATE_PAYLOAD_LIMIT,
        requests: { ...requests },
      };
    },
    /** Starts counting afresh (one report per execution). */
    reset() {
      for (const key of Object.keys(functions)) delete functions[key];
      requests = noRequests();
    },
  };
}
