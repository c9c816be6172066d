import { UnknownWorkflowError } from '../errors';

/**
 * State transitions (what Step Functions bills, and what its 25,000-event history counts) read from the
 * synthesized state machine itself: the definition is walked as an execution would go through it, so a
 * change to the workflow changes the estimate without anyone re-describing it here. What the functions
 * answer comes from the run's shape: how many waits each stage takes (the waves' and the report's): a
 * stage's wait for its last chunk times out every pollSeconds until the stage is done, and each time out
 * is checked.
 */

/** The state machine's definition (Amazon States Language, JSONPath). */
export interface AslDefinition {
  readonly StartAt: string;
  readonly States: Readonly<Record<string, AslState>>;
}

interface AslState {
  readonly Type: string;
  readonly Resource?: string;
  readonly Catch?: readonly { readonly ErrorEquals: readonly string[]; readonly Next: string }[];
  readonly Next?: string;
  readonly End?: boolean;
  readonly Default?: string;
  readonly Choices?: readonly ChoiceRule[];
  readonly ResultPath?: string | null;
  readonly ItemsPath?: string;
  readonly ItemProcessor?: AslDefinition;
  readonly Iterator?: AslDefinition;
}

interface ChoiceRule {
  readonly Variable?: string;
  readonly BooleanEquals?: boolean;
  readonly StringEquals?: string;
  readonly IsPresent?: boolean;
  readonly And?: readonly ChoiceRule[];
  readonly Or?: readonly ChoiceRule[];
  readonly Not?: ChoiceRule;
  readonly Next?: string;
}

/**
 * How a run goes: the waves in order, the waits of each stage and of the report's stages (the last is
 * answered by the stage's last chunk, each before it timed out).
 */
export interface RunShape {
  /** Each wave's stages: their waits, and their splits' pages (one each when absent). */
  readonly waves: readonly {
    readonly wave: string;
    readonly stagePolls: readonly number[];
    readonly stageSplits?: readonly number[];
  }[];
  readonly reportPolls: readonly number[];
  /** Waits of the identity stages (before the waves); one each when absent. */
  readonly identityPolls?: readonly number[];
  /** The export's listed files, each checked by an iteration of the start's Map; one when absent. */
  readonly files?: number;
  /** Pages of the identity stages' splits, and of the report's; one each when absent. */
  readonly identitySplits?: readonly number[];
  readonly reportSplits?: readonly number[];
  /** Invocations that merge the parts' tallies before the summary is written; one when absent. */
  readonly summaryFolds?: number;
}

/** A Task that invokes a function and waits for its task token (in any partition). */
const WAITS_FOR_TOKEN = /^arn:[a-z-]+:states:::lambda:invoke\.waitForTaskToken$/;

/** A bound on the states one walk may enter: far above any real run, it stops a definition that loops. */
const MAX_STEPS = 10_000_000;

/**
 * The transitions of a successful run of this shape, and the events of its execution history (which
 * Step Functions caps at 25,000): each state entered and exited two, a Task three more (scheduled,
 * started, succeeded), a Map two more and two per iteration, the execution's start and end. Each state
 * entered is one transition; each iteration of a Map counts one more (as the estimate has always
 * modelled it).
 */
export function countTransitions(definition: AslDefinition, shape: RunShape): number {
  return walkRun(definition, shape).transitions;
}

