import type { RunStatus } from '../ports';

/** One run on the status panel: where it stands, what it decided, and whether it ran out of wave order. */
export interface RunRow {
  readonly exportId: string;
  /** The run's scope (`<exportId>@<hash of its policy and files>`): its working area and markers. */
  readonly scope: string;
  readonly waves: readonly string[];
  readonly state: RunStatus['state'];
  readonly startedAt?: string;
  /** When it ended (absent while it runs). */
  readonly finishedAt?: string;
  readonly counts?: RunStatus['counts'];
  readonly verified?: boolean | null;
  readonly reportPrefix?: string;
  readonly error?: string;
  /** Waves of the run withdrawn from the target again, and why (rollback, replaced export). */
  readonly rolledBackWaves?: readonly string[];
  readonly withdrawnBecause?: RunStatus['withdrawnBecause'];
  /** On a rolled-back wave's row: the records withdrawn. */
  readonly withdrawn?: number;
  /** Earlier waves of the policy that no run of this export had completed when this one started. */
  readonly outOfOrder: readonly string[];
}

const COMPLETED = new Set<RunStatus['state']>(['completed', 'completed-with-quarantine']);

/**
 * Every run in the state, oldest first, each flagged when it ran a wave before an earlier wave of the
 * policy was completed for its export (running nov-2022 before sept-2022).
 */
export function statusPanel(
  runs: readonly (RunStatus & { readonly exportId: string })[],
  waveOrder: readonly string[],
): RunRow[] {
  const started = (r: RunStatus) => r.startedAt ?? r.at;
  const sorted = [...runs].sort((a, b) => started(a).localeCompare(started(b)));
  return sorted.map((run) => {
    const first = Math.min(...run.waves.map((w) => waveOrder.indexOf(w)).filter((i) => i >= 0));
    const done = new Set(
      sorted
        .filter((r) => r.exportId === run.exportId && COMPLETED.has(r.state) && r.at <= started(run))
        .flatMap((r) => r.waves),
    );
    const outOfOrder =
      Number.isFinite(first) && run.state !== 'rolled-back'
        ? waveOrder.slice(0, first).filter((w) => !done.has(w))
        : [];
    return {
      exportId: run.exportId,
      scope: run.scope,
      waves: run.waves,
      state: run.state,
      ...(run.startedAt ? { startedAt: run.startedAt } : {}),
      ...(run.state === 'running' ? {} : { finishedAt: run.at }),
      ...(run.counts ? { counts: run.counts } : {}),
      ...(run.verified === undefined ? {} : { verified: run.verified }),
      ...(run.reportPrefix ? { reportPrefix: run.reportPrefix } : {}),
      ...(run.error ? { error: run.error } : {}),
      ...(run.rolledBackWaves?.length ? { rolledBackWaves: run.rolledBackWaves } : {}),
      ...(run.withdrawnBecause ? { withdrawnBecause: run.withdrawnBecause } : {}),
      ...(run.withdrawn === undefined ? {} : { withdrawn: run.withdrawn }),
      outOfOrder,
    };
  });
}
