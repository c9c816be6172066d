import { AsyncLocalStorage } from 'node:async_hooks';
import { tmpdir } from 'node:os';

/**
 * Where a handler may write scratch files: Lambda's /tmp, or, in the local runtime, a folder of the
 * invocation's own, which the runtime measures against the function's ephemeral storage. No handler
 * needs one today (the report writes straight to S3); one that does asks here.
 */
export const invocationTmp = new AsyncLocalStorage<string>();
export const scratchDir = (): string => invocationTmp.getStore() ?? tmpdir();
