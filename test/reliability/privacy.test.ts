import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { normaliseEmail } from '../../functions/core/rules/identity';
import { generateExport } from '../../tools/generate';
import { BIN, ROOT } from '../helpers/cli';
import { recordFigures, scale } from './support';

/**
 * Privacy: a whole run, a registration and a verify with every log captured at DEBUG (Powertools logs
 * and metrics of every function, the command's own output) hold no e-mail address, name, password hash
 * or login of the export; the target and the reports hold no password hash, login or e-mail address.
 */
jest.setTimeout(scale(180_000, 900_000));

let tmp: string;
let exportDir: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'esep-privacy-'));
  exportDir = join(tmp, 'privacy-export');
  await generateExport({ out: exportDir, accounts: scale(60, 400), seed: 4 });
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
}, 60_000);

/** The export's personal data and credentials, by what they are. */
function secrets() {
  const manifest = JSON.parse(readFileSync(join(exportDir, 'manifest.json'), 'utf8'));
  const path = manifest.files.find((f: { kind: string }) => f.kind === 'accounts').path as string;
  const bytes = readFileSync(join(exportDir, path));
  const found = { emails: new Set<string>(), names: new Set<string>(), credentials: new Set<string>() };
  for (const line of (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8').split('\n')) {
    let a: Record<string, unknown>;
    try {
      a = JSON.parse(line);
    } catch {
      continue;
    }
    const add = (set: Set<string>, v: unknown) => {
      if (typeof v === 'string' && v.trim().length >= 4) set.add(v.trim());
    };
    add(found.emails, a.email);
    if (typeof a.email === 'string') add(found.emails, normaliseEmail(a.email));
    add(found.names, a.firstName);
    add(found.names, a.lastName);
    add(found.credentials, a.passwordHash);
    add(found.credentials, a.login);
  }
  return found;
}

function command(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: {
      ...process.env,
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      POWERTOOLS_METRICS_DISABLED: 'false',
      POWERTOOLS_DEV: 'false',
    },
    maxBuffer: 512 * 1024 * 1024,
  });
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

test('no personal data or credential in any log, nor any credential or e-mail in the target or reports', () => {
  const s = secrets();
  expect(s.emails.size).toBeGreaterThan(20);
  expect(s.credentials.size).toBeGreaterThan(10);
  const state = join(tmp, 'state');
  const email = [...s.emails][0] as string;
  const runs = [
    command(['run', exportDir, '--state', state, '--out', join(tmp, 'report')]),
    command(['register', '--email', email, '--user', 'esep-user-1', '--state', state]),
    command(['verify', 'privacy-export', '--state', state]),
  ];
  // Each command's exit status, and what it said when it failed (so a failure names its command).
  const names = ['run', 'register', 'verify'];
  const said = (r: (typeof runs)[number]) =>
    r.stderr
      .split('\n')
      .filter((l) => l.startsWith('esep-migrate'))
      .join(' ');
  expect(runs.map((r, i) => `${names[i]}: ${r.status}${r.status === 0 ? '' : ` ${said(r)}`}`)).toEqual(
    names.map((n) => `${n}: 0`),
  );
  const logs = runs.map((r) => `${r.stdout}\n${r.stderr}`).join('\n');
  const logLines = logs.split('\n').filter((l) => l.startsWith('{'));
  // The logs were really captured: every function logged at DEBUG.
  expect(logLines.length).toBeGreaterThan(50);
  expect(logs).toContain('"message":"chunk done"');
  expect(logs).toContain('"message":"report written"');
  const leaks: string[] = [];
  for (const [what, values] of Object.entries(s))
    for (const v of values) if (logs.includes(v)) leaks.push(`${what} in the logs`);

  // The target and the reports: no credential, no e-mail address (names belong in staged profiles).
  const objects = filesUnder(join(state, 's3')).filter(
    (f) => /esep-(migrated|reports)/i.test(f) && f.endsWith('_S3rver_object'),
  );
  expect(objects.length).toBeGreaterThan(200);
  for (const f of objects) {
    const text = readFileSync(f, 'latin1');
    for (const v of [...s.credentials, ...s.emails])
      if (text.includes(v)) leaks.push(`${v.includes('@') ? 'an e-mail' : 'a credential'} in ${f}`);
    if (/"(passwordHash|login|email)"\s*:/.test(text)) leaks.push(`a credential field in ${f}`);
  }
  // The run's work area: its chunk sets (the export's lines, e-mails among them; credentials dropped on
  // read, ID-1) are deleted as they are worked; what stays (the ledger, the report's parts) holds no
  // e-mail address or credential.
  const staged = filesUnder(join(state, 's3')).filter(
    (f) => /esep-exports/i.test(f) && f.includes(`${sep}work${sep}`) && f.endsWith('_S3rver_object'),
  );
  expect(staged.length).toBeGreaterThan(10);
  for (const f of staged) {
    if (/\.(decide|index|identify|link)[/\\]/.test(f)) leaks.push(`a chunk set left in ${f}`);
    const text = readFileSync(f, 'latin1');
    for (const v of [...s.credentials, ...s.emails])
      if (text.includes(v)) leaks.push(`${v.includes('@') ? 'an e-mail' : 'a credential'} in ${f}`);
  }
  expect(leaks).toEqual([]);
  recordFigures('privacy', {
    logLinesScanned: logLines.length,
    targetObjectsScanned: objects.length,
    leaks: leaks.length,
  });
});
