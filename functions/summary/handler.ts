import { logger } from '../adapters/observability';
import { lambdaEntry, partDepsFrom } from '../adapters/wiring';
import { reportPrefix } from '../core/keys';
import { type PartDeps, summarise } from '../core/pipeline/report-parts';
import { type RerunStart, rerunStarts } from '../core/pipeline/rerun';
import type { Run } from '../core/pipeline/run';
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
 * The run's end: summary.json and report.html from what the report's parts counted, the verification's
 * verdict, the run's status; answers the `Migration Run Finished` event's detail.
 */
export const makeHandler =
  (deps: PartDeps) =>
  async (event: { run: Run }): Promise<ReportOutput> => {
    const { run } = event;
    const { summary, receipts } = await summarise(run, deps);
    const prefix = reportPrefix(run);
    const records = decisionsIn(summary.counts);
    logger.info('report written', { exportId: run.exportId, status: summary.status, records, receipts });
    const finished = runFinished(summary, { bucket: deps.reportsBucket, prefix });
    const rerun = await rerunStarts(summary.identities?.rerun ?? [], deps);
    return { status: summary.status, records, receipts, prefix, event: finished, rerun };
  };

export const depsFrom = partDepsFrom;
export const handler = lambdaEntry(makeHandler, depsFrom);
