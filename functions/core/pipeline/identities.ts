import type { IdentityEntry, IdentityStore } from '../ports';
import { parseLine, validateRecord } from '../rules/decide';
import { emailKey } from '../rules/identity';
import { readManifest } from '../rules/manifest';
import { readLines } from '../rules/ndjson';
import type { RecordOf } from '../rules/schemas';
import type { Run, WorkflowDeps } from './run';

/** Identities written per batch. */
const BATCH = 500;

/**
 * Indexes the export's accounts for linking, whatever the wave (rule ID-6): keyed HMAC of the normalised
 * e-mail to the legacy account and platform. Standing, schema-valid accounts only; never an e-mail.
 */
export async function indexIdentities(
  run: Run,
  deps: { workflow: WorkflowDeps; identities: IdentityStore; secret: () => Promise<string> },
): Promise<{ indexed: number }> {
  const source = deps.workflow.source(run.exportId);
  const file = (await readManifest(source)).files.get('accounts');
  const bytes = file && (await source.open(file.path));
  if (!bytes) return { indexed: 0 };
  const secret = await deps.secret();
  const seen = new Set<string>();
  let batch: IdentityEntry[] = [];
  let indexed = 0;
  for await (const line of readLines(bytes)) {
    if ('unreadable' in line) continue;
    const parsed = parseLine(line.text);
    if (!parsed.ok || seen.has(parsed.id)) continue;
    seen.add(parsed.id);
    const valid = validateRecord('accounts', parsed.raw);
    if (!valid.ok) continue;
    const account = valid.record as RecordOf<'accounts'>;
    batch.push({ key: emailKey(secret, account.email), platform: account.platform, accountId: account.id });
    if (batch.length >= BATCH) {
      await deps.identities.putIdentities(batch);
      indexed += batch.length;
      batch = [];
    }
  }
  await deps.identities.putIdentities(batch);
  indexed += batch.length;
  return { indexed };
}
