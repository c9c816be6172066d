import { logger } from '../adapters/observability';
import { lambdaEntry, partDepsFrom } from '../adapters/wiring';
import { reportPrefix } from '../core/keys';
import { type PartDeps, summarise } from '../core/pipeline/report-parts';
import { type RerunStart, rerunStarts } from '../core/pipeline/rerun';
import type { Run } from '../core/pipeline/run';
import { FOLD_START, type Fold, FoldSchema, foldTallies } from '../core/pipeline/tallies';
import { type RunFinished, runFinished } from '../core/report/run-finished';
import { decisionsIn } from '../core/report/summary';

export interface ReportOutput {
  readonly status: string;
  readonly records: number;
  readonly receipts: number;
  readonly prefix: string;
  readonly event: RunFinished;
  /** The exports to run again, each run of them that stands (PR-7 across exports): started after this run. */
  readonly rerun: RerunStart[];
}

/**
 * The run's end, in two steps the state machine runs: `fold` merges the next page of what the report's
 * parts counted into the run's totals (a loop, while `more`); then summary.json and report.html from the
 * totals, the verification's verdict, the run's status; answers the `Migration Run Finished` event's
 * detail.
 */
export const makeHandler =
  (deps: PartDeps) =>
  async (event: { run: Run; fold?: Fold; op?: 'fold' }): Promise<ReportOutput | Fold> => {
    const { run } = event;
    const fold = event.fold === undefined ? FOLD_START : FoldSchema.parse(event.fold);
    if (event.op === 'fold') {
      const next = await foldTallies(run, fold, deps);
      logger.info('tallies merged', { exportId: run.exportId, step: next.step, more: next.more });
      return next;
    }
    const { summary, receipts } = await summarise(run, deps, undefined, fold);
    const prefix = reportPrefix(run);
    const records = decisionsIn(summary.counts);
    logger.info('report written', { exportId: run.exportId, status: summary.status, records, receipts });
    const finished = runFinished(summary, { bucket: deps.reportsBucket, prefix });
    const rerun = await rerunStarts(summary.identities?.rerun ?? [], deps);
    return { status: summary.status, records, receipts, prefix, event: finished, rerun };
  };

export const depsFrom = partDepsFrom;
export const handler = lambdaEntry(makeHandler, depsFrom);
