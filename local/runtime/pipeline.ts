import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { dynamoStore } from '../../functions/adapters/dynamo-store';
import { pendingMessages } from '../../functions/adapters/sqs';
import type { Clients } from '../../functions/adapters/wiring';
import { ENV, STACK_OUTPUTS } from '../../functions/adapters/wiring';
import { setWorkers } from '../../functions/adapters/workers';
import { definitionOf } from '../cloudformation/definition';
import { createLocalResources, type LocalResources } from '../cloudformation/resources';
import { cachedSynth } from '../cloudformation/synth-cache';
import { type LocalServices, startServices } from '../stand-ins/services';
import { localEventBus, PUT_EVENTS } from './event-bus';
import { type DeliveryCounts, mappingsOf, pollQueue } from './event-sources';
import { emptyCounts, type FaultCounts, type FaultPlan, injectFaults } from './faults';
import { handlerModule } from './handlers';
import { countWork, invocationWork, limitsRecorder } from './limits';
import { publishServing, withdrawServing } from './serving';
import { lockState } from './state-lock';
import { type ExecutionOutcome, localStateMachine, type TaskHandler } from './state-machine';
import { awsLimits, enforceAwsLimits, type Throttling } from './throttling';

/**
 * The units per second the local deployment's table is set to take (it has no capacity to run out of),
 * and so its quota, and the partitions of its buckets: the local deployment has no account whose quotas
 * bind. The functions share one set of clients here, so a stage's budget (one worker's share) paces them
 * all: these figures keep that share above what the stand-ins take.
 */
const LOCAL_TABLE_UNITS = 1_000_000;
const LOCAL_BUCKET_PARTITIONS = 1024;
/**
 * The local target and reports are each two buckets (deployed: four, core/bucket-sets): every local run
 * goes through the sets as the deployed one does (a key's bucket, listings merged), at half the listings.
 */
const LOCAL_TARGET_BUCKETS = 2;

/** The CDK context of the local deployment, with a run's own (for example policyFile). */
export const localContext = (context: Record<string, unknown> = {}): Record<string, unknown> => ({
  tableWarmWrites: LOCAL_TABLE_UNITS,
  tableWarmReads: LOCAL_TABLE_UNITS,
  tableQuota: LOCAL_TABLE_UNITS,
  bucketPartitions: LOCAL_BUCKET_PARTITIONS,
  targetBuckets: LOCAL_TARGET_BUCKETS,
  ...context,
});

export interface LocalPipelineOptions {
  readonly stateDir: string;
  /** CDK context for the synth (for example policyFile). */
  readonly context?: Record<string, unknown>;
  /**
   * Milliseconds a stage waits for its last chunk's answer before it checks its markers itself (and of
   * each Wait state): the deployed pollSeconds. A stage ends on the answer; this bounds a lost one.
   */
  readonly waitMs?: number;
  /** Milliseconds between Task retries. */
  readonly retryMs?: number;
  /** Wraps each function's handler (tests inject faults here). */
  readonly wrap?: (functionId: string, handler: TaskHandler) => TaskHandler;
  /** Seconds before a failed SQS message is visible again (the deployed queues use the template's). */
  readonly redeliverySeconds?: number;
  readonly onTask?: (state: string, input: unknown, output: unknown) => void;
  readonly onBatch?: (functionId: string, messages: number, failed: number) => void;
  /** Fail a share of the functions' S3, DynamoDB and SQS calls (the reliability suite). */
  readonly faults?: FaultPlan;
  /** Tells the operator something worth knowing that is not an error (a state folder taken over). */
  readonly notice?: (text: string) => void;
  /** Deliver every SQS message twice, some out of order (the reliability suite). */
  readonly duplicateDelivery?: { readonly seed: number };
  /**
   * Enforce AWS's limits (a new table's, a new bucket's) times this scale in the stand-ins, and budget the
   * workers from the same figures (`run --aws-limits`).
   */
  readonly awsLimits?: number;
}

