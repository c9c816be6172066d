import { type Clients, lambdaEntry, secretString, WORKFLOW_ENV, workflowDeps } from '../adapters/aws';
import { readConfig } from '../adapters/config';
import { dynamoIdentities } from '../adapters/dynamo-store';
import { logger } from '../adapters/observability';
import type { Run, WorkflowDeps } from '../core/pipeline/steps';
import { parseLine, validateRecord } from '../core/rules/decide';
import { emailKey } from '../core/rules/identity';
import type { IdentityEntry, IdentityStore } from '../core/rules/linking';
import { readManifest } from '../core/rules/manifest';
import { readLines } from '../core/rules/ndjson';
import type { RecordOf } from '../core/rules/schemas';

/**
 * Indexes the export's accounts for linking, whatever the wave (rule ID-6): keyed HMAC of the normalised
 * e-mail to the legacy account and platform. Standing, schema-valid accounts only; never an e-mail.
 */
export const makeHandler =
  (deps: { workflow: WorkflowDeps; identities: IdentityStore; secret: () => Promise<string> }) =>
  async (event: { run: Run }): Promise<{ indexed: number }> => {
    const source = deps.workflow.source(event.run.exportId);
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
      if (batch.length >= 500) {
        await deps.identities.putIdentities(batch);
        indexed += batch.length;
        batch = [];
      }
    }
    await deps.identities.putIdentities(batch);
    indexed += batch.length;
    logger.info('identities indexed', { exportId: event.run.exportId, indexed });
    return { indexed };
  };

export function depsFrom(clients: Clients, env: NodeJS.ProcessEnv) {
  const config = readConfig([...WORKFLOW_ENV, 'emailKeySecret'], env);
  return {
    workflow: workflowDeps(clients, config),
    identities: dynamoIdentities(clients.dynamo, config.table),
    secret: () => secretString(clients.secrets, config.emailKeySecret),
  };
}
export const handler = lambdaEntry(makeHandler, depsFrom);
