import { resolve } from 'node:path';
import { NoRunError } from '../../functions/core/errors';
import type { Run } from '../../functions/core/pipeline/run';
import { neutralise } from '../../functions/core/report/neutralise';
import type { Verification } from '../../functions/core/report/summary';
import { mergeVerifications } from '../../functions/core/report/verification';
import { runsToVerify, verifyRun } from '../../functions/core/verify/verify';
import { depsFrom } from '../../functions/verify/handler';
import { startLocalPipeline } from '../../local/runtime/pipeline';
import { onInterrupt } from '../interrupt';
import { notice } from '../messages';

export interface VerifyOptions {
  readonly exportId: string;
  readonly stateDir?: string;
}

/**
 * `esep-migrate verify <exportId>`: the verify function's own code, with the configuration the template
 * gives it, over every finished run of the export in the local state (core/verify `runsToVerify`).
 */
export async function verifyLocal(
  options: VerifyOptions,
): Promise<{ runs: readonly Run[]; verification: Verification }> {
  const pipeline = await startLocalPipeline({ stateDir: resolve(options.stateDir ?? '.esep-local'), notice });
  const release = onInterrupt(() => pipeline.stop());
  try {
    const env = pipeline.environments.get('verify');
    if (!env) throw new Error('the synthesized app has no verify function');
    const verify = depsFrom(pipeline.clients, env);
    const runs = runsToVerify(options.exportId, await verify.store.runStatuses(options.exportId));
    if (runs.length === 0)
      throw new NoRunError(
        `verify: no finished run of export "${options.exportId}" in the state folder ${resolve(options.stateDir ?? '.esep-local')} (run it first, or give the --state of its run)`,
      );
    const verifications: Verification[] = [];
    for (const run of runs) verifications.push(await verifyRun(run, verify));
    return { runs, verification: mergeVerifications(verifications) };
  } finally {
    release();
    await pipeline.stop();
  }
}

/** The verification as lines for people: each check, what it covered and its first problems. */
export function formatVerification(v: Verification): string {
  const lines = [`\nverification: ${v.passed ? 'passed' : 'FAILED'}`];
  for (const c of v.checks) {
    lines.push(`  ${c.passed ? 'ok  ' : 'FAIL'} ${c.description} (${c.checked} checked)`);
    for (const p of c.problems) lines.push(`         ${neutralise(p)}`);
  }
  return lines.join('\n');
}