export interface LocalPipeline {
  /** The state folder it keeps its data in. */
  readonly stateDir: string;
  readonly services: LocalServices;
  readonly resources: LocalResources;
  readonly clients: Clients;
  /** The handler of each function, by logical id, built as on AWS (`makeHandler(depsFrom(...))`). */
  readonly functions: ReadonlyMap<string, TaskHandler>;
  /** The logical id of each function, by handler folder (validate, profile, account-link, ...). */
  readonly functionIds: ReadonlyMap<string, string>;
  /** Each function's environment as the template gives it, by handler folder. */
  readonly environments: ReadonlyMap<string, NodeJS.ProcessEnv>;
  /** The faults injected so far (with `faults`). */
  readonly faultCounts: FaultCounts;
  /** Deliveries of SQS messages so far, and how many of them were duplicates. */
  readonly deliveries: DeliveryCounts;
  /** Each function's invocations measured against Lambda's limits (limits.json). */
  readonly limits: ReturnType<typeof limitsRecorder>;
  /** With `awsLimits`: the scale, and the requests the stand-ins refused as over AWS's limits so far. */
  readonly throttling?: { readonly scale: number; readonly counts: Throttling };
  /** Messages left in the dead-letter queues now. */
  deadLettered(): Promise<number>;
  execute(input: unknown): ReturnType<ReturnType<typeof localStateMachine>['execute']>;
  /**
   * Runs the executions that executions started (a run's exports to run again, PR-7), one at a time as
   * they were started, those they start too, until none is left: their inputs and outcomes.
   */
  runStarted(starting?: (input: unknown) => void): Promise<StartedExecution[]>;
  stop(): Promise<void>;
}

/** An execution that another started (Step Functions' `sfn:startExecution`), once it ran here. */
export interface StartedExecution {
  readonly input: unknown;
  readonly outcome: ExecutionOutcome;
}

/** The Task Resource of Step Functions' SDK integration that starts an execution. */
export const START_EXECUTION = 'arn:aws:states:::aws-sdk:sfn:startExecution';

/**
 * Starts the pipeline on this machine: the stand-ins, the resources of the synthesized templates, every
 * function as an in-process handler with the environment the template gives it, the SQS event sources,
 * and the synthesized state machine.
 */
