import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import aslValidator from 'asl-validator';
import { SIZING, sdkRetryCeilingSeconds } from '../../functions/core/pipeline/sizing';
import { buildStagePlan, stageStateName } from '../../functions/core/pipeline/stages';
import { FOLD_START } from '../../functions/core/pipeline/tallies';
import { compilePolicy } from '../../functions/core/rules/policy';
import { SETTING_DEFAULTS } from '../../lib/settings';
import {
  definitionOf,
  type TaskState,
  taskFunction,
  taskStates,
  waitsForToken,
} from '../../local/cloudformation/definition';
import { type SynthesizedApp, synthesize } from '../../local/cloudformation/synth';
import { PUT_EVENTS } from '../../local/runtime/event-bus';
import { LambdaLimitError } from '../../local/runtime/limits';
import { START_EXECUTION } from '../../local/runtime/pipeline';
import { localStateMachine } from '../../local/runtime/state-machine';
import { ROOT } from '../helpers/cli';

/** The Tasks that call a service rather than a function: the announcement, and a run's starts again. */
const SERVICE_TASKS = new Set([PUT_EVENTS, START_EXECUTION]);

let synth: SynthesizedApp;
let definition: Record<string, unknown>;
beforeAll(() => {
  synth = synthesize();
  definition = definitionOf(synth);
});

