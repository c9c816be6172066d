import type { Summary } from './summary';

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
