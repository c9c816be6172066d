import { IdTable } from '../id-table';
import type { Withdrawal } from '../ports';
import { normaliseEmail } from '../rules/identity';
import { readManifest } from '../rules/manifest';
import { readLines } from '../rules/ndjson';
import { CREDENTIAL_FIELDS } from '../rules/schemas';
import type { Run, WorkflowDeps } from './run';

/** Strings that must never reach the target: the export's password hashes, logins and e-mail addresses. */
async function readForbiddenValues(run: Run, deps: WorkflowDeps): Promise<IdTable> {
  const source = deps.source(run.exportId);
  const { files } = await readManifest(source);
  const accounts = files.get('accounts');
  const values = new IdTable();
  const bytes = accounts ? await source.open(accounts.path) : undefined;
  if (!bytes) return values;
  for await (const line of readLines(bytes)) {
    if ('unreadable' in line) continue;
    let raw: Record<string, unknown>;
    try {
      raw = JSON.parse(line.text);
    } catch {
      continue;
    }
    // Short values (a login "jan") would match ordinary words; exact matches of 6+ characters only.
    for (const field of [...CREDENTIAL_FIELDS, 'email']) {
      const v = raw?.[field];
      if (typeof v === 'string' && v.trim().length >= 6) {
        values.add(v);
        if (field === 'email') values.add(normaliseEmail(v));
      }
    }
  }
  return values;
}

/**
 * What every part of a run reads once per container, on first use (the export's credentials, the scope's
 * withdrawals), kept with the deps it was read through.
 */
interface RunFacts {
  readonly run: string;
  forbidden?: Promise<IdTable>;
  withdrawn?: Promise<Map<string, Withdrawal>>;
}
const perRun = new WeakMap<WorkflowDeps, RunFacts>();
export function runFacts(run: Run, deps: WorkflowDeps) {
  let facts = perRun.get(deps);
  if (facts?.run !== `${run.scope}|${run.startedAt}`) {
    facts = { run: `${run.scope}|${run.startedAt}` };
    perRun.set(deps, facts);
  }
  const f = facts;
  return {
    forbidden: () => {
      f.forbidden ??= readForbiddenValues(run, deps);
      return f.forbidden;
    },
    withdrawn: () => {
      f.withdrawn ??= deps.store
        .withdrawals(run.scope)
        .then((all) => new Map(all.map((w) => [`${w.kind}#${w.id}`, w])));
      return f.withdrawn;
    },
  };
}
