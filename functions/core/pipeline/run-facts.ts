import { ConfigError } from '../errors';
import { type ForbiddenCheck, readForbiddenCheck } from '../forbidden';
import type { Withdrawal } from '../ports';
import { forbiddenPlace, type Run, type WorkflowDeps } from './run';

/** The run's index of the values that must never reach the target (core/forbidden), as validate wrote it. */
async function readForbidden(run: Run, deps: WorkflowDeps): Promise<ForbiddenCheck> {
  if (!deps.emailSecret) throw new ConfigError('checking for credentials needs the e-mail key (emailSecret)');
  return readForbiddenCheck(forbiddenPlace(run, deps), await deps.emailSecret());
}

/**
 * What every part of a run reads once per container, on first use (the index of the export's credentials,
 * the scope's withdrawals), kept with the deps it was read through.
 */
interface RunFacts {
  readonly run: string;
  forbidden?: Promise<ForbiddenCheck>;
  withdrawn?: Promise<Map<string, Withdrawal>>;
}
const perRun = new WeakMap<WorkflowDeps, RunFacts>();
export function runFacts(run: Run, deps: WorkflowDeps) {
  let facts = perRun.get(deps);
  if (facts?.run !== `${run.scope}|${run.startedAt}`) {
    facts = { run: `${run.scope}|${run.startedAt}` };
    perRun.set(deps, facts);
  }
  const f = facts;
  return {
    forbidden: () => {
      f.forbidden ??= readForbidden(run, deps);
      return f.forbidden;
    },
    withdrawn: () => {
      f.withdrawn ??= deps.store
        .withdrawals(run.scope)
        .then((all) => new Map(all.map((w) => [`${w.kind}#${w.id}`, w])));
      return f.withdrawn;
    },
  };
}
