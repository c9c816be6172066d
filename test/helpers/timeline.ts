import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { registerLocal } from '../../cli/commands/register';
import { runLocal } from '../../cli/commands/run';
import { formatStatus, status } from '../../cli/commands/status';
import { verifyLocal } from '../../cli/commands/verify';
import { s3Objects } from '../../functions/adapters/s3-objects';
import { targetKeys } from '../../functions/core/keys';
import type { Verification } from '../../functions/core/report/summary';
import { startLocalPipeline } from '../../local/runtime/pipeline';
import { cli } from './cli';
import { account } from './identity-world';
import { buildExport, type ExportSpec } from './memory-export';

type Export = ExportSpec & { exportId: string };

/**
 * The timeline tests' world: small hand-made exports written under a temporary folder and run through the
 * command line's own functions (registrations, runs, verify, the target as the stand-ins hold it).
 */
let tmp = '';
/**
 * Gives the calling test file a temporary folder that its exports and states go under, made before its
 * tests and removed after them; returns the folder (known once the file's tests start). Jest runs a
 * file's afterAll hooks in the order they are declared: one that stops what still writes there (a local
 * pipeline) is declared before this call.
 */
export function useTempFolder(prefix: string): () => string {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), prefix));
    tmp = dir;
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  }, 60_000);
  return () => dir;
}
export const FAST = { waitMs: 20, retryMs: 10, redeliverySeconds: 5 };
export const quiet = { write: () => true };
export const ANA = 'Ana.Silva@Escola.example.pt';
export const STAFF = 'staff@school.example.eu';

export const activity = (id: string, accountId: string) => ({
  id,
  accountId,
  type: 'comment',
  title: 'Shared a lesson plan',
  occurredAt: '2021-03-01T10:00:00Z',
});
export const SEG: ExportSpec & { exportId: string } = {
  exportId: 'seg-2022',
  exportedAt: '2022-08-01T00:00:00Z',
  kinds: {
    accounts: [account('s-1', 'seg', ANA), account('s-2', 'seg', 'bob@school.example.be')],
    activities: [activity('sa-1', 's-1'), activity('sa-2', 's-2')],
  },
};
export const ET: ExportSpec & { exportId: string } = {
  exportId: 'et-2022',
  exportedAt: '2022-09-01T00:00:00Z',
  kinds: {
    accounts: [
      account('e-1', 'etwinning', ANA.toUpperCase()),
      account('e-2', 'etwinning', STAFF),
      account('e-3', 'etwinning', STAFF),
    ],
    projects: [
      {
        id: 'p-1',
        title: 'Water',
        registeredAt: '2019-01-01T00:00:00Z',
        members: [{ accountId: 'e-1', role: 'founder' }],
      },
    ],
  },
};

export function writeExport(spec: ExportSpec & { exportId: string }, over: Partial<ExportSpec> = {}): string {
  const dir = join(tmp, 'exports', spec.exportId);
  for (const [path, bytes] of Object.entries(buildExport({ ...spec, ...over }))) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), bytes);
  }
  return dir;
}

export const run = (state: string, spec: ExportSpec & { exportId: string }, wave = 'all', replace = false) =>
  runLocal({ exportDir: writeExport(spec), wave, stateDir: state, stderr: quiet, pipeline: FAST, replace });

export function json(args: string[], status = 0) {
  const r = cli(args);
  expect([r.status, r.stderr]).toEqual([status, status === 0 ? '' : expect.any(String)]);
  return status === 0 ? JSON.parse(r.stdout) : r.stderr;
}

/** The commands in this process (the command line itself is checked where its output or exit status is the point). */
export const register = (state: string, esepUserId: string, email: string) =>
  registerLocal({ esepUserId, email, stateDir: state });
export const statusText = async (state: string) => formatStatus(await status({ stateDir: state }));
export const verified = async (state: string, exportId: string) =>
  (await verifyLocal({ exportId, stateDir: state })).verification;
export const withdrawnChecked = (v: Verification) => v.checks.find((c) => c.name === 'withdrawn')?.checked;

/** The migrated bucket's keys under a prefix, and the link documents. */
/** An SEG account's profile folder in the target. */
export const profile = (account: string) => targetKeys.profile('seg-2022', account);

export async function target(state: string, prefix: string) {
  const p = await startLocalPipeline({ stateDir: state });
  try {
    const objects = s3Objects(p.clients.s3);
    const bucket = p.resources.buckets.migrated;
    const links = Object.fromEntries(
      await Promise.all(
        (await objects.list(bucket, 'links/')).map(async (k) => [
          k,
          JSON.parse((await objects.getText(bucket, k)) ?? ''),
        ]),
      ),
    );
    return { keys: await objects.list(bucket, prefix), links };
  } finally {
    await p.stop();
  }
}

/**
 * Exports whose records cross: an eTwinning export (the timeline's accounts) with an activity whose owner
 * x-1 is in a later export (PR-7), and a TwinSpace with an item that the later export also holds, redated.
 */
/** A TwinSpace that two eTwinning exports hold, registered when each says. */
const project = (registeredAt: string) => ({
  id: 'p-shared',
  title: 'Water',
  registeredAt,
  members: [
    { accountId: 'e-1', role: 'founder' },
    { accountId: 'e-2', role: 'member' },
  ],
});
export const CROSS_ET: Export = {
  exportId: 'et-2022',
  exportedAt: '2022-09-01T00:00:00Z',
  kinds: {
    // The timeline's eTwinning accounts: e-1 has the SEG account's e-mail, e-2 and e-3 share one.
    accounts: ET.kinds.accounts ?? [],
    // x-1 is in the other eTwinning export.
    activities: [activity('ea-1', 'e-1'), activity('ea-2', 'x-1')],
    projects: [project('2019-01-01T00:00:00Z')],
    'twinspace-items': [
      {
        id: 'i-1',
        projectId: 'p-shared',
        kind: 'page',
        title: 'Our page',
        authorId: 'e-2',
        createdAt: '2019-03-01T00:00:00Z',
      },
    ],
  },
};
/** A later export: another account, and the same TwinSpace redated (the later export holds it). */
export const CROSS_LATER: Export = {
  exportId: 'et-later',
  exportedAt: '2022-10-01T00:00:00Z',
  kinds: {
    accounts: [account('x-1', 'etwinning', 'x@school.example.eu')],
    projects: [project('2017-01-01T00:00:00Z')],
  },
};