export async function startLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipeline> {
  await mkdir(options.stateDir, { recursive: true });
  const unlock = await lockState(options.stateDir, options.notice ?? (() => undefined));
  let services: LocalServices | undefined;
  try {
    // The local table (dynalite) and buckets (s3rver) take requests as fast as they can: deployed as a
    // pre-warmed table and pre-partitioned buckets, so that the writers' concurrency is the setting's, not
    // capped to a new on-demand table's 4,000 writes/s, and their budgets do not bind.
    const synth = await cachedSynth(localContext(options.context));
    services = await startServices(options.stateDir);
    const { clients, queueActivity } = services;
    // The functions get clients of their own: faults hit them, not the runner's upload and download.
    const faultCounts = emptyCounts();
    const functionClients = services.newClients();
    for (const client of [functionClients.s3, functionClients.dynamo, functionClients.sqs]) countWork(client);
    if (options.faults) injectFaults(functionClients, options.faults, faultCounts);
    // The invocations share these clients: each is its own worker to the pacing and to the SDK's retry
    // quota, as a container is.
    setWorkers(() => invocationWork.getStore());
    const limitsAt = options.awsLimits === undefined ? undefined : awsLimits(options.awsLimits);
    const throttling = limitsAt
      ? {
          scale: options.awsLimits as number,
          counts: { requests: 0, throttled: 0, waitedMs: 0, deadLettered: 0 },
        }
      : undefined;
    if (limitsAt && throttling)
      enforceAwsLimits([functionClients.s3, functionClients.dynamo], limitsAt, throttling.counts);
    const deliveries = { messages: 0, duplicates: 0, receiveErrors: 0 };
    const resources = await createLocalResources(clients, synth.templates);
    // Read-only commands read the table through this process while it holds the folder (read-state.ts).
    publishServing(options.stateDir, {
      pid: process.pid,
      dynamodb: services.endpoints.dynamodb,
      table: resources.table,
    });
    // Executions live in this process alone: under the state folder's lock, a run lock in the table is
    // one that a stopped process left (kill -9); its run resumes when started again.
    const store = dynamoStore(clients.dynamo, resources.table);
    for (const held of await store.runLocks()) await store.unlockRun(held.exportId, held.executionId);

    // Every invocation is tracked: stop() refuses new ones and lets running ones finish before the
    // stand-ins close (the emulator can leave Map iterations running after an execution has ended).
    let stopped = false;
    let stopping: Promise<void> | undefined;
    let inFlight = 0;
    const tracked =
      (handler: TaskHandler): TaskHandler =>
      async (input) => {
        if (stopped) throw new Error('the local pipeline is stopping');
        inFlight++;
        try {
          return await handler(input);
        } finally {
          inFlight--;
        }
      };
    const limits = limitsRecorder(join(options.stateDir, 'tmp'));
    const functions = new Map<string, TaskHandler>();
    const functionIds = new Map<string, string>();
    const environments = new Map<string, NodeJS.ProcessEnv>();
    for (const fn of synth.functions.values()) {
      const env = Object.fromEntries(
        Object.entries(fn.environment).map(([k, v]) => [k, resources.resolve(v)]),
      );
      // Receipts carry no download links here: a link to a stand-in that stops with the command is useless.
      if (ENV.downloadUrlHours in env) env[ENV.downloadUrlHours] = '0';
      // Under AWS's limits the splits budget the workers from them, as a deployment at them would.
      const capacity = env[ENV.capacity];
      if (limitsAt && capacity !== undefined)
        env[ENV.capacity] = JSON.stringify({ ...JSON.parse(capacity), ...limitsAt });
      const name = fn.handler.split('/')[1] ?? fn.handler;
      // Loaded and built at its first invocation, as a Lambda function's code is at its cold start (it
      // reads its configuration then, failing fast): a command that invokes no function loads none.
      let built: TaskHandler | undefined;
      const cold = () => {
        const mod = handlerModule(fn.handler);
        return mod.makeHandler(mod.depsFrom(functionClients, env));
      };
      const handler = limits.wrap(
        name,
        { timeoutMs: (fn.timeoutSeconds ?? 900) * 1000, tmpLimitBytes: (fn.tmpMb ?? 512) * 1024 * 1024 },
        (input) => {
          built ??= cold();
          return built(input);
        },
      );
      functions.set(fn.logicalId, tracked(options.wrap ? options.wrap(fn.logicalId, handler) : handler));
      functionIds.set(name, fn.logicalId);
      environments.set(name, env);
    }

    const pollers = mappingsOf(synth.templates.pipeline, resources).map((mapping) => {
      const handler = functions.get(mapping.functionId);
      if (!handler) throw new Error(`local runtime: event source for unknown function ${mapping.functionId}`);
      return pollQueue(
        clients.sqs,
        mapping,
        (event) => handler(event) as never,
        (n, failed) => options.onBatch?.(mapping.functionId, n, failed),
        {
          counts: deliveries,
          ...(options.redeliverySeconds === undefined
            ? {}
            : { redeliverySeconds: options.redeliverySeconds }),
          ...(options.duplicateDelivery ? { duplicate: options.duplicateDelivery } : {}),
          activity: queueActivity,
        },
      );
    });
    const bus = localEventBus(options.stateDir);
    const stateMachineArn = resources.outputs.get(STACK_OUTPUTS.stateMachine);
    // Executions that executions started: one execution at a time runs here, so they run after it.
    const started: unknown[] = [];
    const startExecution = async (input: unknown) => {
      const given = (input as { Input?: unknown }).Input;
      started.push(typeof given === 'string' ? JSON.parse(given) : given);
      return { ExecutionArn: `local:execution:${randomUUID()}`, StartDate: new Date().toISOString() };
    };
    // The services, started: what the closures below (the state machine, stop) use.
    const running = services;
    // Made at the first execution: a command that runs none (register, link) does without it.
    let machine: ReturnType<typeof localStateMachine> | undefined;
    const machineOf = () =>
      localStateMachine(
        definitionOf(synth),
        functions,
        {
          waitMs: options.waitMs ?? 1000,
          retryMs: options.retryMs ?? 50,
          onTask: options.onTask,
          taskTokens: running.taskTokens,
          ...(stateMachineArn ? { stateMachineArn } : {}),
        },
        {
          [PUT_EVENTS]: tracked((input) => bus.putEvents(input)),
          [START_EXECUTION]: tracked(startExecution),
        },
      );
    return {
      stateDir: options.stateDir,
      services: running,
      resources,
      clients,
      functions,
      functionIds,
      environments,
      faultCounts,
      deliveries,
      limits,
      ...(throttling ? { throttling } : {}),
      deadLettered: pendingMessages(clients.sqs, [...resources.deadLetters.keys()]),
      execute: (input) => {
        machine ??= machineOf();
        return machine.execute(input);
      },
      async runStarted(starting) {
        const ran: StartedExecution[] = [];
        for (let input = started.shift(); input !== undefined; input = started.shift()) {
          starting?.(input);
          machine ??= machineOf();
          ran.push({ input, outcome: await machine.execute(input) });
        }
        return ran;
      },
      stop() {
        stopping ??= (async () => {
          stopped = true;
          await Promise.all(pollers.map((p) => p.stop()));
          for (let waited = 0; inFlight > 0 && waited < 30_000; waited += 20)
            await new Promise((r) => setTimeout(r, 20));
          withdrawServing(options.stateDir);
          await running.stop();
          await unlock();
        })();
        return stopping;
      },
    };
  } catch (error) {
    withdrawServing(options.stateDir);
    await services?.stop().catch(() => undefined);
    await unlock();
    throw error;
  }
}
