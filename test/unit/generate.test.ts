import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { MARKER } from '../../cli/folders';
import { decideExport } from '../../functions/core/pipeline/decide-export';
import { buildStagePlan } from '../../functions/core/pipeline/stages';
import type { DecidedRecord } from '../../functions/core/rules/decide';
import { normaliseEmail } from '../../functions/core/rules/identity';
import { validateExport } from '../../functions/core/rules/manifest';
import { compilePolicy } from '../../functions/core/rules/policy';
import { REASON_CODES } from '../../functions/core/rules/reasons';
import { fsExportSource } from '../../local/runtime/fs-export-source';
import { generateExport } from '../../tools/generate';
import { ROOT } from '../helpers/cli';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'esep-gen-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
}, 60_000);

/** Every file of an export folder with the SHA-256 of its bytes. */
function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (sub: string) => {
    for (const entry of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = sub ? `${sub}/${entry.name}` : entry.name;
      if (rel === MARKER) continue; // the CLI's mark on a folder it wrote, not part of the export
      if (entry.isDirectory()) walk(rel);
      else
        out[rel] = createHash('sha256')
          .update(readFileSync(join(dir, rel)))
          .digest('hex');
    }
  };
  walk('');
  return out;
}

const text = (dir: string, path: string) => {
  const bytes = readFileSync(join(dir, path));
  return (path.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('utf8');
};

describe('generate', () => {
  test('is deterministic for a seed, and another seed gives another export', async () => {
    await generateExport({ out: join(tmp, 'a', 'exp'), accounts: 120, seed: 5 });
    await generateExport({ out: join(tmp, 'b', 'exp'), accounts: 120, seed: 5 });
    await generateExport({ out: join(tmp, 'c', 'exp'), accounts: 120, seed: 6 });
    expect(fingerprint(join(tmp, 'b', 'exp'))).toEqual(fingerprint(join(tmp, 'a', 'exp')));
    expect(fingerprint(join(tmp, 'c', 'exp'))['manifest.json']).not.toBe(
      fingerprint(join(tmp, 'a', 'exp'))['manifest.json'],
    );
  });

  test('the committed sample is what the generator makes (npm run sample:regenerate)', async () => {
    const out = join(tmp, 'sample', 'export');
    await generateExport({ out, accounts: 50, seed: 2022 });
    expect(fingerprint(join(ROOT, 'samples', 'export'))).toEqual(fingerprint(out));
  });

  test('holds every edge case of the rules, and every reason code comes out', async () => {
    const dir = join(tmp, 'edges', 'exp');
    await generateExport({ out: dir, accounts: 300, seed: 11 });
    const source = fsExportSource(dir);
    const validated = await validateExport(source);
    const policy = compilePolicy();
    const records: DecidedRecord[] = [];
    await decideExport({
      source,
      validated,
      policy,
      waves: buildStagePlan(policy),
      sink: (r) => void records.push(r),
    });
    const reasons = new Set(records.map((r) => r.reason));
    // The codes that only a policy switch brings out (the default policy never decides them), the one
    // that only a second export brings out (a later export holding the same TwinSpace or group), and the
    // one that only an erasure request brings out (ER-1).
    expect(REASON_CODES.filter((c) => !reasons.has(c))).toEqual([
      'CONTACTS_MIGRATED',
      'EVENT_BEFORE_CUTOFF',
      'IN_LATER_EXPORT',
      'ERASED',
    ]);

    const files = validated.manifest.files;
    expect(files.map((f) => f.kind).sort()).toEqual(Object.keys(policy.waveOf).sort());
    expect(files.some((f) => f.path.endsWith('.gz'))).toBe(true);
    const raw = Object.fromEntries(files.map((f) => [f.kind, text(dir, f.path)]));
    expect(raw.activities).toContain('\r\n');
    expect(raw['feed-posts']?.startsWith('\ufeff')).toBe(true);
    expect(raw.mailbox).toContain('\ufffd'); // the invalid UTF-8 line, decoded leniently here
    for (const ts of [
      '2018-06-30T23:59:59+02:00',
      '2018-06-30T23:00:00+01:00',
      '2020-12-31T23:59:59+01:00',
      '2021-01-01T01:00:00+02:00',
      '2022-02-22T00:00:00+01:00',
    ]) {
      expect(Object.values(raw).join('\n')).toContain(ts);
    }
    expect(raw['twinspace-items']).toContain('../../etc/passwd');
    expect(raw['twinspace-items']).toContain('\\u0007');

    const parsed = (l: string) => {
      try {
        return JSON.parse(l);
      } catch {
        return undefined;
      }
    };
    const accounts = (raw.accounts ?? '')
      .split('\n')
      .map(parsed)
      .filter((a) => a && typeof a.id === 'string');
    const byEmail = new Map<string, string[]>();
    for (const a of accounts)
      if (a.email)
        byEmail.set(normaliseEmail(a.email), [...(byEmail.get(normaliseEmail(a.email)) ?? []), a.platform]);
    const groups = [...byEmail.values()];
    expect(groups.some((p) => p.includes('seg') && p.includes('etwinning'))).toBe(true);
    expect(groups.some((p) => p.filter((x) => x === 'etwinning').length >= 2)).toBe(true);
    expect(accounts.some((a) => a.email && a.email !== a.email.normalize('NFC'))).toBe(true);
    expect(
      accounts.filter((a) => typeof a.passwordHash === 'string' && typeof a.login === 'string').length,
    ).toBeGreaterThan(accounts.length / 2);
  });

  test('rejects a folder name that cannot be an exportId, and a bad count', async () => {
    await expect(generateExport({ out: join(tmp, 'bad name!'), accounts: 1, seed: 1 })).rejects.toThrow(
      /not a valid exportId/,
    );
    await expect(generateExport({ out: join(tmp, 'x'), accounts: 0, seed: 1 })).rejects.toThrow(/--accounts/);
  });
});
