import { constants } from 'node:os';

/**
 * Ctrl-C and SIGTERM: the command stops its work cleanly (the local pipeline lets running invocations
 * finish and releases the state folder), says how to resume, and exits 130 or 143 as shells expect. A
 * second signal stops at once.
 */
const cleanups = new Set<() => Promise<void>>();

/** Runs `cleanup` if the command is interrupted while it is registered; returns the unregistration. */
export function onInterrupt(cleanup: () => Promise<void>): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

/** How long the clean-up may take before the command exits anyway. */
const CLEANUP_MS = 20_000;

let stopping = false;

/** Whether a signal is stopping the command (its work then fails on purpose: nothing to report). */
export const isInterrupted = () => stopping;

export function handleInterrupts(stderr: { write(s: string): unknown }, resume: string): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      const code = 128 + constants.signals[signal];
      if (stopping) process.exit(code);
      stopping = true;
      stderr.write(`\nesep-migrate: stopping (${signal}) ...\n`);
      const done = Promise.allSettled([...cleanups].map((c) => c()));
      const late = new Promise((resolve) => setTimeout(resolve, CLEANUP_MS).unref());
      void Promise.race([done, late]).then(() => {
        stderr.write(`esep-migrate: stopped by ${signal}. ${resume}\n`);
        process.exit(code);
      });
    });
  }
}
