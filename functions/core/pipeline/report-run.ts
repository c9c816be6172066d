import { reportPrefix } from '../keys';
import type { ReportSink } from '../ports';
import {
  checkConservation,
  decisionTotals,
  type IdentityCounts,
  type Summary,
  Tally,
  type Verification,
} from '../report/summary';
import type { Kind } from '../rules/kinds';
import { readManifest } from '../rules/manifest';
import { missingChunks } from './progress';
import { runResults } from './results';
import { type Run, recordRunStatus, type WorkflowDeps } from './run';
import { buildStagePlan } from './stages';

/**
 * Builds the report from the run's results; conservation checked against the manifest. A failed
 * verification of the target shows in the status (after `incomplete`, which explains it).
 */
export async function reportRun(
  run: Run,
  deps: WorkflowDeps,
  sink: ReportSink,
  verification?: Verification,
  identities?: IdentityCounts,
): Promise<{ summary: Summary; receipts: number }> {
  const source = deps.source(run.exportId);
  const { files } = await readManifest(source);
  const waves = buildStagePlan(deps.policy).filter((w) => run.waves.includes(w.wave));
  const tally = new Tally(waves.flatMap((w) => w.kinds));
  for await (const record of runResults(run, deps)) {
    tally.add(record);
    await sink.add(record);
  }
  const expected = new Map<Kind, number>(
    waves.flatMap((w) => w.kinds.map((k) => [k, files.get(k)?.records ?? 0] as [Kind, number])),
  );
  // A run whose chunks went to a dead-letter queue is reported as incomplete, naming them; an
  // otherwise finished run must account for every line.
  const missing = await missingChunks(run, deps);
  if (missing.length === 0) checkConservation(tally.counts, expected);
  const summary: Summary = {
    ...tally.summary(run.exportId, [...run.waves], new Date(run.startedAt), deps.now?.() ?? new Date()),
    ...(verification && !verification.passed ? { status: 'verification-failed' as const } : {}),
    ...(missing.length > 0 ? { status: 'incomplete' as const, missing } : {}),
    ...(verification ? { verification } : {}),
    ...(identities ? { identities } : {}),
  };
  const receipts = await sink.finish(summary);
  await recordRunStatus(deps.store, run.exportId, {
    scope: run.scope,
    waves: run.waves,
    state: summary.status,
    at: summary.finishedAt,
    startedAt: run.startedAt,
    counts: decisionTotals(summary.counts),
    verified: verification ? verification.passed : null,
    reportPrefix: reportPrefix(run),
  });
  // The run has ended (whatever its status): the export may be run again.
  if (run.executionId) await deps.store.unlockRun(run.exportId, run.executionId);
  return { summary, receipts };
}

/** The detail of the `Migration Run Finished` event: counts and outcome, never personal data. */
export interface RunFinished {
  readonly exportId: string;
  readonly waves: readonly string[];
  readonly status: Summary['status'];
  readonly counts: Summary['counts'];
  readonly reasons: Summary['reasons'];
  readonly verified: boolean | null;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly report: { readonly bucket: string; readonly prefix: string };
}

export const runFinished = (summary: Summary, report: RunFinished['report']): RunFinished => ({
  exportId: summary.exportId,
  waves: summary.waves,
  status: summary.status,
  counts: summary.counts,
  reasons: summary.reasons,
  verified: summary.verification ? summary.verification.passed : null,
  startedAt: summary.startedAt,
  finishedAt: summary.finishedAt,
  report,
});
