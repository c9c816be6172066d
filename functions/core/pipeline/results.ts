import { workKeys } from '../keys';
import type { DecidedRecord, LineResult } from '../rules/decide';
import type { TargetWrite } from '../rules/targets';
import type { Run, WorkflowDeps } from './run';
import { spansOf } from './spans';
import { buildStagePlan } from './stages';

/**
 * One row of a run's results: a decided record, with the keys it wrote to the target (its document and
 * file). The results are the run's ledger of what it wrote, record by record.
 */
export type ResultRow = DecidedRecord & { readonly targets?: readonly string[] };

export function resultRow(result: LineResult, target: TargetWrite | undefined): ResultRow {
  const { decided } = result;
  return target
    ? { ...decided, targets: [target.documentKey, ...(target.file ? [target.file.key] : [])] }
    : decided;
}

/** The result objects of a run's decide chunks, in the plan's order: waves, stages, kinds, chunks. */
export async function runResultKeys(
  run: Run,
  deps: Pick<WorkflowDeps, 'objects' | 'exportsBucket' | 'policy'>,
  waves: readonly string[] = run.waves,
): Promise<string[]> {
  const keys = await deps.objects.list(deps.exportsBucket, workKeys.resultsPrefix(run.scope));
  const ordered: string[] = [];
  for (const wave of buildStagePlan(deps.policy).filter((w) => waves.includes(w.wave)))
    for (const stage of wave.stages)
      for (const step of stage.steps) {
        if (step.op !== 'decide') continue;
        const prefix = workKeys.stageResultsPrefix(run.scope, stage.id, step.kind);
        for (const key of keys) if (key.startsWith(prefix)) ordered.push(key);
      }
  return ordered;
}

/**
 * The result objects a run's decide chunks write, as its pieces give them (one a decided chunk, in the
 * plan's order: waves, stages, kinds, chunks), without listing them: how many, and the keys of a range
 * of them. A chunk that wrote none (its stage stalled) is read as an absent object.
 */
export function runResultSlots(
  run: Run & Required<Pick<Run, 'pieces'>>,
  policy: WorkflowDeps['policy'],
): { count: number; keys(from: number, to: number): string[] } {
  const steps: { stage: string; kind: string; count: number }[] = [];
  for (const wave of buildStagePlan(policy).filter((w) => run.waves.includes(w.wave)))
    for (const stage of wave.stages)
      for (const step of stage.steps)
        if (step.op === 'decide')
          steps.push({ stage: stage.id, kind: step.kind, count: run.pieces[step.kind]?.pieces ?? 0 });
  return {
    count: steps.reduce((n, s) => n + s.count, 0),
    keys: (from, to) =>
      [...spansOf(steps, from, to)].flatMap(({ segment: { stage, kind }, lo, hi }) =>
        Array.from({ length: hi - lo }, (_, i) => workKeys.result(run.scope, stage, kind, lo + i)),
      ),
  };
}

/** Objects read ahead of the one being yielded. */
const READ_AHEAD = 8;

/**
 * The texts of objects, in the order of their keys (an absent object as ''), the next few read while one
 * is yielded: the run's result objects, a receipts partition's spool, the report's tallies.
 */
export async function* textsInOrder(
  objects: WorkflowDeps['objects'],
  bucket: string,
  keys: Iterable<string>,
): AsyncGenerator<string> {
  const pending: Promise<string | undefined>[] = [];
  const it = keys[Symbol.iterator]();
  const fill = () => {
    while (pending.length < READ_AHEAD) {
      const next = it.next();
      if (next.done) return;
      // A rejected read is awaited (and thrown) in its turn; until then it must not count as unhandled.
      const read = objects.getText(bucket, next.value);
      read.catch(() => undefined);
      pending.push(read);
    }
  };
  fill();
  for (let read = pending.shift(); read; read = pending.shift()) {
    const text = await read;
    fill();
    yield text ?? '';
  }
}

/** The rows of result objects, in order. */
export async function* resultRows(
  deps: Pick<WorkflowDeps, 'objects' | 'exportsBucket'>,
  keys: Iterable<string>,
): AsyncGenerator<ResultRow> {
  for await (const text of textsInOrder(deps.objects, deps.exportsBucket, keys))
    for (const row of text.split('\n')) if (row !== '') yield JSON.parse(row) as ResultRow;
}

/** The results of a run's decide chunks, in the plan's order: waves, stages, kinds, chunks. */
export async function* runResults(
  run: Run,
  deps: WorkflowDeps,
  waves: readonly string[] = run.waves,
): AsyncGenerator<ResultRow> {
  yield* resultRows(deps, await runResultKeys(run, deps, waves));
}
