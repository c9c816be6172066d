import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { upload } from '../../cli/commands/run';
import { startServices } from '../../local/stand-ins/services';
import { BIN, cli, ROOT } from '../helpers/cli';

/**
 * A careless operator or a hostile export, through the command line as a user would meet it: nothing of
 * the user's is deleted, a rejected policy writes nothing, the file system's failures say what to do, and
 * Ctrl-C or SIGTERM stops a run cleanly, says how to resume and exits 130 / 143.
 */
jest.setTimeout(180_000);

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'esep-hostile-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
}, 60_000);

/** A folder of the user's: a repository with sources. */
function usersFolder(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(join(dir, '.git'), { recursive: true });
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  writeFileSync(join(dir, 'src', 'main.ts'), 'export {};\n');
  return dir;
}
const untouched = (dir: string) => {
  expect(readFileSync(join(dir, '.git', 'HEAD'), 'utf8')).toBe('ref: refs/heads/main\n');
  expect(readFileSync(join(dir, 'src', 'main.ts'), 'utf8')).toBe('export {};\n');
};

describe('no command deletes what it did not write', () => {
  test('generate refuses a folder with other files, unless --force, which removes nothing', () => {
    const dir = usersFolder('my-repo');
    const refused = cli(['generate', '--out', dir, '--accounts', '3']);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/--out .*my-repo: the folder holds files that esep-migrate did not write/);
    expect(refused.stderr).toMatch(/--force/);
    untouched(dir);
    expect(existsSync(join(dir, 'manifest.json'))).toBe(false);

    const forced = cli(['generate', '--out', dir, '--accounts', '3', '--force']);
    expect(forced.status).toBe(0);
    untouched(dir);
    expect(existsSync(join(dir, 'manifest.json'))).toBe(true);
  });

  test('generate writes again into its own folder, replacing only its earlier export', () => {
    const dir = join(tmp, 'own-export');
    expect(cli(['generate', '--out', dir, '--accounts', '20', '--seed', '1']).status).toBe(0);
    const before = readdirSync(join(dir, 'blobs')).length;
    expect(cli(['generate', '--out', dir, '--accounts', '3', '--seed', '2']).status).toBe(0);
    expect(readdirSync(join(dir, 'blobs')).length).toBeLessThan(before);
  });

  test("plan --out refuses a folder that holds the user's receipts/, and reuses its own report folder", () => {
    const dir = join(tmp, 'theirs');
    mkdirSync(join(dir, 'receipts'), { recursive: true });
    writeFileSync(join(dir, 'receipts', 'mine.txt'), 'keep me\n');
    const refused = cli(['plan', 'samples/export', '--out', dir]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/the folder holds files that esep-migrate did not write \(receipts\)/);
    expect(readFileSync(join(dir, 'receipts', 'mine.txt'), 'utf8')).toBe('keep me\n');

    const ours = join(tmp, 'ours');
    expect(cli(['plan', 'samples/export', '--out', ours]).status).toBe(0);
    expect(cli(['plan', 'samples/export', '--out', ours]).status).toBe(0);
    expect(existsSync(join(ours, 'summary.json'))).toBe(true);
  });

  test('a rejected policy writes nothing', () => {
    const policy = join(tmp, 'proto.json');
    writeFileSync(policy, JSON.stringify({ waves: [{ id: '__proto__', kinds: [] }] }));
    const out = join(tmp, 'never');
    const r = cli(['plan', 'samples/export', '--policy', policy, '--out', out]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/waves\.0\.id: expected 1-32 characters of \[a-z0-9-\]/);
    expect(existsSync(out)).toBe(false);
  });
});

test("an upload carries only what the folder holds now: an earlier upload's blob is withdrawn", async () => {
  const dir = join(tmp, 'uploaded');
  cpSync(join(ROOT, 'samples', 'export'), dir, { recursive: true });
  writeFileSync(join(dir, '.env'), 'SECRET=1\n');
  const { files } = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as {
    files: { path: string }[];
  };
  const listed = files.map((f) => f.path);
  const services = await startServices(join(tmp, 'upload-state'));
  try {
    const s3 = services.clients.s3;
    await s3.send(new CreateBucketCommand({ Bucket: 'exports' }));
    const keys = async () =>
      ((await s3.send(new ListObjectsV2Command({ Bucket: 'exports' }))).Contents ?? []).map((o) => o.Key);
    await upload(services.clients, 'exports', dir, 'uploaded', listed);
    const blob = readdirSync(join(dir, 'blobs'))[0] as string;
    expect(await keys()).toContain(`exports/uploaded/blobs/${blob}`);
    expect(await keys()).not.toContain('exports/uploaded/.env');
    rmSync(join(dir, 'blobs', blob));
    await upload(services.clients, 'exports', dir, 'uploaded', listed);
    expect(await keys()).not.toContain(`exports/uploaded/blobs/${blob}`);
  } finally {
    await services.stop();
  }
});

