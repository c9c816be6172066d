/*
 * dynalite 4 wraps each LevelDB iterator of a Query or Scan in a stream whose destroy() closes the iterator
 * with `iterator.return()`, which abstract-level 3 iterators do not have (they have `close()`): no
 * iterator was ever closed. Each open LevelDB iterator pins the memtable and table files of its moment, so
 * the stand-in's native memory grew with every query (a verify of 2,000 accounts: about 5 MB/s, outside
 * every V8 heap; a run of 20,000 accounts peaked at 2.5 GB). This gives the iterators the `return()` the
 * streams call. Applied once, before dynalite loads, in the stand-ins' thread.
 */
let applied = false;

export function fixDynalite(): void {
  if (applied) return;
  applied = true;
  const { AbstractIterator } = require('abstract-level') as {
    AbstractIterator: { prototype: object };
  };
  // The common base of the entry, key and value iterators.
  const common = Object.getPrototypeOf(AbstractIterator.prototype) as {
    return?: () => Promise<IteratorResult<unknown>>;
    close(): Promise<void>;
  };
  common.return ??= async function (this: { close(): Promise<void> }) {
    await this.close();
    return { done: true, value: undefined };
  };
}
