import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateBusyError } from '../../functions/core/errors';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

const isAlive = (pid: number) => {
  try {
    return pid > 0 && process.kill(pid, 0);
  } catch {
    return false;
  }
};

/** Tries per command before it gives up (a LOCK that stays empty is taken over after half of them). */
const TRIES = 200;
const WAIT_MS = 20;

/**
 * One process per state folder (the stand-ins keep their data there): `<state>/LOCK` holds its pid,
 * created exclusively. A LOCK whose process is gone (killed) is taken over, one taker at a time: the
 * taker first creates `LOCK.takeover` exclusively, checks that LOCK still names the gone process, and
 * only then replaces it with its own in one step (a rename), so two commands that start at once never
 * both hold the folder, neither removes the other's LOCK, and the one that says it takes the folder over
 * holds it (there is no moment without a LOCK for the other to create). An empty LOCK is being written
 * by the command that created it: waited for. The loser names the pid that holds the folder. Returns the
 * release.
 */
export async function lockState(
  stateDir: string,
  notice: (text: string) => void,
): Promise<() => Promise<void>> {
  const file = join(stateDir, 'LOCK');
  const takeover = `${file}.takeover`;
  /** This process's LOCK while it is written, before it replaces a LOCK left behind. */
  const mine = `${file}.${process.pid}`;
  // However the process ends (a signal even while the lock is being taken), it gives the folder back:
  // the listener is there before the file, and removes it only when it holds this process's id (or
  // nothing yet, while this process is writing it).
  let taking = false;
  const onExit = () => {
    if (read(takeover) === String(process.pid)) rmSync(takeover, { force: true });
    rmSync(mine, { force: true });
    if (!taking) return;
    const holder = read(file);
    if (holder === String(process.pid) || holder === '') rmSync(file, { force: true });
  };
  process.once('exit', onExit);
  const giveUp = (error: Error) => {
    process.removeListener('exit', onExit);
    return error;
  };
  const release = async () => {
    rmSync(file, { force: true });
    process.removeListener('exit', onExit);
  };
  for (let attempt = 0; attempt < TRIES; attempt++) {
    try {
      taking = true;
      // Synchronous, both ways: an asynchronous create or remove still in flight when the process exits
      // (a signal's clean-up running out of time) could land after the exit listener looked, and leave
      // the file behind. The file goes first and the exit listener after it.
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return release;
    } catch (error) {
      taking = false;
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw giveUp(error as Error);
    }
    const holder = read(file);
    if (holder === undefined) continue; // removed meanwhile: try again
    const pid = Number(holder);
    if (holder !== '' && isAlive(pid))
      throw giveUp(
        new StateBusyError(
          `another esep-migrate (pid ${pid}) is using the state folder ${stateDir}: wait for it to end, or use another --state`,
          pid,
        ),
      );
    // Empty: its command is writing its pid (wait), unless it stays empty (killed in between).
    if (holder === '' && attempt < TRIES / 2) {
      await sleep(WAIT_MS);
      continue;
    }
    // Left by a process that was killed or crashed: what it did is kept, and the next run resumes it.
    taking = true;
    if (takeOver(file, takeover, mine, holder)) {
      notice(
        `the state folder ${stateDir} was left by an esep-migrate that stopped (pid ${pid || 'unknown'}); taking it over`,
      );
      return release;
    }
    taking = false;
    await sleep(WAIT_MS);
  }
  throw giveUp(new Error(`cannot lock the state folder ${stateDir}`));
}

/**
 * Replaces a LOCK that still holds `holder` with this process's (written to `mine`, then renamed over it),
 * as the one taker (LOCK.takeover created exclusively). False when another command is taking it over, or
 * LOCK changed meanwhile.
 */
function takeOver(file: string, takeover: string, mine: string, holder: string): boolean {
  try {
    writeFileSync(takeover, String(process.pid), { flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // A taker that was killed while taking over leaves its file: removed, and the next try takes over.
    const taker = Number(read(takeover));
    if (taker > 0 && !isAlive(taker)) rmSync(takeover, { force: true });
    return false;
  }
  try {
    if (read(file) !== holder) return false;
    writeFileSync(mine, String(process.pid));
    renameSync(mine, file);
    return true;
  } finally {
    rmSync(takeover, { force: true });
  }
}