export function walkRun(
  definition: AslDefinition,
  shape: RunShape,
): { transitions: number; historyEvents: number } {
  let steps = 0;
  let history = 2;
  // Outside the waves' Map: the identity stages, then the report's, in the definition's order.
  const outside = [...(shape.identityPolls ?? [1, 1]), ...shape.reportPolls];
  const outsideSplits = [
    ...(shape.identitySplits ?? [1, 1]),
    ...(shape.reportSplits ?? shape.reportPolls.map(() => 1)),
  ];
  const walk = (machine: AslDefinition, wave?: RunShape['waves'][number]): number => {
    let stage = -1;
    let polls = 0;
    let pages = 0;
    let folds = 0;
    const value = (variable: string): unknown => {
      switch (variable) {
        case '$.wave':
          return wave?.wave;
        case '$.progress.done':
          return polls >= ((wave ? wave.stagePolls[stage] : outside[stage]) ?? 1);
        case '$.progress.stalled':
          return false;
        case '$.split.next': {
          // Asked after each page of the next stage's split (its progress loop has not started yet).
          const all = (wave ? wave.stageSplits?.[stage + 1] : outsideSplits[stage + 1]) ?? 1;
          return ++pages < all ? pages : undefined;
        }
        case '$.fold.more':
          return ++folds < (shape.summaryFolds ?? 1);
        case '$.report.status':
          return 'completed';
        case '$.rollback':
        case '$.forget':
        case '$.rerun':
          return undefined; // a run started by an upload, not a rollback, an erasure or a run again
        default:
          throw new UnknownWorkflowError(`the estimate does not know the value of ${variable}`);
      }
    };
    const holds = (rule: ChoiceRule): boolean => {
      if (rule.And) return rule.And.every(holds);
      if (rule.Or) return rule.Or.some(holds);
      if (rule.Not) return !holds(rule.Not);
      const v = value(rule.Variable ?? '');
      if (rule.BooleanEquals !== undefined) return v === rule.BooleanEquals;
      if (rule.StringEquals !== undefined) return v === rule.StringEquals;
      if (rule.IsPresent !== undefined) return (v !== undefined) === rule.IsPresent;
      throw new UnknownWorkflowError(`the estimate does not know the condition ${JSON.stringify(rule)}`);
    };
    let count = 0;
    let name: string | undefined = machine.StartAt;
    while (name !== undefined) {
      if (++steps > MAX_STEPS) throw new UnknownWorkflowError('the state machine does not end for this run');
      const state: AslState | undefined = machine.States[name];
      if (!state) throw new UnknownWorkflowError(`the definition has no state "${name}"`);
      count++;
      history += state.Type === 'Task' ? 5 : state.Type === 'Map' ? 4 : 2;
      switch (state.Type) {
        case 'Choice': {
          name = state.Choices?.find(holds)?.Next ?? state.Default;
          continue;
        }
        case 'Map': {
          const inner = state.ItemProcessor ?? state.Iterator;
          // The exports a run starts again (PR-7): none in the model (each is a run of its own).
          if (state.ItemsPath === '$.report.rerun') break;
          // A start checks every listed file, one iteration each.
          if (inner && state.ItemsPath === '$.opening.files') {
            for (let i = 0; i < (shape.files ?? 1); i++) {
              history += 2;
              count += 1 + walk(inner);
            }
            break;
          }
          if (!inner || state.ItemsPath !== '$.run.waves')
            throw new UnknownWorkflowError(`the estimate does not know the Map "${name}"`);
          for (const w of shape.waves) {
            history += 2;
            count += 1 + walk(inner, w);
          }
          break;
        }
        case 'Pass':
          // A stage starts its split, then its progress loop, afresh.
          if (state.ResultPath === '$.split') pages = 0;
          if (state.ResultPath === '$.progress') {
            stage++;
            polls = 0;
          }
          break;
        case 'Task':
          // A stage's wait: answered by its last chunk, or timed out into its check (which ends no stage).
          if (WAITS_FOR_TOKEN.test(state.Resource ?? '')) {
            polls++;
            const timedOut = state.Catch?.find((c) => c.ErrorEquals.includes('States.Timeout'));
            if (!value('$.progress.done')) {
              if (!timedOut) throw new UnknownWorkflowError(`the wait "${name}" has no time-out to take`);
              name = timedOut.Next;
              continue;
            }
          }
          break;
        case 'Wait':
          break;
        case 'Succeed':
        case 'Fail':
          return count;
        default:
          throw new UnknownWorkflowError(`the estimate does not know the state type ${state.Type}`);
      }
      name = state.End ? undefined : state.Next;
    }
    return count;
  };
  const transitions = walk(definition);
  return { transitions, historyEvents: history };
}
