import { ENV, type EnvKey } from '../env';

/** A required environment variable is missing: the function cannot start. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Reads the named variables once; throws ConfigError naming every one that is missing. */
export function readConfig<K extends EnvKey>(
  keys: readonly K[],
  env: NodeJS.ProcessEnv = process.env,
): Record<K, string> {
  const missing = keys.filter((k) => !env[ENV[k]]).map((k) => ENV[k]);
  if (missing.length > 0) throw new ConfigError(`missing environment variables: ${missing.join(', ')}`);
  return Object.fromEntries(keys.map((k) => [k, env[ENV[k]] as string])) as Record<K, string>;
}

/**
 * Builds the handler from the environment on the first invocation (the cold start), so that importing
 * a handler module (tests, the local runtime) reads no environment.
 */
export function onColdStart<E, R>(build: () => (event: E, context?: unknown) => Promise<R>) {
  let handler: ((event: E, context?: unknown) => Promise<R>) | undefined;
  return (event: E, context?: unknown): Promise<R> => {
    handler ??= build();
    return handler(event, context);
  };
}
