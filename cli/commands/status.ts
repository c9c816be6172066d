import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { dynamoStore } from '../../functions/adapters/dynamo-store';
import { bucketOf } from '../../functions/core/bucket-sets';
import { reportPrefix } from '../../functions/core/keys';
import { type RunPosition, runPosition } from '../../functions/core/pipeline/progress';
import { neutralise } from '../../functions/core/report/neutralise';
import { type RunRow, statusPanel } from '../../functions/core/report/status';
import { readState } from '../../local/runtime/read-state';
import { reportFolders } from '../folders';
import { onInterrupt } from '../interrupt';
import { notice } from '../messages';
import { formatEta } from '../progress';
import { loadPolicy } from './plan';

/** A run as `status` shows it: where its report is, or where it is while it runs. */
export type StatusRow = RunRow & { readonly report?: string; readonly position?: RunPosition };

/** What `status` answers: every run, and on a deployed stack the messages its dead-letter queues hold. */
export interface StatusPanel {
  readonly runs: readonly StatusRow[];
  readonly deadLettered?: number;
}

/**
 * `esep-migrate status`: every export and wave run, from the state table: of the local state folder, or
 * with `stack`, of a deployed stack (configured as its rollback function, which reads the runs and
 * their reports), beside the dead letters. A running run also says its stage, its chunks and an ETA.
 */
export async function status(options: {
  readonly stateDir: string;
  readonly policyFile?: string;
  readonly stack?: string;
}): Promise<StatusPanel> {
  const now = new Date();
  if (options.stack !== undefined) {
    // The stack's clients are loaded only for a command given --stack: a local status answers at once.
    const { rollbackView, withStack } = require('../stack') as typeof import('../stack');
    return withStack(options.stack, async (stack) => {
      const view = await rollbackView(stack);
      const runs = await Promise.all(
        statusPanel(await view.store.allRunStatuses(), view.workflow.policy.waveIds).map((row) =>
          row.state === 'running'
            ? withPosition(row, view.workflow, now)
            : { ...row, report: reportObject(row, view.reportsBucket) },
        ),
      );
      return { runs, deadLettered: await stack.deadLettered() };
    });
  }
  const stateDir = resolve(options.stateDir);
  const policy = await loadPolicy(options.policyFile);
  // Read-only: answers during a run, through the running command (its run shows where it is).
  const state = await readState(stateDir, notice);
  const release = onInterrupt(() => state.close());
  try {
    const store = dynamoStore(state.dynamo, state.table);
    // The local report folder of a run: where it was written (--out, or the default under the state).
    const folders = await reportFolders(stateDir);
    const runs = await Promise.all(
      statusPanel(await store.allRunStatuses(), policy.waveIds).map((row) => {
        if (row.state === 'running') return withPosition(row, { store, policy }, now);
        const report = row.reportPrefix && folders.get(row.reportPrefix);
        return { ...row, ...(report && existsSync(report) ? { report } : {}) };
      }),
    );
    return { runs };
  } finally {
    release();
    await state.close();
  }
}

/** A running run with where it is: its stage, that stage's chunks, the records worked and an ETA. */
async function withPosition(
  row: RunRow,
  deps: Parameters<typeof runPosition>[1],
  now: Date,
): Promise<StatusRow> {
  if (!row.startedAt) return row;
  const at = { scope: row.scope, waves: row.waves, startedAt: row.startedAt };
  return { ...row, position: await runPosition(at, deps, now) };
}

/** Where a run's report page is in a deployed stack's reports buckets. */
export function reportObject(row: RunRow, reportsBucket: string): string {
  const key = `${reportPrefix(row)}report.html`;
  return `s3://${bucketOf(reportsBucket, key)}/${key}`;
}

/** The panel as lines for a terminal: counts and ids only. */
export function formatStatus(panel: StatusPanel): string {
  const rows = panel.runs;
  const dead =
    panel.deadLettered === undefined
      ? []
      : [
          panel.deadLettered === 0
            ? 'dead-letter queues: empty'
            : `dead-letter queues: ${panel.deadLettered.toLocaleString('en-US')} messages (esep-migrate redrive <exportId> puts them back after a fix)`,
        ];
  if (rows.length === 0)
    return [
      panel.deadLettered === undefined ? 'no runs in this state folder yet' : 'no runs on this stack yet',
      ...dead,
    ].join('\n');
  const fmt = (n: number | undefined) => (n === undefined ? '-' : n.toLocaleString('en-US'));
  return rows
    .map((r) => {
      const verified = r.verified === true ? 'verified' : r.verified === false ? 'verification FAILED' : '';
      const lines = [
        `${neutralise(r.exportId)}  ${r.waves.join(', ')}  ${r.state}${verified ? `, ${verified}` : ''}`,
        `  started ${r.startedAt ?? '-'}, finished ${r.finishedAt ?? '(running)'}`,
      ];
      if (r.state === 'rolled-back' && r.withdrawn !== undefined)
        lines.push(
          `  ${fmt(r.withdrawn)} records withdrawn from the target${r.withdrawnBecause === 'REPLACED' ? ' (a corrected export replaced it)' : ''}`,
        );
      else if (r.counts)
        lines.push(
          `  migrated ${fmt(r.counts.migrated)}, dropped ${fmt(r.counts.dropped)}, quarantined ${fmt(r.counts.quarantined)}`,
        );
      if (r.outOfOrder.length > 0)
        lines.push(`  OUT OF ORDER: ran before ${r.outOfOrder.join(', ')} had completed for this export`);
      if (r.rolledBackWaves?.length)
        lines.push(
          `  withdrawn from the target: ${r.rolledBackWaves.join(', ')}${r.withdrawnBecause === 'REPLACED' ? ' (a corrected export replaced it)' : ' (rolled back)'}`,
        );
      if (r.position) {
        const p = r.position;
        lines.push(
          `  stage ${p.step} of ${p.steps}: ${p.stage}, ${p.expected === 0 ? 'not split yet' : `${fmt(p.chunks)} of ${fmt(p.expected)} chunks`}; ${fmt(p.lines)} records worked; ETA ${p.etaSeconds === undefined ? 'unknown' : `${formatEta(p.etaSeconds)} at the pace so far`}`,
        );
      }
      if (r.error) lines.push(`  error: ${neutralise(r.error)}`);
      if (r.report) lines.push(`  report: ${r.report}`);
      return lines.join('\n');
    })
    .concat(dead.length > 0 ? [dead.join('')] : [])
    .join('\n\n');
}
