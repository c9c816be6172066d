import { textsInOrder } from './results';
import type { WorkflowDeps } from './run';

/**
 * The other side of the report's spools (many parts write a small object for each partition, one
 * partition reads what all parts wrote): a partition joins its parts' objects a page at a time, each step
 * adding the next page to the lines the steps before kept, so that no invocation reads more than a page
 * of objects and the partition's own lines, however many parts there were. A step run again writes the
 * same (its keys and contents depend on the step alone).
 */
export interface JoinState {
  /** Pages joined so far. */
  readonly step: number;
  /** The last spool object joined. */
  readonly after?: string;
}

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

type Objects = Pick<WorkflowDeps, 'objects' | 'exportsBucket'>;

const linesOf = (text: string | undefined) => (text ?? '').split('\n').filter((line) => line !== '');

/** One step: the next `max` objects after `state.after`; the step that finds fewer writes `joinedKey`. */
export async function joinSpool(
  deps: Objects,
  join: SpoolJoin,
  state: JoinState,
  max: number,
): Promise<JoinState & { readonly done: boolean }> {
  const keys = await deps.objects.list(deps.exportsBucket, join.prefix, {
    max,
    ...(state.after ? { startAfter: state.after } : {}),
  });
  const lines =
    state.step === 0 ? [] : linesOf(await deps.objects.getText(deps.exportsBucket, join.stepKey(state.step)));
  for await (const text of textsInOrder(deps.objects, deps.exportsBucket, keys)) lines.push(...linesOf(text));
  if (join.sort) lines.sort();
  const done = keys.length < max;
  const step = state.step + 1;
  await deps.objects.put(
    deps.exportsBucket,
    done ? join.joinedKey : join.stepKey(step),
    lines.length > 0 ? `${lines.join('\n')}\n` : '',
    'application/x-ndjson',
  );
  const after = keys.at(-1) ?? state.after;
  return { step, ...(after ? { after } : {}), done };
}

/** The lines a finished join left; an error when the join never finished. */
export async function joinedLines(deps: Objects, join: SpoolJoin, what: string): Promise<string[]> {
  const text = await deps.objects.getText(deps.exportsBucket, join.joinedKey);
  if (text === undefined) throw new Error(`${what} were never joined`);
  return linesOf(text);
}
