import { workKeys } from '../keys';
import type { DecidedRecord } from '../rules/decide';
import type { Run, WorkflowDeps } from './run';
import { buildStagePlan } from './stages';

/** The results of a run's decide chunks, in the plan's order: waves, stages, kinds, chunks. */
export async function* runResults(run: Run, deps: WorkflowDeps): AsyncGenerator<DecidedRecord> {
  const keys = await deps.objects.list(deps.exportsBucket, workKeys.resultsPrefix(run.scope));
  const waves = buildStagePlan(deps.policy).filter((w) => run.waves.includes(w.wave));
  for (const wave of waves) {
    for (const stage of wave.stages) {
      for (const step of stage.steps) {
        if (step.op !== 'decide') continue;
        const prefix = workKeys.stageResultsPrefix(run.scope, stage.id, step.kind);
        for (const key of keys.filter((k) => k.startsWith(prefix))) {
          const text = await deps.objects.getText(deps.exportsBucket, key);
          for (const row of (text ?? '').split('\n')) if (row !== '') yield JSON.parse(row) as DecidedRecord;
        }
      }
    }
  }
}