describe('the state machine definition', () => {
  test('is valid ASL (asl-validator, on a copy: it mutates its input)', () => {
    const result = aslValidator(structuredClone(definition));
    expect(result.errors.map((e) => e.message)).toEqual([]);
    expect(result.isValid).toBe(true);
  });

  test('every Task calls a function whose handler module exists in functions/ and exports makeHandler and handler', () => {
    const tasks = taskStates(definition);
    expect(tasks.size).toBeGreaterThan(10);
    for (const [name, task] of tasks) {
      if (SERVICE_TASKS.has(task.Resource)) continue; // EventBridge's and Step Functions', tested below
      const logicalId = taskFunction(task);
      const fn = logicalId ? synth.functions.get(logicalId) : undefined;
      if (!fn) throw new Error(`task "${name}" calls no known function (${task.Resource})`);
      expect(fn.handler).toMatch(/^functions\/[a-z-]+\/handler\.ts$/);
      const file = join(ROOT, fn.handler);
      expect(existsSync(file)).toBe(true);
      const source = readFileSync(file, 'utf8');
      expect(source).toMatch(/export const makeHandler\b/);
      expect(source).toMatch(/export const handler\b/);
    }
  });

  test('is built from the stage plan: a split, then a wait for the last chunk, checked when it times out, for every stage of every wave', () => {
    const tasks = taskStates(definition);
    for (const wave of buildStagePlan(compilePolicy())) {
      for (const stage of wave.stages) {
        expect(tasks.has(stageStateName(stage.id, 'split'))).toBe(true);
        const wait = tasks.get(stageStateName(stage.id, 'wait')) as
          | (TaskState & { TimeoutSeconds?: number; Catch?: { ErrorEquals: string[]; Next: string }[] })
          | undefined;
        // The wait hands its function a task token, and ends when a chunk answers it...
        expect(wait && waitsForToken(wait)).toBe(true);
        expect(wait?.Parameters?.Payload).toMatchObject({ 'taskToken.$': '$$.Task.Token', stage: stage.id });
        // ...or after pollSeconds, when the check reads the markers (a lost answer, a stalled stage).
        expect(wait?.TimeoutSeconds).toBe(SETTING_DEFAULTS.pollSeconds);
        expect(wait?.Catch?.[0]).toMatchObject({
          ErrorEquals: ['States.Timeout'],
          Next: stageStateName(stage.id, 'progress'),
        });
        expect(tasks.has(stageStateName(stage.id, 'progress'))).toBe(true);
      }
    }
    const waves = (
      definition.States as Record<string, { Type: string; MaxConcurrency?: number; ItemsPath?: string }>
    )['Each wave in order'];
    expect(waves).toMatchObject({ Type: 'Map', MaxConcurrency: 1, ItemsPath: '$.run.waves' });
  });

  test('a policy that moves kinds between waves changes the machine on the next synth', () => {
    const moved = synthesize({
      policyFile: join(ROOT, 'test', 'fixtures', 'policy-groups-in-september.json'),
    });
    const names = new Set(taskStates(definitionOf(moved)).keys());
    expect(names).toContain('sept-2022 index split');
    expect(names).not.toContain('nov-2022 ids split');
  });

  test('starts by validating, retries transient errors with backoff, and catches everything else into a recorded failure', () => {
    const states = definition.States as Record<
      string,
      {
        Retry?: { ErrorEquals: string[]; BackoffRate?: number; JitterStrategy?: string }[];
        Catch?: { ErrorEquals: string[]; Next: string }[];
        Choices?: { Variable: string; IsPresent?: boolean; Next: string }[];
        Default?: string;
      }
    >;
    // One definition for runs, rollbacks and erasures: an input with `rollback` withdraws a wave, one
    // with `forget` erases an account (ER-1), any other runs.
    expect(definition.StartAt).toBe('Rollback or run?');
    expect(states['Rollback or run?']).toMatchObject({
      Choices: [
        { Variable: '$.rollback', IsPresent: true, Next: 'Roll back wave' },
        { Variable: '$.forget', IsPresent: true, Next: 'Forget account' },
        { Variable: '$.rerun', IsPresent: true, Next: 'Validate export run again' },
      ],
      Default: 'Validate export',
    });
    // An erasure is no run: its failure fails the execution and records no run status.
    expect(states['Forget account']?.Catch).toBeUndefined();
    for (const name of [
      'Validate export',
      'identities index split',
      'identities link progress',
      'report parts split',
      'report receipts progress',
      'Write summary',
      'Roll back wave',
    ]) {
      expect(states[name]?.Catch).toEqual([
        expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'Record failure' }),
      ]);
    }
    // A stalled stage (chunks dead-lettered) is still verified and reported; anything else is a recorded failure.
    expect(states['Each wave in order']?.Catch).toEqual([
      expect.objectContaining({ ErrorEquals: ['StageStalled'], Next: 'report parts split start' }),
      expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'Record failure' }),
    ]);
    const retry = states['Validate export']?.Retry?.find((r) =>
      r.ErrorEquals.includes('ThrottlingException'),
    );
    expect(retry).toMatchObject({ BackoffRate: 2, JitterStrategy: 'FULL' });
    // Every Task may run as long as the longest function (locally too: the default would be 60 s); a
    // stage's wait, pollSeconds.
    for (const [name, task] of taskStates(definition))
      if (!SERVICE_TASKS.has(task.Resource) && !waitsForToken(task))
        expect([name, (task as { TimeoutSeconds?: number }).TimeoutSeconds]).toEqual([name, 900]);
    expect(retry?.ErrorEquals).not.toContain('ExportRejectedError');
  });

  test('every Lambda Task is run again when it times out (its writes are idempotent), not the run failed', () => {
    for (const [name, task] of taskStates(definition)) {
      if (SERVICE_TASKS.has(task.Resource)) continue;
      const retries = (task as { Retry?: { ErrorEquals: string[]; MaxAttempts?: number }[] }).Retry ?? [];
      const timeout = retries.find((r) => r.ErrorEquals.includes('Sandbox.Timedout'));
      // A stage's wait that times out is caught into its check (above); its function's timeout is retried.
      expect([name, timeout?.ErrorEquals]).toEqual([
        name,
        waitsForToken(task) ? ['Sandbox.Timedout'] : ['Sandbox.Timedout', 'States.Timeout'],
      ]);
      expect(timeout?.MaxAttempts).toBeGreaterThanOrEqual(1);
    }
  });

  test("a progress check that outlasts its timeout once is retried by the definition's own retrier, and the run goes on", async () => {
    const progress = taskStates(definition).get(stageStateName('identities/index', 'progress'));
    if (!progress) throw new Error('no progress state');
    let calls = 0;
    const machine = localStateMachine(
      {
        StartAt: 'Check',
        States: {
          Check: {
            Type: 'Task',
            Resource: 'test:progress',
            Retry: (progress as { Retry?: unknown }).Retry,
            End: true,
          },
        },
      },
      new Map(),
      { waitMs: 0, retryMs: 0 },
      {
        'test:progress': async () => {
          calls++;
          if (calls === 1) throw new LambdaLimitError('progress timed out after 120000 ms', 'timeout');
          return { done: true };
        },
      },
    );
    expect(await machine.execute({})).toMatchObject({ ok: true, output: { done: true } });
    expect(calls).toBe(2);
  });

  test("every function's timeout holds one call's longest run of SDK retries, with headroom", () => {
    // 8 attempts: waits of up to 1, 2, 4, 8, 16, 20 and 20 s (throttling base 500 ms, ceiling 20 s).
    expect(sdkRetryCeilingSeconds()).toBe(71);
    for (const f of synth.functions.values())
      expect([f.handler, f.timeoutSeconds >= SIZING.retryHeadroom * sdkRetryCeilingSeconds()]).toEqual([
        f.handler,
        true,
      ]);
  });
});

