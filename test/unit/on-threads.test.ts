import { join } from 'node:path';
import { onThreads } from '../../functions/adapters/on-threads';

/** The thread pool under plan's waves and the report folder's partitions (functions/adapters/on-threads). */
interface Task {
  readonly id: string;
  readonly grow?: boolean;
  readonly fail?: string;
}
const worker = {
  source: join(__dirname, '../fixtures/threads/grow-worker.cjs'),
  built: 'unused.cjs',
  name: 'work',
};
const here = async (task: Task) => `${task.id} here`;

test('a task that outgrows its thread’s heap runs again here; the others keep their threads’ results, in the tasks’ order', async () => {
  const tasks: Task[] = [{ id: 'a' }, { id: 'b', grow: true }, { id: 'c' }];
  await expect(onThreads({ worker, tasks, here, threads: 2, heapMb: 16 })).resolves.toEqual([
    'a on a thread',
    'b here',
    'c on a thread',
  ]);
});

test('a task that fails on its thread for another reason fails the whole, and is not run again here', async () => {
  const ran: string[] = [];
  const tasks: Task[] = [{ id: 'a' }, { id: 'b', fail: 'a broken wave' }];
  await expect(
    onThreads({
      worker,
      tasks,
      here: async (task) => {
        ran.push(task.id);
        return here(task);
      },
      threads: 2,
    }),
  ).rejects.toThrow('a broken wave');
  expect(ran).toEqual([]);
});

test('with one thread to use, the tasks run here, one after another', async () => {
  const tasks: Task[] = [{ id: 'a' }, { id: 'b', grow: false }];
  await expect(onThreads({ worker, tasks, here, threads: 1 })).resolves.toEqual(['a here', 'b here']);
});
