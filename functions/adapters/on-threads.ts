import { availableParallelism } from 'node:os';
import type { Transferable } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { eachLimited } from '../core/concurrency';
import { builtModule } from './build-place';

/**
 * What a worker thread runs: the named export of a module, built with the command line
 * (tools/build-cli.mjs) into `built`, or else its source through a `.cjs` entry that loads it with tsx.
 */
export interface ThreadModule {
  /** The `.cjs` entry beside the source, which exports the source module through tsx. */
  readonly source: string;
  /** The file the build makes of the module, beside the command line's. */
  readonly built: string;
  /** The task's function among the module's exports. */
  readonly name: string;
}

const filenameOf = (module: ThreadModule) => builtModule(module.built) ?? module.source;

/**
 * Runs independent tasks (plain data in and out) on worker threads through piscina, one task a thread at
 * a time, at most one thread a core; or here, one after another, when one thread is all there is to use.
 * `worker` exports the task's function, the same function as `here`. Results come in
 * the tasks' order, whichever thread finished first.
 */
export async function onThreads<T, R>(options: {
  readonly worker: ThreadModule;
  readonly tasks: readonly T[];
  readonly here: (task: T) => Promise<R>;
  /** At most this many threads (default: one a core). */
  readonly threads?: number;
  /**
   * Each thread's old generation, in MB: a thread collects its garbage before its heap grows past this,
   * rather than when V8's default (a share of the machine's memory) says so.
   */
  readonly heapMb?: number;
  /**
   * Each thread's young generation, in MB: short-lived objects are collected this often, rather than
   * piling up to V8's default semi-spaces before a scavenge.
   */
  readonly youngMb?: number;
  /** What each task hands over to its thread rather than copies (a MessagePort for its progress). */
  readonly transfer?: (task: T) => Transferable[];
}): Promise<R[]> {
  const { tasks } = options;
  const count = Math.min(options.threads ?? availableParallelism(), tasks.length);
  const results: R[] = new Array(tasks.length);
  if (count <= 1) {
    for (const [i, task] of tasks.entries()) results[i] = await options.here(task);
    return results;
  }
  const pool = new Piscina<T, R>({
    filename: filenameOf(options.worker),
    name: options.worker.name,
    minThreads: count,
    maxThreads: count,
    // One task a thread at a time: a task may hold much (a partition read back).
    concurrentTasksPerWorker: 1,
    resourceLimits: {
      ...(options.heapMb ? { maxOldGenerationSizeMb: options.heapMb } : {}),
      ...(options.youngMb ? { maxYoungGenerationSizeMb: options.youngMb } : {}),
    },
  });
  try {
    await eachLimited(
      tasks.map((task, i) => [task, i] as const),
      count,
      async ([task, i]) => {
        const transferList = options.transfer?.(task);
        try {
          results[i] = await pool.run(task, transferList ? { transferList } : {});
        } catch (error) {
          // A task that outgrew its thread's heap (an account that owns very much) runs again here, where
          // the process's own limit holds; the task's function starts its outputs afresh.
          if ((error as NodeJS.ErrnoException).code !== 'ERR_WORKER_OUT_OF_MEMORY') throw error;
          results[i] = await options.here(task);
        }
      },
    );
    return results;
  } finally {
    await pool.destroy();
  }
}
