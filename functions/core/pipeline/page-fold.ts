import { textsInOrder } from './results';
import type { WorkflowDeps } from './run';

/**
 * A fan-in of bounded steps: the objects under a prefix (one a report part, however many parts there were)
 * folded a page per invocation, each step adding the next page to what the step before kept, so that no
 * invocation reads more than a page of objects and what was folded so far. A step run again writes the
 * same (its keys and contents depend on the step alone). The summary folds the parts' tallies into the
 * run's totals (pipeline/tallies); a receipts or verify partition joins the lines its parts spooled for it.
 */
export interface JoinState {
  /** Pages folded so far. */
  readonly step: number;
  /** The last object folded. */
  readonly after?: string;
}

export interface PageFold<A> {
  /** Where the objects to fold are, in key order. */
  readonly prefix: string;
  /** Where step `n` keeps what it folded. */
  readonly stepKey: (step: number) => string;
  /** Where the last step puts it instead, when its reader looks there. */
  readonly finalKey?: string;
  /** What is folded, as a missing step names it. */
  readonly what: string;
  readonly empty: () => A;
  readonly parse: (text: string) => A;
  readonly add: (folded: A, text: string) => A;
  readonly text: (folded: A) => string;
  readonly contentType: string;
}

type Objects = Pick<WorkflowDeps, 'objects' | 'exportsBucket'>;

/** What the first `step` pages folded (nothing before the first); an error when that step was never kept. */
export async function foldedAt<A>(deps: Objects, fold: PageFold<A>, step: number): Promise<A> {
  if (step === 0) return fold.empty();
  const key = fold.stepKey(step);
  const text = await deps.objects.getText(deps.exportsBucket, key);
  if (text === undefined) throw new Error(`${fold.what} of step ${step} are missing (${key})`);
  return fold.parse(text);
}

/**
 * One step: the next `max` objects after `state.after`; the step that finds fewer is the last (`done`).
 * Also returns what it folded (as it put it), for a last step that goes on to use it rather than read it
 * back; not part of the state a message carries.
 */
export async function foldPage<A>(
  deps: Objects,
  fold: PageFold<A>,
  state: JoinState,
  max: number,
): Promise<JoinState & { readonly done: boolean; readonly folded: A }> {
  const keys = await deps.objects.list(deps.exportsBucket, fold.prefix, {
    max,
    ...(state.after ? { startAfter: state.after } : {}),
  });
  let folded: A = await foldedAt(deps, fold, state.step);
  for await (const text of textsInOrder(deps.objects, deps.exportsBucket, keys))
    folded = fold.add(folded, text);
  const done = keys.length < max;
  const step = state.step + 1;
  await deps.objects.put(
    deps.exportsBucket,
    done && fold.finalKey ? fold.finalKey : fold.stepKey(step),
    fold.text(folded),
    fold.contentType,
  );
  const after = keys.at(-1) ?? state.after;
  return { step, ...(after ? { after } : {}), done, folded };
}

/** A partition's join of the lines its parts spooled for it. */
export interface SpoolJoin {
  /** Where the parts' objects for this partition are. */
  readonly prefix: string;
  /** Where step `n` keeps the lines joined so far. */
  readonly stepKey: (step: number) => string;
  /** Where the last step puts the partition's lines, for what reads them next. */
  readonly joinedKey: string;
  /** Lines in their order (verify looks them up by key), or as the parts' order gave them (receipts). */
  readonly sort: boolean;
}

const linesOf = (text: string | undefined) => (text ?? '').split('\n').filter((line) => line !== '');

const linesFold = (join: SpoolJoin): PageFold<string[]> => ({
  prefix: join.prefix,
  stepKey: join.stepKey,
  finalKey: join.joinedKey,
  what: 'the joined lines',
  empty: () => [],
  parse: linesOf,
  add: (lines, text) => {
    lines.push(...linesOf(text));
    return lines;
  },
  text: (lines) => {
    if (join.sort) lines.sort();
    return lines.length > 0 ? `${lines.join('\n')}\n` : '';
  },
  contentType: 'application/x-ndjson',
});

/** One step of a partition's join: the next `max` spool objects; the step that finds fewer writes `joinedKey`. */
export const joinSpool = (deps: Objects, join: SpoolJoin, state: JoinState, max: number) =>
  foldPage(deps, linesFold(join), state, max);

/**
 * The lines a finished join left (`known`: as the step that finished it kept them); an error when the
 * join never finished.
 */
export async function joinedLines(
  deps: Objects,
  join: SpoolJoin,
  what: string,
  known?: readonly string[],
): Promise<readonly string[]> {
  if (known) return known;
  const text = await deps.objects.getText(deps.exportsBucket, join.joinedKey);
  if (text === undefined) throw new Error(`${what} were never joined`);
  return linesOf(text);
}
