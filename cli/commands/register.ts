import { resolve } from 'node:path';
import { depsFrom, handleRegistration } from '../../functions/account-link/handler';
import { UsageError } from '../../functions/core/errors';
import type { LinkOutcome } from '../../functions/core/ports';
import { RegistrationSchema } from '../../functions/core/rules/linking';
import { startLocalPipeline } from '../../local/runtime/pipeline';
import { onInterrupt } from '../interrupt';
import { notice } from '../messages';

export interface RegisterOptions {
  readonly email: string;
  readonly esepUserId: string;
  readonly stateDir?: string;
  /** The registration's time (default: now). */
  readonly registeredAt?: string;
}

/**
 * `esep-migrate register`: one ESEP registration, as EU Login would send it, decided by the account-link
 * function's own code with the configuration the template gives it, against the local state (so a
 * `register` after a `run` links against that run's accounts). Returns the outcome of outputs.md.
 */
export async function registerLocal(options: RegisterOptions): Promise<LinkOutcome> {
  const detail = {
    esepUserId: options.esepUserId,
    email: options.email,
    registeredAt: options.registeredAt ?? new Date().toISOString(),
  };
  const parsed = RegistrationSchema.safeParse(detail);
  if (!parsed.success) {
    const field = parsed.error.issues[0]?.path.join('.');
    throw new UsageError(
      `register: ${field === 'email' ? '--email' : field === 'esepUserId' ? '--user' : field}: ${parsed.error.issues[0]?.message}`,
    );
  }
  const pipeline = await startLocalPipeline({ stateDir: resolve(options.stateDir ?? '.esep-local'), notice });
  const release = onInterrupt(() => pipeline.stop());
  try {
    const env = pipeline.environments.get('account-link');
    if (!env) throw new Error('the synthesized app has no account-link function');
    return await handleRegistration(parsed.data, depsFrom(pipeline.clients, env));
  } finally {
    release();
    await pipeline.stop();
  }
}
