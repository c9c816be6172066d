import type { LedgerEntry, PipelineStore } from '../ports';
import {
  type BlobStatus,
  type DecisionContext,
  decideLine,
  indexKey,
  type LineResult,
  parseLine,
  settleBlob,
  validateRecord,
} from '../rules/decide';
import { emailKey } from '../rules/identity';
import { INDEXES_BEFORE_DECIDING, isContainerKind, PARENTS } from '../rules/kinds';
import type { CompiledPolicy } from '../rules/policy';
import type { FileRef } from '../rules/schemas';
import type { ChunkCounts, ChunkLine, ChunkMessage } from './chunks';

export interface ChunkWorkDeps {
  readonly store: PipelineStore;
  readonly policy: CompiledPolicy;
  /** The identity index's HMAC key: e-mails are compared as keyed hashes, never stored. */
  readonly emailSecret: string;
  readonly blobStatus: (ref: FileRef) => Promise<BlobStatus>;
}

export interface ChunkOutcome {
  readonly counts: ChunkCounts;
  /** The decided lines (decide chunks only), with the records that migrate. */
  readonly results: readonly (LedgerEntry & { readonly result: LineResult })[];
}

const strings = (values: unknown[]) => [
  ...new Set(values.filter((v): v is string => typeof v === 'string' && v !== '')),
];

/**
 * One chunk of one step of the stage plan, against the pipeline's store: the distributed counterpart of
 * `decideExport`, calling the same `decideLine`. Safe to run again (a redelivered message): every write
 * it makes is keyed by the line and holds the same value.
 */
export async function workChunk(
  msg: ChunkMessage,
  lines: readonly ChunkLine[],
  deps: ChunkWorkDeps,
): Promise<ChunkOutcome> {
  const { store, policy } = deps;
  const counts: ChunkCounts = { lines: lines.length, migrated: 0, dropped: 0, quarantined: 0 };
  const parsed = lines.map((line) => ({
    line,
    parsed: 'unreadable' in line ? undefined : parseLine(line.text),
  }));
  const ok = parsed.flatMap(({ line, parsed: p }) => (p?.ok ? [{ line, id: p.id, raw: p.raw }] : []));

  if (msg.op === 'index') {
    const keys: string[] = [];
    for (const { line, raw } of ok) {
      if (line.duplicate) continue;
      const valid = validateRecord(msg.kind, raw);
      if (!valid.ok) continue;
      const key = msg.index
        ? indexKey(msg.index, valid.record, policy, (email) => emailKey(deps.emailSecret, email))
        : undefined;
      if (key !== undefined) keys.push(key);
    }
    if (msg.index) await store.addToIndex(msg.scope, msg.index, strings(keys));
    return { counts, results: [] };
  }

  // decide: prefetch what the rules need, then decide each line with the same pure functions as `plan`.
  const parent = PARENTS[msg.kind];
  const parents = parent
    ? await store.containerDecisions(msg.scope, parent.kind, strings(ok.map((o) => o.raw[parent.field])))
    : new Map();
  const activeGroups =
    INDEXES_BEFORE_DECIDING[msg.kind]?.index === 'group-activity'
      ? await store.inIndex(msg.scope, 'group-activity', strings(ok.map((o) => o.id)))
      : new Set<string>();
  const emailKeys = new Map<string, string>();
  if (INDEXES_BEFORE_DECIDING[msg.kind]?.index === 'etwinning-emails') {
    for (const email of strings(ok.map((o) => o.raw.email)))
      emailKeys.set(email, emailKey(deps.emailSecret, email));
  }
  const etwinning =
    emailKeys.size > 0
      ? await store.inIndex(msg.scope, 'etwinning-emails', [...new Set(emailKeys.values())])
      : new Set<string>();
  const ctx: DecisionContext = {
    policy,
    // Every id that has a line has a standing line, and every standing container line has a decision.
    parentStatus: (_kind, id) => {
      const decision = parents.get(id);
      return !decision ? 'absent' : decision === 'migrated' ? 'migrated' : 'not-migrated';
    },
    isGroupActive: (id) => activeGroups.has(id),
    hasEtwinningAccount: (email) => etwinning.has(emailKeys.get(email) ?? emailKey(deps.emailSecret, email)),
  };

  const results: (LedgerEntry & { result: LineResult })[] = [];
  const containerDecisions: { id: string; decision: LedgerEntry['decision'] }[] = [];
  for (const line of lines) {
    let stood = false;
    let result = decideLine(msg.kind, msg.wave, msg.path, line, ctx, () => {
      stood = !line.duplicate;
      return stood;
    });
    if (result.needsBlob)
      result = { ...result, decided: settleBlob(result, await deps.blobStatus(result.needsBlob)) };
    const decided = result.decided;
    counts[decided.decision]++;
    if (stood) containerDecisions.push({ id: decided.id, decision: decided.decision });
    results.push({ ...decided, line: line.lineNo, result });
  }
  if (isContainerKind(msg.kind)) await store.putContainerDecisions(msg.scope, msg.kind, containerDecisions);
  await store.putDecisions(
    msg.exportId,
    results.map(({ result: _r, ...entry }) => entry),
  );
  return { counts, results };
}
