import { ArnFormat, Duration, Lazy, Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { SIZING } from '../../functions/core/pipeline/sizing';
import {
  IDENTITY_STAGES,
  REPORT_STAGES,
  stageStateName,
  type WavePlan,
} from '../../functions/core/pipeline/stages';
import { FOLD_START } from '../../functions/core/pipeline/tallies';

/** Errors worth retrying with backoff: throttling and passing faults of Lambda and the services behind it. */
export const TRANSIENT_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'InternalServerError',
  'InternalError',
  'RequestTimeout',
  'ServiceUnavailable',
  'SlowDown',
  'TimeoutError',
  'TransientError',
];

/** A Lambda invocation or a Task that ran out of time (Step Functions' names for them). */
export const TIMEOUT_ERRORS = ['Sandbox.Timedout', 'States.Timeout'];

/** The functions the state machine invokes, by their folder under functions/. */
export const WORKFLOW_FUNCTIONS = [
  'validate',
  'split',
  'progress',
  'summary',
  'run-status',
  'rollback',
] as const;
export type WorkflowFunction = (typeof WORKFLOW_FUNCTIONS)[number];

export interface MigrationWorkflowProps {
  readonly plan: readonly WavePlan[];
  readonly functions: Record<WorkflowFunction, lambda.IFunction>;
  readonly pollSeconds: number;
}

/** The error of a start refused while another execution runs the export (core/errors RunInProgressError). */
export const RUN_IN_PROGRESS = 'RunInProgressError';

/** How long a run started again by another run waits for the export's run lock: about a day. */
const LOCK_WAIT = { interval: Duration.minutes(5), backoffRate: 1, maxAttempts: 288 } as const;

/** The event that announces a run's end on the default event bus. */
export const RUN_FINISHED = { source: 'esep.migration', detailType: 'Migration Run Finished' } as const;

/** The error of a stage whose missing chunks went to a dead-letter queue. */
export const STAGE_STALLED = 'StageStalled';

/**
 * The one state machine, built from the core's stage plan. Validate the export; the identity stages
 * (index every account, then link what they match); for each selected wave (a Map over the run's waves,
 * one at a time) each stage in order; then the report's stages (its parts and verify's partitions, then
 * the receipts) and the summary. Every stage splits into chunks or parts sent to a queue, then waits for
 * its last chunk to answer its task token; a wait that times out checks the markers and waits again. No
 * invocation's work grows with the export. Transient
 * errors are retried with backoff and jitter; any other error goes to a failure path that records the
 * run's status. Payloads carry ids and counts only.
 */
