import * as z from 'zod';
import { workKeys } from '../keys';
import type { IdentityCounts } from '../report/summary';
import { type ReportCounts, ReportTally } from '../report/tally';
import { emptyVerifyTally, mergeVerify, type RunCounts, type VerifyTally } from '../report/verification';
import type { Kind } from '../rules/kinds';
import { addIdentities } from './identities';
import { foldedAt, foldPage, type PageFold } from './page-fold';
import type { Run, WorkflowDeps } from './run';
import { PARTITIONING } from './sizing';
import { runIdOf } from './stages';

/** What one part counted, as the summary merges it. */
export type PartTally =
  | { readonly op: 'map'; readonly report: ReportCounts; readonly away: RunCounts['away'] }
  | { readonly op: 'receipts'; readonly receipts: number }
  | { readonly op: 'verify'; readonly verify: VerifyTally }
  | { readonly op: 'identify' | 'link'; readonly identities: Partial<IdentityCounts> };

/**
 * What the parts of a run's report counted so far, merged: its size depends on the export's kinds,
 * waves, countries and reasons (and a bounded sample of quarantined records and problems), never on how
 * many parts there were.
 */
export interface RunTotals {
  /** The report's `map` parts merged (decisions.ndjson's parts). */
  readonly parts: number;
  readonly report?: ReportCounts;
  readonly away: RunCounts['away'];
  readonly verify?: VerifyTally;
  readonly receipts: number;
  readonly identities?: IdentityCounts;
}

export const EMPTY_TOTALS: RunTotals = { parts: 0, away: {}, receipts: 0 };

/** Adds one part's tally to the totals, after what they hold (parts merged in their keys' order). */
export function addTally(totals: RunTotals, part: PartTally): RunTotals {
  switch (part.op) {
    case 'map': {
      const report = new ReportTally();
      if (totals.report) report.merge(totals.report);
      report.merge(part.report);
      const away: Partial<Record<Kind, number>> = { ...totals.away };
      for (const [kind, n] of Object.entries(part.away) as [Kind, number][])
        away[kind] = (away[kind] ?? 0) + n;
      return { ...totals, parts: totals.parts + 1, report: report.toJSON(), away };
    }
    case 'verify':
      return { ...totals, verify: mergeVerify(totals.verify ?? emptyVerifyTally(), part.verify) };
    case 'receipts':
      return { ...totals, receipts: totals.receipts + part.receipts };
    case 'identify':
    case 'link':
      return { ...totals, identities: addIdentities(totals.identities ?? {}, part.identities) };
  }
}

/**
 * Where the summary's merge of the parts' tallies stands, carried by the state machine from one
 * invocation to the next: the totals after `step` pages are kept in the working area, `after` is the
 * last tally merged, `more` whether a page may follow.
 */
export const FoldSchema = z.object({
  step: z.number().int().nonnegative(),
  after: z.string().min(1).max(1024).optional(),
  more: z.boolean(),
});
export type Fold = z.infer<typeof FoldSchema>;

export const FOLD_START: Fold = { step: 0, more: true };

/** The summary's fold of the parts' tallies into the run's totals (pipeline/page-fold). */
const totalsFold = (run: Run): PageFold<RunTotals> => ({
  prefix: workKeys.reportTallies(run.scope, runIdOf(run)),
  stepKey: (step) => workKeys.reportTotals(run.scope, runIdOf(run), step),
  what: "the report's totals",
  empty: () => EMPTY_TOTALS,
  parse: (text) => JSON.parse(text) as RunTotals,
  add: (totals, text) => addTally(totals, JSON.parse(text || '{}') as PartTally),
  text: (totals) => JSON.stringify(totals),
  contentType: 'application/json',
});

/** The totals after `step` pages (none before the first). */
export const totalsAt = (run: Run, step: number, deps: Pick<WorkflowDeps, 'objects' | 'exportsBucket'>) =>
  foldedAt(deps, totalsFold(run), step);

/**
 * One step of the summary's merge: the next page of the run's tallies (PARTITIONING.summaryTallies of
 * them, in their keys' order) added to the totals of the step before, kept as the next step's. Every
 * invocation reads one page whatever the number of parts; a step run again writes the same totals.
 */
export async function foldTallies(
  run: Run,
  fold: Fold,
  deps: Pick<WorkflowDeps, 'objects' | 'exportsBucket' | 'partitioning'>,
): Promise<Fold> {
  if (!fold.more) return fold;
  const next = await foldPage(
    deps,
    totalsFold(run),
    fold,
    (deps.partitioning ?? PARTITIONING).summaryTallies,
  );
  return { step: next.step, ...(next.after ? { after: next.after } : {}), more: !next.done };
}
