import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { dynamoStore } from '../../functions/adapters/dynamo-store';
import { neutralise } from '../../functions/core/report/neutralise';
import { type RunRow, statusPanel } from '../../functions/core/report/status';
import { readState } from '../../local/runtime/read-state';
import { reportFolders } from '../folders';
import { onInterrupt } from '../interrupt';
import { notice } from '../messages';
import { loadPolicy } from './plan';

/** `esep-migrate status`: every export and wave run in the local state, from the state table. */
export async function statusLocal(options: {
  readonly stateDir: string;
  readonly policyFile?: string;
}): Promise<(RunRow & { readonly report?: string })[]> {
  const stateDir = resolve(options.stateDir);
  const policy = await loadPolicy(options.policyFile);
  // Read-only: answers during a run, through the running command (its run shows as running).
  const state = await readState(stateDir, notice);
  const release = onInterrupt(() => state.close());
  try {
    const store = dynamoStore(state.dynamo, state.table);
    // The local report folder of a run: where it was written (--out, or the default under the state).
    const folders = await reportFolders(stateDir);
    return statusPanel(await store.allRunStatuses(), policy.waveIds).map((row) => {
      const report = row.reportPrefix && folders.get(row.reportPrefix);
      return { ...row, ...(report && existsSync(report) ? { report } : {}) };
    });
  } finally {
    release();
    await state.close();
  }
}

/** The panel as lines for a terminal: counts and ids only. */
export function formatStatus(rows: readonly (RunRow & { readonly report?: string })[]): string {
  if (rows.length === 0) return 'no runs in this state folder yet';
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
      if (r.error) lines.push(`  error: ${neutralise(r.error)}`);
      if (r.report) lines.push(`  report: ${r.report}`);
      return lines.join('\n');
    })
    .join('\n\n');
}