describe('when the machine is the problem', () => {
  test('a path through a file names the path and the fix, with no stack trace', () => {
    const r = cli(['plan', 'samples/export', '--out', '/dev/null/report']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /^esep-migrate: \/dev\/null\/report: a part of this path is a file, not a folder$/m,
    );
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('a state folder left by a process that stopped is taken over, and says so', () => {
    const state = join(tmp, 'left-state');
    mkdirSync(state, { recursive: true });
    writeFileSync(join(state, 'LOCK'), '2147483646'); // no such process
    const r = cli(['verify', 'no-such-export', '--state', state]);
    expect(r.stderr).toMatch(/was left by an esep-migrate that stopped \(pid 2147483646\); taking it over/);
    expect(r.status).toBe(2);
  });

  test('two commands that find a left LOCK at once: one takes it over, the other names its pid or waits its turn', async () => {
    const state = join(tmp, 'raced-state');
    mkdirSync(state, { recursive: true });
    writeFileSync(join(state, 'LOCK'), '2147483646'); // no such process
    const start = () =>
      new Promise<{ code: number | null; stderr: string; pid: number }>((resolve) => {
        const child = spawn(process.execPath, [BIN, 'verify', 'no-such-export', '--state', state], {
          cwd: ROOT,
          env: { ...process.env, ESEP_DEBUG: '' },
        });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => {
          stderr += d.toString();
        });
        child.on('exit', (code) => resolve({ code, stderr, pid: child.pid as number }));
      });
    const both = await Promise.all([start(), start()]);
    const takers = both.filter((r) => r.stderr.includes('taking it over'));
    expect(takers).toHaveLength(1);
    const [taker] = takers as [(typeof both)[0]];
    for (const r of both) {
      expect(r.stderr).not.toMatch(/ECONNREFUSED|\n\s+at /);
      // The taker ends as verify does with no such export (2); the other named the taker, or ran after it.
      if (r !== taker)
        expect([r.code, r.code === 1 ? r.stderr : '']).toEqual(
          r.code === 1 ? [1, expect.stringContaining(`another esep-migrate (pid ${taker.pid})`)] : [2, ''],
        );
    }
    expect(taker.code).toBe(2);
    expect(readdirSync(state).filter((f) => f.startsWith('LOCK'))).toEqual([]);
  });

  test('a run refused because another command holds the state folder writes nothing there', () => {
    const state = join(tmp, 'held-state');
    mkdirSync(state, { recursive: true });
    writeFileSync(join(state, 'LOCK'), String(process.pid)); // this test's process: alive
    const r = cli(['run', 'samples/export', '--state', state]);
    expect(r.stderr).toMatch(
      new RegExp(`another esep-migrate \\(pid ${process.pid}\\) is using the state folder`),
    );
    expect(r.status).toBe(1);
    expect(readdirSync(state)).toEqual(['LOCK']);
  });
});

describe('Ctrl-C and SIGTERM', () => {
  /** Starts a run and sends it a signal once it is at work; resolves its exit code and stderr. */
  const interrupt = (state: string, signal: NodeJS.Signals) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [BIN, 'run', 'samples/export', '--state', state], {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      let sent = false;
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (!sent && /\[run\]/.test(stderr)) {
          sent = true;
          child.kill(signal);
        }
      });
      child.on('exit', (code) => resolve({ code, stderr }));
    });

  test('a run stops cleanly, says how to resume, exits 130; run again, it completes', async () => {
    const state = join(tmp, 'sigint');
    const r = await interrupt(state, 'SIGINT');
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/stopped by SIGINT\. Nothing that was done is lost: run the same command again/);
    expect(existsSync(join(state, 'LOCK'))).toBe(false);
    const again = cli(['run', 'samples/export', '--state', state]);
    // With its stderr, so that a failure says why.
    expect({ status: again.status, stderr: again.stderr }).toEqual({ status: 0, stderr: expect.any(String) });
    expect(again.stderr).not.toMatch(/failed|error/i);
    expect(again.stdout).toContain('verification: passed');
  });

  test('SIGTERM exits 143, and gives the state folder back', async () => {
    const state = join(tmp, 'sigterm');
    const r = await interrupt(state, 'SIGTERM');
    expect(r.code).toBe(143);
    expect(r.stderr).toMatch(/stopped by SIGTERM/);
    expect(existsSync(join(state, 'LOCK'))).toBe(false);
  });
});
