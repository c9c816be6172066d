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
import { withStack } from '../stack';

export interface VerifyOptions {
  readonly exportId: string;
  readonly stateDir?: string;
  /** A deployed stack instead of the local state (cli/stack.ts). */
  readonly stack?: string;
}

/** Verifies every finished run of the export (core/verify `runsToVerify`) with the verify function's deps. */
async function verifyWith(
  exportId: string,
  verify: ReturnType<typeof depsFrom>,
  where: string,
): Promise<{ runs: readonly Run[]; verification: Verification }> {
  const runs = runsToVerify(exportId, await verify.store.runStatuses(exportId));
  if (runs.length === 0)
    throw new NoRunError(`verify: no finished run of export "${exportId}" in ${where} (run it first)`);
  const verifications: Verification[] = [];
  for (const run of runs) verifications.push(await verifyRun(run, verify));
  return { runs, verification: mergeVerifications(verifications) };
}

/**
 * `esep-migrate verify <exportId>`: the verify function's own code, configured as the function is (the
 * template's environment locally; the deployed function's configuration with `stack`), over every
 * finished run of the export.
 */
export async function verifyLocal(
  options: VerifyOptions,
): Promise<{ runs: readonly Run[]; verification: Verification }> {
  if (options.stack !== undefined)
    return withStack(options.stack, async (stack) =>
      verifyWith(
        options.exportId,
        depsFrom(stack.clients, await stack.environment('verify')),
        `the stack ${stack.name}`,
      ),
    );
  const stateDir = resolve(options.stateDir ?? '.esep-local');
  const pipeline = await startLocalPipeline({ stateDir, notice });
  const release = onInterrupt(() => pipeline.stop());
  try {
    const env = pipeline.environments.get('verify');
    if (!env) throw new Error('the synthesized app has no verify function');
    return await verifyWith(
      options.exportId,
      depsFrom(pipeline.clients, env),
      `the state folder ${stateDir} (or give the --state of its run)`,
    );
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
