import { basename, dirname, join } from 'node:path';

/**
 * Where this code runs from: the command line's build (tools/build-cli.mjs), whose thread modules are beside
 * it; or the sources (tsx, the tests), whose thread entries compile them in each thread.
 */
const fromBuild = basename(__filename) === 'esep-migrate.cjs';

/** The build's file of a thread's module (`built`, beside the command line's), when this code is the build's. */
export const builtModule = (built: string): string | undefined =>
  fromBuild ? join(dirname(__filename), built) : undefined;