describe('the end of a run', () => {
  type State = {
    Type: string;
    Next?: string;
    Resource?: string;
    Parameters?: Record<string, unknown>;
    Choices?: { Variable?: string; BooleanEquals?: boolean; StringEquals?: string; Next: string }[];
    Default?: string;
    Catch?: { ErrorEquals: string[]; Next: string }[];
  };
  const states = () => definition.States as Record<string, State>;

  test('the identity stages before the waves; after them the report and verify fanned out, then the summary', () => {
    const s = states();
    // Validate, then the identity stages (index every account, then link), each a loop over its markers.
    // A start: the manifest and the lock, every listed file checked at once (an iteration each), the run opened.
    expect(s['Validate export']).toMatchObject({
      Parameters: { 'start.$': '$', 'executionId.$': '$$.Execution.Id' },
      ResultPath: '$.opening',
      Next: 'Check each file',
    });
    const checks = s['Check each file'] as State & {
      ItemsPath?: string;
      ItemSelector?: Record<string, string>;
      ResultPath?: string;
      ItemProcessor?: { StartAt: string; States: Record<string, State & { End?: boolean }> };
    };
    expect(checks).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.opening.files',
      ItemSelector: { 'opening.$': '$.opening', 'file.$': '$$.Map.Item.Value' },
      ResultPath: '$.checked',
      Next: 'Open the run',
    });
    const check = checks.ItemProcessor?.States[checks.ItemProcessor.StartAt];
    expect(check).toMatchObject({ Type: 'Task', End: true });
    // Its result is the iteration's output: ResultPath's default, not spelt "$" (which the local emulator
    // applies as a property of that name).
    expect(check).not.toHaveProperty('ResultPath');
    // A file that fails: the start discards its pieces and gives the lock back, then the failure is recorded.
    expect(checks.Catch).toEqual([
      expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'Discard the start' }),
    ]);
    expect(s['Discard the start']).toMatchObject({
      Parameters: { 'opening.$': '$.opening', discard: true },
      Next: 'Record failure',
    });
    expect(s['Open the run']).toMatchObject({
      Parameters: { 'opening.$': '$.opening', 'checked.$': '$.checked' },
      ResultPath: '$.run',
      Next: 'identities index split start',
    });
    expect(s['identities index complete']?.Next).toBe('identities link split start');
    expect(s['identities link complete']?.Next).toBe('Each wave in order');
    expect(s['Each wave in order']?.Next).toBe('report parts split start');
    // The report's stages: its parts and verify's partitions, then the receipts' partitions.
    expect(s['report parts split']?.Parameters).toMatchObject({ 'run.$': '$.run', stage: 'report/parts' });
    // Each stage's split goes a page at a time: from 0, then from each page's `next` while it gives one.
    for (const stage of ['identities index', 'identities link', 'report parts', 'report receipts']) {
      expect(s[`${stage} split start`]).toMatchObject({
        Type: 'Pass',
        Result: { next: 0 },
        ResultPath: '$.split',
        Next: `${stage} split`,
      });
      expect(s[`${stage} split`]?.Parameters).toMatchObject({ 'from.$': '$.split.next' });
      expect(s[`${stage} split`]).toMatchObject({ ResultPath: '$.split', Next: `${stage} more to split?` });
      expect(s[`${stage} more to split?`]).toMatchObject({
        Choices: [
          expect.objectContaining({ Variable: '$.split.next', IsPresent: true, Next: `${stage} split` }),
        ],
        Default: `${stage} start`,
      });
    }
    expect(s['report parts done?']?.Choices).toEqual([
      expect.objectContaining({
        Variable: '$.progress.done',
        BooleanEquals: true,
        Next: 'report parts complete',
      }),
      expect.objectContaining({
        Variable: '$.progress.stalled',
        BooleanEquals: true,
        Next: 'Report stalled',
      }),
    ]);
    expect(s['report parts complete']?.Next).toBe('report receipts split start');
    // Then the parts' tallies merged a page per invocation, as long as a page may follow, then the summary.
    expect(s['report receipts complete']?.Next).toBe('Merge tallies start');
    expect(s['Merge tallies start']).toMatchObject({
      Type: 'Pass',
      Result: FOLD_START,
      ResultPath: '$.fold',
      Next: 'Merge tallies',
    });
    expect(s['Merge tallies']?.Parameters).toEqual({ 'run.$': '$.run', 'fold.$': '$.fold', op: 'fold' });
    expect(s['Merge tallies']).toMatchObject({ ResultPath: '$.fold', Next: 'More tallies?' });
    expect(s['More tallies?']).toMatchObject({
      Choices: [
        expect.objectContaining({ Variable: '$.fold.more', BooleanEquals: true, Next: 'Merge tallies' }),
      ],
      Default: 'Write summary',
    });
    // A part in a dead-letter queue leaves the run without a report: a recorded failure.
    expect(s['Report stalled']?.Next).toBe('Record failure');
    expect(s['Identities stalled']?.Next).toBe('Record failure');
    expect(s['Write summary']?.Parameters).toEqual({ 'run.$': '$.run', 'fold.$': '$.fold' });
  });

  test('the report is announced as "Migration Run Finished" on the default bus, and a failed verification fails the run', () => {
    const s = states();
    const announce = s['Announce run finished'];
    expect(s['Write summary']?.Next).toBe('Announce run finished');
    expect(announce?.Resource).toBe(PUT_EVENTS);
    expect(announce?.Parameters).toEqual({
      Entries: [
        { 'Detail.$': '$.report.event', DetailType: 'Migration Run Finished', Source: 'esep.migration' },
      ],
    });
    // An announcement that cannot be delivered does not undo the run.
    expect(announce?.Next).toBe('Run exports again');
    expect(announce?.Catch).toEqual([
      expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'Run exports again' }),
    ]);
    expect(s['Run exports again']?.Next).toBe('Complete?');
    const outcomes = Object.fromEntries((s['Complete?']?.Choices ?? []).map((c) => [c.StringEquals, c.Next]));
    expect(outcomes).toEqual({ incomplete: 'Run incomplete', 'verification-failed': 'Verification failed' });
    expect(s['Verification failed']).toMatchObject({ Type: 'Fail', Error: 'VerificationFailed' });
  });

  test('the exports a run asks to run again (PR-7) are started as executions of this state machine, which wait for their lock', () => {
    const s = definition.States as Record<string, Record<string, unknown>>;
    const again = s['Run exports again'] as {
      Type: string;
      ItemsPath: string;
      MaxConcurrency: number;
      ItemProcessor: { StartAt: string; States: Record<string, Record<string, unknown>> };
      Catch: { ErrorEquals: string[]; Next: string }[];
    };
    expect(again).toMatchObject({ Type: 'Map', ItemsPath: '$.report.rerun', MaxConcurrency: 1 });
    const start = again.ItemProcessor.States[again.ItemProcessor.StartAt];
    expect(start).toMatchObject({
      Resource: START_EXECUTION,
      Parameters: { 'StateMachineArn.$': '$$.StateMachine.Id', 'Input.$': 'States.JsonToString($)' },
    });
    // A start that cannot be made is noted in the output; the run that asked keeps its outcome.
    expect(again.Catch).toEqual([
      expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'Complete?' }),
    ]);
    // Started so, a run waits for the export's run lock (the export may be running) instead of being refused.
    const validate = s['Validate export run again'] as {
      Retry: { ErrorEquals: string[]; MaxAttempts: number; IntervalSeconds: number }[];
      Next: string;
    };
    const wait = validate.Retry.find((r) => r.ErrorEquals.includes('RunInProgressError'));
    expect((wait?.MaxAttempts ?? 0) * (wait?.IntervalSeconds ?? 0)).toBeGreaterThanOrEqual(24 * 3600);
    expect(validate.Next).toBe('Check each file');
    expect(
      (s['Validate export'] as { Retry: { ErrorEquals: string[] }[] }).Retry.flatMap((r) => r.ErrorEquals),
    ).not.toContain('RunInProgressError');
    // Its role may start this state machine (by the name CloudFormation gives it), and nothing else so.
    type Resource = { Type: string; Properties: Record<string, unknown> };
    const resources = synth.templates.pipeline.Resources as Record<string, Resource>;
    const [machineId, machine] =
      Object.entries(resources).find(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine') ?? [];
    if (!machine) throw new Error('the pipeline template has no state machine');
    const role = (machine.Properties.RoleArn as { 'Fn::GetAtt': string[] })['Fn::GetAtt'][0];
    type Statement = { Action: string | string[]; Resource: unknown };
    const starts = Object.values(resources)
      .filter(
        (r) => r.Type === 'AWS::IAM::Policy' && JSON.stringify(r.Properties.Roles).includes(`"${role}"`),
      )
      .flatMap((r) => (r.Properties.PolicyDocument as { Statement: Statement[] }).Statement)
      .filter((st) => [st.Action].flat().some((a) => a.toLowerCase() === 'states:startexecution'));
    expect(starts).toHaveLength(1);
    expect(JSON.stringify(starts[0]?.Resource)).toContain(`:stateMachine:${machineId}-*`);
  });
});
