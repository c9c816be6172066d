import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { builtModule } from '../../functions/adapters/build-place';

/** The stand-ins' thread started ahead of need (startServicesThread), not yet given its state folder. */
let ahead: Worker | undefined;

/** A thread that loads the stand-ins (the build's module, or the source through tsx) and waits for its folder. */
const newThread = () =>
  new Worker(join(__dirname, 'services-worker.cjs'), {
    workerData: { built: builtModule('services-host.cjs') },
  });

/**
 * Starts the stand-ins' thread ahead: it loads their modules on the other core while the command loads its
 * own. Until a command takes it, it keeps no process alive; one that fails meanwhile is let go, and the
 * command starts another (whose failure it then sees).
 */
export function startServicesThread(): void {
  if (ahead) return;
  const thread = newThread();
  thread.unref();
  const letGo = () => {
    if (ahead === thread) ahead = undefined;
  };
  thread.once('error', letGo).once('exit', letGo);
  ahead = thread;
}

/** The stand-ins' thread for a state folder: the one started ahead, or a new one; told to host them there. */
export function servicesThread(stateDir: string): Worker {
  const thread = ahead ?? newThread();
  ahead = undefined;
  thread.ref();
  thread.postMessage({ type: 'host', stateDir });
  return thread;
}
