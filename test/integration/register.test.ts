import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { registerLocal } from '../../cli/commands/register';
import { runLocal } from '../../cli/commands/run';
import { depsFrom, handleRegistration } from '../../functions/account-link/handler';
import { logger } from '../../functions/adapters/observability';
import { s3Objects } from '../../functions/adapters/s3-objects';
import { startLocalPipeline } from '../../local/runtime/pipeline';
import { generateExport } from '../../tools/generate';
import { cli } from '../helpers/cli';

/** Account linking against the local stack (rules ID-1 to ID-9), after runs of a generated export. */
jest.setTimeout(180_000);

const FAST = { waitMs: 20, retryMs: 10, redeliverySeconds: 5 };
const quiet = { write: () => true };
const MARIA = 'Maria.Rossi@School1.example.eu'; // acc-000000 (eTwinning) and acc-000001 (SEG) in every generated export
const ZOE = 'zoë.müller@schule.example.de'; // acc-000002 (eTwinning) and acc-000003 (SEG)
let tmp: string;
let exportDir: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'esep-link-'));
  exportDir = join(tmp, 'link-export');
  await generateExport({ out: exportDir, accounts: 60, seed: 5 });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
}, 60_000);

/** Link items of the table and every object of the migrated bucket under the prefixes asked for. */
async function linkState(stateDir: string, prefixes: string[]) {
  const p = await startLocalPipeline({ stateDir });
  try {
    const scan = await p.clients.dynamo.send(new ScanCommand({ TableName: p.resources.table }));
    const links = (scan.Items ?? [])
      .filter((i) => /^(L|A|P)#/.test(i.pk?.S ?? ''))
      // Each state has an HMAC key of its own: the keyed e-mail differs between states, by design (ID-5).
      .map(({ emailKey: _key, ...i }) => JSON.stringify(i))
      .sort();
    const objects: Record<string, string> = {};
    const target = s3Objects(p.clients.s3);
    for (const prefix of prefixes)
      for (const key of await target.list(p.resources.buckets.migrated, prefix))
        objects[key] = (await target.getText(p.resources.buckets.migrated, key)) ?? '';
    return { links, objects };
  } finally {
    await p.stop();
  }
}

describe('esep-migrate register', () => {
  const state = () => join(tmp, 'state-cli');
  beforeAll(async () => {
    await runLocal({ exportDir, wave: 'sept-2022', stateDir: state(), stderr: quiet, pipeline: FAST });
  });
  /** Through the command line: one JSON line, never the e-mail. */
  const registerCli = (email: string, user: string) => {
    const r = cli(['register', '--email', email, '--user', user, '--state', state()]);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).not.toContain(email.trim());
    return JSON.parse(r.stdout);
  };
  /** The same command in this process (the rest of the cases). */
  const register = (email: string, user: string) =>
    registerLocal({ email, esepUserId: user, stateDir: state() });

  test('links by normalised e-mail (case, spaces, Unicode), eTwinning over SEG, after any wave indexed the export', async () => {
    expect(registerCli(`  ${MARIA.toUpperCase()} `, 'u-maria')).toEqual({
      esepUserId: 'u-maria',
      decision: 'linked',
      reason: 'LINKED',
      legacyAccountId: 'acc-000000',
      platform: 'etwinning',
      exportId: 'link-export',
    });
    expect(await register(ZOE.normalize('NFD').toUpperCase(), 'u-zoe')).toMatchObject({
      decision: 'linked',
      legacyAccountId: 'acc-000002',
    });
  });

  test('an SEG account links when its only eTwinning twin is schema-invalid or a duplicate line', async () => {
    expect(await register('jan.devries@basisschool.example.nl', 'u-jan')).toMatchObject({
      decision: 'linked',
      legacyAccountId: 'acc-000006',
    });
  });

  test('ambiguous, unknown and taken: not linked (pending), and nothing revealed; a repeat reads the current state', async () => {
    expect(await register('shared.staffroom@school7.example.eu', 'u-staff')).toEqual({
      esepUserId: 'u-staff',
      decision: 'not-linked',
      reason: 'AMBIGUOUS_LEGACY_EMAIL',
    });
    expect(await register('nobody@example.org', 'u-nobody')).toEqual({
      esepUserId: 'u-nobody',
      decision: 'not-linked',
      reason: 'LINK_PENDING',
    });
    // ID-4: a later registration with another e-mail changes nothing while the first one waits.
    expect(await register(MARIA, 'u-nobody')).toEqual({
      esepUserId: 'u-nobody',
      decision: 'not-linked',
      reason: 'LINK_FROZEN',
    });
    expect(await register(MARIA, 'u-maria')).toMatchObject({
      decision: 'linked',
      legacyAccountId: 'acc-000000',
    });
    expect(await register(MARIA, 'u-other')).toEqual({
      esepUserId: 'u-other',
      decision: 'not-linked',
      reason: 'LINK_PENDING',
    });
  });

  test('the link document names ids only', async () => {
    const { objects } = await linkState(state(), ['links/']);
    expect(JSON.parse(objects['links/u-maria.json'] as string)).toEqual({
      esepUserId: 'u-maria',
      legacyAccountId: 'acc-000000',
      platform: 'etwinning',
      exportId: 'link-export',
      reason: 'LINKED',
      // The generated SEG account with her e-mail, superseded (ID-3): its places are hers.
      supersedes: [{ platform: 'seg', accountId: 'acc-000001' }],
    });
    expect(Object.keys(objects).sort()).toEqual([
      'links/u-jan.json',
      'links/u-maria.json',
      'links/u-zoe.json',
    ]);
  });

  test('bad arguments are refused with exit 2', () => {
    expect(cli(['register', '--email', 'not-an-address', '--user', 'u', '--state', state()]).status).toBe(2);
    expect(cli(['register', '--email', MARIA, '--state', state()]).stderr).toMatch(
      /required option '--user <esepUserId>' not specified/,
    );
  });
});

test('two deliveries of one registration at once give one link; the handler logs ids, never the e-mail', async () => {
  const stateDir = join(tmp, 'state-concurrent');
  await runLocal({ exportDir, wave: 'nov-2022', stateDir, stderr: quiet, pipeline: FAST });
  const p = await startLocalPipeline({ stateDir });
  const written: string[] = [];
  const capture = (chunk: unknown) => {
    written.push(String(chunk));
    return true;
  };
  const out = jest.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(capture);
  logger.setLogLevel('INFO');
  try {
    const deps = depsFrom(p.clients, p.environments.get('account-link') as NodeJS.ProcessEnv);
    const detail = { esepUserId: 'u-twice', email: MARIA, registeredAt: '2023-02-01T10:00:00Z' };
    const outcomes = await Promise.all([handleRegistration(detail, deps), handleRegistration(detail, deps)]);
    expect(outcomes.map((o) => [o.reason, o.legacyAccountId])).toEqual([
      ['LINKED', 'acc-000000'],
      ['LINKED', 'acc-000000'],
    ]);
  } finally {
    logger.setLogLevel('SILENT');
    out.mockRestore();
    err.mockRestore();
    await p.stop();
  }
  const logs = written.join('');
  expect(logs).toContain('registration decided');
  expect(logs.toLowerCase()).not.toContain('maria.rossi');
  const { links } = await linkState(stateDir, []);
  expect(links.filter((l) => l.includes('"A#etwinning#acc-000000"'))).toHaveLength(1);
  expect(links.filter((l) => l.includes('L#u-twice'))).toHaveLength(1);
});
