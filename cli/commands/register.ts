import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import {
  depsFrom,
  handleRegistration,
  handleSupportLink,
  type LinkDeps,
} from '../../functions/account-link/handler';
import { UsageError } from '../../functions/core/errors';
import type { LinkOutcome } from '../../functions/core/ports';
import { RegistrationSchema, SupportLinkSchema } from '../../functions/core/rules/linking';
import { startLocalPipeline } from '../../local/runtime/pipeline';
import { onInterrupt } from '../interrupt';
import { notice } from '../messages';
import { withStack } from '../stack';

export interface RegisterOptions {
  readonly email: string;
  readonly esepUserId: string;
  readonly stateDir?: string;
  /** A deployed stack instead of the local state (cli/stack.ts). */
  readonly stack?: string;
  /** The registration's time (default: now). */
  readonly registeredAt?: string;
}

/** A schema's first problem as a usage error naming the command's flag. */
function checked<T>(
  command: string,
  result:
    | { success: true; data: T }
    | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } },
  flags: Readonly<Record<string, string>>,
): T {
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = String(issue?.path[0] ?? '');
  throw new UsageError(`${command}: ${flags[field] ?? field}: ${issue?.message}`);
}

/**
 * Runs one delivery of the account-link function's own code, configured as the function is: the
 * template's environment against the local state, or the deployed function's configuration (`stack`).
 */
async function withLinkFunction<T>(
  target: { readonly stateDir?: string | undefined; readonly stack?: string | undefined },
  deliver: (deps: LinkDeps) => Promise<T>,
) {
  if (target.stack !== undefined)
    return withStack(target.stack, async (stack) =>
      deliver(depsFrom(stack.clients, await stack.environment('account-link'))),
    );
  const pipeline = await startLocalPipeline({ stateDir: resolve(target.stateDir ?? '.esep-local'), notice });
  const release = onInterrupt(() => pipeline.stop());
  try {
    const env = pipeline.environments.get('account-link');
    if (!env) throw new Error('the synthesized app has no account-link function');
    return await deliver(depsFrom(pipeline.clients, env));
  } finally {
    release();
    await pipeline.stop();
  }
}

/**
 * `esep-migrate register`: one ESEP registration, as EU Login would send it, against the local state (so
 * a `register` after a `run` links against that run's accounts, and one before it waits, pending).
 * Returns the outcome of outputs.md.
 */
export async function registerLocal(options: RegisterOptions): Promise<LinkOutcome> {
  const registration = checked(
    'register',
    RegistrationSchema.safeParse({
      esepUserId: options.esepUserId,
      email: options.email,
      registeredAt: options.registeredAt ?? new Date().toISOString(),
    }),
    { email: '--email', esepUserId: '--user' },
  );
  return withLinkFunction(options, (deps) => handleRegistration(registration, deps));
}

/**
 * `esep-migrate link`: the support desk links a pending or ambiguous registration by hand (ID-8), once,
 * audited in the state table (who: `--by`, default the operator's login name; when; why: `--reason`).
 * A refusal throws LinkRefusedError (exit 2, saying why).
 */
export async function linkLocal(options: {
  readonly esepUserId: string;
  readonly legacyAccountId: string;
  readonly exportId?: string;
  readonly reason: string;
  readonly by?: string;
  readonly stateDir?: string;
  readonly stack?: string;
}): Promise<LinkOutcome> {
  const request = checked(
    'link',
    SupportLinkSchema.safeParse({
      esepUserId: options.esepUserId,
      legacyAccountId: options.legacyAccountId,
      ...(options.exportId === undefined ? {} : { exportId: options.exportId }),
      reason: options.reason,
      by: options.by ?? userInfo().username,
    }),
    {
      esepUserId: '--user',
      legacyAccountId: '--account',
      exportId: '--export',
      reason: '--reason',
      by: '--by',
    },
  );
  return withLinkFunction(options, (deps) => handleSupportLink(request, deps));
}