export class MigrationWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  /**
   * What the state machine's role may start of itself (a run starts the exports it runs again): its own
   * ARN cannot be in its definition or its role's policy (a cycle), and CloudFormation names a state
   * machine `<logical id>-<suffix>`, so the role may start `<logical id>-*`.
   */
  readonly selfStartArn: string = Lazy.string({
    produce: () =>
      Stack.of(this).formatArn({
        service: 'states',
        resource: 'stateMachine',
        resourceName: `${Stack.of(this).getLogicalId(this.stateMachine.node.defaultChild as sfn.CfnStateMachine)}-*`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      }),
  });

  constructor(scope: Construct, id: string, props: MigrationWorkflowProps) {
    super(scope, id);
    const { functions: fns } = props;
    const invoke = (
      name: string,
      fn: lambda.IFunction,
      payload: Record<string, unknown> | undefined,
      /** Where the result goes; none: it is the state's output (ResultPath's default). */
      resultPath: string | undefined,
    ) => {
      const task = new tasks.LambdaInvoke(this, name, {
        lambdaFunction: fn,
        payloadResponseOnly: true,
        // As long as the longest function may run (a shorter function times out first); without it the
        // local runtime would give each Task 60 seconds.
        taskTimeout: sfn.Timeout.duration(Duration.seconds(SIZING.longTaskSeconds)),
        ...(payload ? { payload: sfn.TaskInput.fromObject(payload) } : {}),
        ...(resultPath !== undefined ? { resultPath } : {}),
      });
      task.addRetry({
        errors: TRANSIENT_ERRORS,
        interval: Duration.seconds(2),
        backoffRate: 2,
        maxAttempts: 6,
        jitterStrategy: sfn.JitterType.FULL,
      });
      // Every workflow function only reads or writes by deterministic keys (idempotent), so one that ran
      // out of time (a throttling episode outlasting its SDK retries) is run again, not the run failed.
      task.addRetry({
        errors: TIMEOUT_ERRORS,
        interval: Duration.seconds(5),
        backoffRate: 2,
        maxAttempts: 2,
        jitterStrategy: sfn.JitterType.FULL,
      });
      return task;
    };
    const run = { 'run.$': '$.run' };

    const recordFailure = invoke('Record failure', fns['run-status'], undefined, sfn.JsonPath.DISCARD);
    const failed = new sfn.Fail(this, 'Run failed', {
      errorPath: '$.error.Error',
      causePath: '$.error.Cause',
    });
    recordFailure.next(failed);
    const onError = <T extends sfn.TaskStateBase | sfn.Map>(state: T): T => {
      state.addCatch(recordFailure, { errors: ['States.ALL'], resultPath: '$.error' });
      return state;
    };

    // A start: the export's manifest checked and its run lock taken (the execution's id: a second
    // execution for the same upload is refused); then every listed file checked and cut into pieces, one
    // invocation a file, all at once; then the run opened. A file that fails leaves the start nothing of
    // itself: its pieces deleted, the lock given back (`discard`), then the failure recorded.
    const validating = (name: string) =>
      invoke(name, fns.validate, { 'start.$': '$', 'executionId.$': '$$.Execution.Id' }, '$.opening');
    const validate = onError(validating('Validate export'));
    // A start that another run asked for (PR-7, `$.rerun`) waits for the lock instead: the export may be
    // running now, and its forgotten chunks must still be decided.
    const validateAgain = validating('Validate export run again');
    validateAgain.addRetry({ errors: [RUN_IN_PROGRESS], ...LOCK_WAIT });
    onError(validateAgain);
    const checkFiles = new sfn.Map(this, 'Check each file', {
      itemsPath: '$.opening.files',
      itemSelector: { 'opening.$': '$.opening', 'file.$': '$$.Map.Item.Value' },
      resultPath: '$.checked',
    });
    // Each iteration's output is its file as checked. (No `ResultPath: "$"`, the default spelt out: the
    // local emulator, aws-local-stepfunctions, sets a property named "$" for it.)
    checkFiles.itemProcessor(invoke('Check a file', fns.validate, undefined, undefined));
    checkFiles.addCatch(
      invoke(
        'Discard the start',
        fns.validate,
        { 'opening.$': '$.opening', discard: true },
        sfn.JsonPath.DISCARD,
      ).next(recordFailure),
      { errors: ['States.ALL'], resultPath: '$.error' },
    );
    const open = onError(
      invoke('Open the run', fns.validate, { 'opening.$': '$.opening', 'checked.$': '$.checked' }, '$.run'),
    );
    checkFiles.next(open);

    /**
     * One stage: split it into chunks (or parts), then wait for the stage's last chunk to answer (a task
     * token: the stage ends when its work ends). A wait that times out (a chunk lost, or dead-lettered)
     * checks the markers itself and waits again; a stalled stage (its missing chunks went to a dead-letter
     * queue) goes to `stalled`.
     */
    const stageLoop = (stageId: string, stalled: sfn.IChainable) => {
      const input = { ...run, stage: stageId };
      // A stage's split goes a page at a time (its `next`), each invocation bounded.
      const splitStart = new sfn.Pass(this, stageStateName(stageId, 'split start'), {
        result: sfn.Result.fromObject({ next: 0 }),
        resultPath: '$.split',
      });
      const split = invoke(
        stageStateName(stageId, 'split'),
        fns.split,
        { ...input, 'from.$': '$.split.next' },
        '$.split',
      );
      const moreToSplit = new sfn.Choice(this, stageStateName(stageId, 'more to split?'));
      const start = new sfn.Pass(this, stageStateName(stageId, 'start'), {
        result: sfn.Result.fromObject({ stalledChecks: 0 }),
        resultPath: '$.progress',
      });
      const wait = new tasks.LambdaInvoke(this, stageStateName(stageId, 'wait'), {
        lambdaFunction: fns.progress,
        integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload: sfn.TaskInput.fromObject({ ...input, taskToken: sfn.JsonPath.taskToken }),
        taskTimeout: sfn.Timeout.duration(Duration.seconds(props.pollSeconds)),
        resultPath: '$.progress',
      });
      wait.addRetry({
        errors: TRANSIENT_ERRORS,
        interval: Duration.seconds(2),
        backoffRate: 2,
        maxAttempts: 6,
        jitterStrategy: sfn.JitterType.FULL,
      });
      // Its function ran out of time (only reads, and records a token): run again. The wait itself
      // timing out (States.Timeout) is caught below.
      wait.addRetry({
        errors: ['Sandbox.Timedout'],
        interval: Duration.seconds(5),
        backoffRate: 2,
        maxAttempts: 2,
        jitterStrategy: sfn.JitterType.FULL,
      });
      const progress = invoke(
        stageStateName(stageId, 'progress'),
        fns.progress,
        { ...input, 'stalledChecks.$': '$.progress.stalledChecks' },
        '$.progress',
      );
      // Timed out: no chunk answered within pollSeconds. The check keeps the stalled-check count.
      wait.addCatch(progress, { errors: ['States.Timeout'], resultPath: sfn.JsonPath.DISCARD });
      const done = new sfn.Choice(this, stageStateName(stageId, 'done?'));
      const next = new sfn.Pass(this, stageStateName(stageId, 'complete'));
      splitStart.next(split).next(moreToSplit);
      moreToSplit.when(sfn.Condition.isPresent('$.split.next'), split).otherwise(start);
      start.next(wait).next(done);
      progress.next(done);
      done
        .when(sfn.Condition.booleanEquals('$.progress.done', true), next)
        .when(sfn.Condition.booleanEquals('$.progress.stalled', true), stalled)
        .otherwise(wait);
      return { first: splitStart, last: next, tasks: [split, wait, progress] };
    };

    const chooseWave = new sfn.Choice(this, 'Which wave');
    for (const wave of props.plan) {
      let first: sfn.IChainable | undefined;
      let last: sfn.INextable | undefined;
      for (const stage of wave.stages) {
        const loop = stageLoop(
          stage.id,
          new sfn.Fail(this, stageStateName(stage.id, 'stalled'), {
            error: STAGE_STALLED,
            cause: `chunks of ${stage.id} went to a dead-letter queue; the report names them`,
          }),
        );
        if (last) last.next(loop.first);
        first ??= loop.first;
        last = loop.last;
      }
      if (first) chooseWave.when(sfn.Condition.stringEquals('$.wave', wave.wave), first);
    }
    chooseWave.otherwise(
      new sfn.Fail(this, 'Unknown wave', {
        error: 'UnknownWave',
        cause: 'the run names a wave that the deployed plan does not have',
      }),
    );

    // The report and verify, fanned out like the stages: their parts, then the receipts' partitions
    // (core/pipeline/report-parts); a part in a dead-letter queue fails the run (it has no report).
    /** A stage outside the waves that stalls fails the run, recorded, with what to do. */
    const stalledRun = (name: string, error: string, cause: string) =>
      new sfn.Pass(this, name, { parameters: { Error: error, Cause: cause }, resultPath: '$.error' }).next(
        recordFailure,
      );
    const reportStalled = stalledRun(
      'Report stalled',
      'ReportStalled',
      'parts of the report went to a dead-letter queue: redrive them and run the export again',
    );
    const parts = stageLoop(REPORT_STAGES.parts, reportStalled);
    // The run's identity stages, before its waves (ID-6): index every account, then link what they match.
    const identitiesStalled = stalledRun(
      'Identities stalled',
      'IdentitiesStalled',
      'chunks of accounts went to a dead-letter queue: redrive them and run the export again',
    );
    const [identify, link] = IDENTITY_STAGES.map((stage) => stageLoop(stage.id, identitiesStalled)) as [
      ReturnType<typeof stageLoop>,
      ReturnType<typeof stageLoop>,
    ];
    for (const task of [...identify.tasks, ...link.tasks]) onError(task);
    identify.last.next(link.first);
    const receipts = stageLoop(REPORT_STAGES.receipts, reportStalled);
    for (const task of [...parts.tasks, ...receipts.tasks]) onError(task);
    parts.last.next(receipts.first);
    const startReport = parts.first;

    // The parts' tallies merged a page per invocation (core/pipeline/tallies), then the summary written.
    const foldStart = new sfn.Pass(this, 'Merge tallies start', {
      result: sfn.Result.fromObject(FOLD_START),
      resultPath: '$.fold',
    });
    const fold = onError(
      invoke('Merge tallies', fns.summary, { ...run, 'fold.$': '$.fold', op: 'fold' }, '$.fold'),
    );
    const report = onError(invoke('Write summary', fns.summary, { ...run, 'fold.$': '$.fold' }, '$.report'));
    receipts.last
      .next(foldStart)
      .next(fold)
      .next(
        new sfn.Choice(this, 'More tallies?')
          .when(sfn.Condition.booleanEquals('$.fold.more', true), fold)
          .otherwise(report),
      );
    // The run's end, with its counts, for whoever wants to be told (the default event bus).
    const announce = new tasks.EventBridgePutEvents(this, 'Announce run finished', {
      entries: [
        {
          source: RUN_FINISHED.source,
          detailType: RUN_FINISHED.detailType,
          detail: sfn.TaskInput.fromJsonPathAt('$.report.event'),
        },
      ],
      resultPath: sfn.JsonPath.DISCARD,
    });
    announce.addRetry({
      errors: ['EventBridge.EventBridgeException', 'EventBridge.InternalException', ...TRANSIENT_ERRORS],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 4,
      jitterStrategy: sfn.JitterType.FULL,
    });
    const waves = new sfn.Map(this, 'Each wave in order', {
      itemsPath: '$.run.waves',
      itemSelector: { 'wave.$': '$$.Map.Item.Value', 'run.$': '$.run' },
      maxConcurrency: 1,
      resultPath: sfn.JsonPath.DISCARD,
    });
    waves.itemProcessor(chooseWave);
    // A stalled stage is still verified and reported (the report names what is missing); anything
    // else is a failure.
    waves.addCatch(startReport, { errors: [STAGE_STALLED], resultPath: '$.stalled' });
    onError(waves);
    link.last.next(waves).next(startReport);
    const finished = new sfn.Choice(this, 'Complete?')
      .when(
        sfn.Condition.stringEquals('$.report.status', 'incomplete'),
        new sfn.Fail(this, 'Run incomplete', {
          error: 'RunIncomplete',
          cause: 'chunks went to a dead-letter queue; see the report and redrive them',
        }),
      )
      .when(
        sfn.Condition.stringEquals('$.report.status', 'verification-failed'),
        new sfn.Fail(this, 'Verification failed', {
          error: 'VerificationFailed',
          cause: 'the target did not pass verification; see the report',
        }),
      )
      .otherwise(new sfn.Succeed(this, 'Run complete'));
    // The exports whose orphan records this run's accounts own run again (PR-7, core/pipeline/rerun),
    // each as an execution of this state machine of its own; a start that fails is noted, not the run.
    const startAgain = new tasks.CallAwsService(this, 'Start export again', {
      service: 'sfn',
      action: 'startExecution',
      parameters: {
        StateMachineArn: sfn.JsonPath.stringAt('$$.StateMachine.Id'),
        Input: sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$')),
      },
      iamResources: [this.selfStartArn],
      resultPath: sfn.JsonPath.DISCARD,
    });
    startAgain.addRetry({
      errors: ['States.ALL'],
      interval: Duration.seconds(2),
      backoffRate: 2,
      maxAttempts: 3,
      jitterStrategy: sfn.JitterType.FULL,
    });
    const runAgain = new sfn.Map(this, 'Run exports again', {
      itemsPath: '$.report.rerun',
      maxConcurrency: 1,
      resultPath: sfn.JsonPath.DISCARD,
    });
    runAgain.itemProcessor(startAgain);
    runAgain.addCatch(finished, { errors: ['States.ALL'], resultPath: '$.rerunError' });
    // An announcement that cannot be delivered does not undo the run: it is noted in the output.
    announce.addCatch(runAgain, { errors: ['States.ALL'], resultPath: '$.announceError' });
    report.next(announce).next(runAgain).next(finished);
    open.next(identify.first);

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      definitionBody: sfn.DefinitionBody.fromChainable(
        new sfn.Choice(this, 'Rollback or run?')
          .when(
            sfn.Condition.isPresent('$.rollback'),
            onError(invoke('Roll back wave', fns.rollback, undefined, '$.rolledBack')).next(
              new sfn.Succeed(this, 'Rolled back'),
            ),
          )
          // An erasure (ER-1) is no run: a failure fails the execution, with no run status to record.
          .when(
            sfn.Condition.isPresent('$.forget'),
            invoke('Forget account', fns.rollback, undefined, '$.forgotten').next(
              new sfn.Succeed(this, 'Forgotten'),
            ),
          )
          .when(sfn.Condition.isPresent('$.rerun'), validateAgain.next(checkFiles))
          .otherwise(validate.next(checkFiles)),
      ),
      timeout: Duration.hours(24),
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'Logs', { retention: logs.RetentionDays.THREE_MONTHS }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
    });
  }
}
