import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * What a process that holds a state folder serves: its pid, the endpoint of its local table and the
 * table's name, in `<state>/SERVING.json`, so that read-only commands (status, lookup) can read the state
 * while it works (read-state.ts). Written once the stand-ins and resources are up; removed on stop.
 */
export interface Serving {
  readonly pid: number;
  readonly dynamodb: string;
  readonly table: string;
}

const fileOf = (stateDir: string) => join(stateDir, 'SERVING.json');

export function publishServing(stateDir: string, serving: Serving): void {
  const tmp = `${fileOf(stateDir)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(serving));
  renameSync(tmp, fileOf(stateDir));
}

/** What the folder's holder serves, if it says so (a file left by a stopped process is told by its pid). */
export function servingOf(stateDir: string): Serving | undefined {
  try {
    const s = JSON.parse(readFileSync(fileOf(stateDir), 'utf8')) as Partial<Serving>;
    return typeof s.pid === 'number' && typeof s.dynamodb === 'string' && typeof s.table === 'string'
      ? (s as Serving)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Removes this process's file (never another's). */
export function withdrawServing(stateDir: string): void {
  if (servingOf(stateDir)?.pid === process.pid) rmSync(fileOf(stateDir), { force: true });
}
