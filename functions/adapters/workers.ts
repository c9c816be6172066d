/**
 * Which worker is running, where one process runs many at once: the local runtime's invocations share
 * their clients, and each should get what a Lambda container has of its own (the pacing of its budget,
 * the SDK's retry quota). On Lambda nothing is set: the client is the
 * container's.
 */
let current: () => object | undefined = () => undefined;

export function setWorkers(running: () => object | undefined): void {
  current = running;
}

export const workerOf = (): object | undefined => current();

/** One value per worker (made on first use), or `own` outside any worker. */
export function perWorker<T extends object>(make: () => T): () => T {
  const own = make();
  const byWorker = new WeakMap<object, T>();
  return () => {
    const worker = workerOf();
    if (!worker) return own;
    let value = byWorker.get(worker);
    if (!value) {
      value = make();
      byWorker.set(worker, value);
    }
    return value;
  };
}
