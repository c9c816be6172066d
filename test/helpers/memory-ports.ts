import { createHash } from 'node:crypto';
import type { ChunkCounts } from '../../functions/core/pipeline/chunks';
import type {
  AccountRef,
  ChunkRef,
  ContainerHolder,
  IdentityStore,
  IndexedAccount,
  ObjectStore,
  PipelineStore,
  RunLock,
  RunStatus,
  UserLink,
  Withdrawal,
} from '../../functions/core/ports';
import type { ParentDecision } from '../../functions/core/rules/decide';
import type { Erasure } from '../../functions/core/rules/erasure';
import { isHeldKind } from '../../functions/core/rules/kinds';

/** The pipeline's ports in memory: the same contracts as DynamoDB and S3, for fast tests of the logic. */
export function memoryStore() {
  /** TwinSpaces' and groups' holders across exports, with each run's decision (as DynamoDB keeps them). */
  const holders = new Map<string, Partial<ContainerHolder>>();
  const awaited = new Map<string, Set<string>>();
  const containers = new Map<string, ParentDecision>();
  const people = new Map<string, string[]>();
  const index = new Set<string>();
  const markers = new Map<string, Map<string, ChunkCounts>>();
  const expectations = new Map<string, Readonly<Record<string, number>>>();
  /** Chunks counted done, and the tokens of the tasks waiting, by scope and stage. */
  const counted = new Map<string, { done: number; lines: number; uncertain?: true }>();
  const tokens = new Map<string, string>();
  const runs = new Map<string, RunStatus>();
  const withdrawn = new Map<string, Map<string, Withdrawal>>();
  const locks = new Map<string, RunLock>();
  const store: PipelineStore = {
    async lockRun(exportId, holder, staleBefore) {
      const held = locks.get(exportId);
      if (held && held.executionId !== holder.executionId && held.at >= staleBefore) return { ...held };
      locks.set(exportId, { ...holder });
      return true;
    },
    async unlockRun(exportId, executionId) {
      if (executionId === undefined || locks.get(exportId)?.executionId === executionId)
        locks.delete(exportId);
    },
    async runLocks() {
      return [...locks].map(([exportId, l]) => ({ exportId, ...l }));
    },
    async putWithdrawals(exportId, entries) {
      const m = withdrawn.get(exportId) ?? new Map<string, Withdrawal>();
      withdrawn.set(exportId, m);
      for (const w of entries) m.set(`${w.kind}#${w.id}`, w);
    },
    async withdrawals(exportId) {
      return [...(withdrawn.get(exportId)?.values() ?? [])];
    },
    async removeWithdrawals(scope, entries) {
      for (const w of entries) withdrawn.get(scope)?.delete(`${w.kind}#${w.id}`);
    },
    async clearChunkMarkers(scope, stage) {
      markers.delete(`${scope}#${stage}`);
      counted.delete(`${scope}#${stage}`);
    },
    async containerDecisions(scope, kind, ids) {
      const out = new Map<string, ParentDecision>();
      for (const id of ids) {
        const d = isHeldKind(kind)
          ? holders.get(`${kind}#${id}`)?.decisions?.[scope]
          : containers.get(`${scope}#${kind}#${id}`);
        if (d) out.set(id, d);
      }
      return out;
    },
    async putContainerDecisions(scope, kind, entries) {
      for (const { id, decision } of entries)
        if (isHeldKind(kind)) await store.decideHeld(kind, id, { scope, decision });
        else containers.set(`${scope}#${kind}#${id}`, decision);
    },
    async awaitOwners(entries) {
      for (const { owner, chunk } of entries) {
        const set = awaited.get(owner) ?? new Set<string>();
        set.add(JSON.stringify(chunk));
        awaited.set(owner, set);
      }
    },
    async awaitedChunks(owners) {
      const out = new Map<string, ChunkRef[]>();
      for (const owner of owners) {
        const set = awaited.get(owner);
        if (set && set.size > 0)
          out.set(
            owner,
            [...set].map((c) => JSON.parse(c) as ChunkRef),
          );
      }
      return out;
    },
    async stopAwaiting(owner) {
      awaited.delete(owner);
    },
    async forgetChunk({ scope, stage, chunk }) {
      const c = counted.get(`${scope}#${stage}`);
      if (c) c.uncertain = true;
      markers.get(`${scope}#${stage}`)?.delete(chunk);
    },
    async containerHolders(kind, ids) {
      const out = new Map<string, ContainerHolder>();
      for (const id of ids) {
        const h = holders.get(`${kind}#${id}`);
        if (h?.exportId) out.set(id, { ...h } as ContainerHolder);
      }
      return out;
    },
    async decideHeld(kind, id, decided, hold) {
      const now = holders.get(`${kind}#${id}`);
      if (hold) {
        const same =
          hold.expected === undefined
            ? !now?.exportId
            : now?.exportId === hold.expected.exportId && now.exportedMs === hold.expected.exportedMs;
        if (!same) return false;
      }
      const decisions = { ...now?.decisions, [decided.scope]: decided.decision };
      holders.set(`${kind}#${id}`, { ...now, ...(hold ? hold.holder : {}), decisions } as ContainerHolder);
      if (decided.people?.length) people.set(`${decided.scope}#${kind}#${id}`, [...decided.people]);
      return true;
    },
    async unlistHeldPerson(scope, kind, id, accountId) {
      const key = `${scope}#${kind}#${id}`;
      const rest = people.get(key)?.filter((p) => p !== accountId);
      if (rest?.length) people.set(key, rest);
      else people.delete(key);
    },
    async heldPeople(scope, kind, ids) {
      const out = new Map<string, string[]>();
      for (const id of ids) {
        const found = people.get(`${scope}#${kind}#${id}`);
        if (found) out.set(id, [...found]);
      }
      return out;
    },
    async addToIndex(scope, name, keys) {
      for (const k of keys) index.add(`${scope}#${name}#${k}`);
    },
    async inIndex(scope, name, keys) {
      return new Set(keys.filter((k) => index.has(`${scope}#${name}#${k}`)));
    },
    async hasChunkMarker(scope, stage, chunk) {
      return markers.get(`${scope}#${stage}`)?.has(chunk) ?? false;
    },
    async chunkMarkersBetween(scope, stage, first, last) {
      return [...(markers.get(`${scope}#${stage}`)?.keys() ?? [])]
        .filter((id) => id >= first && id <= last)
        .sort();
    },
    async putChunkMarker(scope, stage, chunk, counts) {
      const m = markers.get(`${scope}#${stage}`) ?? new Map<string, ChunkCounts>();
      markers.set(`${scope}#${stage}`, m);
      if (m.has(chunk)) return false;
      m.set(chunk, counts);
      return true;
    },
    async stageProgress(scope, stage) {
      const counts: ChunkCounts = { lines: 0, migrated: 0, dropped: 0, quarantined: 0 };
      const m = markers.get(`${scope}#${stage}`) ?? new Map();
      for (const c of m.values())
        for (const k of Object.keys(counts) as (keyof ChunkCounts)[]) counts[k] += c[k];
      return { chunks: m.size, counts, ids: [...m.keys()] };
    },
    async putStageExpectation(scope, stage, chunks) {
      expectations.set(`${scope}#${stage}`, chunks);
    },
    async stageExpectation(scope, stage) {
      return expectations.get(`${scope}#${stage}`);
    },
    async countChunk(scope, stage, counts) {
      const key = `${scope}#${stage}`;
      const c = counted.get(key) ?? { done: 0, lines: 0 };
      counted.set(key, c);
      c.done++;
      c.lines += counts?.lines ?? 0;
      if (!counts) c.uncertain = true;
      return store.stageCount(scope, stage);
    },
    async stageCount(scope, stage) {
      const key = `${scope}#${stage}`;
      const c = counted.get(key) ?? { done: 0, lines: 0 };
      const chunks = expectations.get(key);
      const token = tokens.get(key);
      return {
        done: c.done,
        expected: chunks ? Object.values(chunks).reduce((a, b) => a + b, 0) : Number.POSITIVE_INFINITY,
        lines: c.lines,
        ...(token === undefined ? {} : { token }),
        ...(c.uncertain ? { uncertain: true as const } : {}),
      };
    },
    async awaitStage(scope, stage, token) {
      tokens.set(`${scope}#${stage}`, token);
    },
    async runStatuses(exportId) {
      return [...runs.entries()].filter(([k]) => k.startsWith(`${exportId}#`)).map(([, r]) => r);
    },
    async allRunStatuses() {
      return [...runs.entries()].map(([k, r]) => ({ exportId: k.slice(0, k.indexOf('#')), ...r }));
    },
    async putRunStatus(exportId, status) {
      runs.set(`${exportId}#${status.waves.join('+')}#${status.scope}`, status);
    },
  };
  return { store, runs, markers };
}

export function memoryObjects() {
  const objects = new Map<string, Buffer>();
  /** The SHA-256 a copy kept, with the bytes it belongs to (as S3 keeps a checksum with an object's version). */
  const checksums = new Map<string, { bytes: Buffer; sha256: string }>();
  const store: ObjectStore = {
    async get(bucket, key) {
      const bytes = objects.get(`${bucket}/${key}`);
      return bytes
        ? (async function* () {
            yield bytes;
          })()
        : undefined;
    },
    async getText(bucket, key) {
      return objects.get(`${bucket}/${key}`)?.toString('utf8');
    },
    async put(bucket, key, body) {
      objects.set(`${bucket}/${key}`, Buffer.from(body));
    },
    async delete(bucket, key) {
      objects.delete(`${bucket}/${key}`);
    },
    async copy(fromBucket, fromKey, toBucket, toKey) {
      const bytes = objects.get(`${fromBucket}/${fromKey}`);
      if (!bytes) throw Object.assign(new Error(`NoSuchKey ${fromKey}`), { name: 'NoSuchKey' });
      objects.set(`${toBucket}/${toKey}`, bytes);
      checksums.set(`${toBucket}/${toKey}`, {
        bytes,
        sha256: createHash('sha256').update(bytes).digest('hex'),
      });
    },
    async storedSha256(bucket, key) {
      const bytes = objects.get(`${bucket}/${key}`);
      const kept = checksums.get(`${bucket}/${key}`);
      if (!bytes) return { exists: false };
      return kept?.bytes === bytes ? { exists: true, sha256: kept.sha256 } : { exists: true };
    },
    async list(bucket, prefix, page) {
      const keys = [...objects.keys()]
        .filter((k) => k.startsWith(`${bucket}/${prefix}`))
        .map((k) => k.slice(bucket.length + 1))
        .sort()
        .filter((k) => !page?.startAfter || k > page.startAfter);
      return page ? keys.slice(0, page.max) : keys;
    },
  };
  return { objects, store };
}

/** An object store whose reads (getText) are counted: how many one step of a fold or join makes. */
export function countingReads(store: ObjectStore) {
  let reads = 0;
  const objects: ObjectStore = {
    ...store,
    getText: (bucket, key) => {
      reads++;
      return store.getText(bucket, key);
    },
  };
  return {
    objects,
    reads: () => reads,
    resetReads: () => {
      reads = 0;
    },
  };
}

export function memoryIdentities() {
  const accounts = new Map<string, IndexedAccount>();
  const emails = new Map<string, Map<string, AccountRef>>();
  const links = new Map<string, UserLink>();
  const holders = new Map<string, string>();
  const pending = new Map<string, Set<string>>();
  const erasures = new Map<string, Erasure>();
  const ref = (a: AccountRef) => `${a.platform}#${a.accountId}`;
  const store: IdentityStore = {
    async accounts(refs) {
      const out = new Map<string, IndexedAccount>();
      for (const r of refs) {
        const a = accounts.get(ref(r));
        if (a) out.set(ref(r), { ...a });
      }
      return out;
    },
    async putAccount(account, expected) {
      const now = accounts.get(ref(account));
      const same =
        expected === undefined
          ? now === undefined
          : now?.exportId === expected.exportId &&
            now.exportedAt === expected.exportedAt &&
            now.emailKey === expected.emailKey;
      if (!same) return false;
      accounts.set(ref(account), { ...account });
      return true;
    },
    async withEmail(key) {
      return [...(emails.get(key)?.values() ?? [])];
    },
    async putEmailEntries(entries) {
      for (const { emailKey, account } of entries) {
        const m = emails.get(emailKey) ?? new Map<string, AccountRef>();
        emails.set(emailKey, m);
        m.set(ref(account), { platform: account.platform, accountId: account.accountId });
      }
    },
    async userLink(user) {
      const l = links.get(user);
      return l && { ...l };
    },
    async putUserLink(link, expected) {
      if (links.get(link.esepUserId)?.version !== expected) return false;
      links.set(link.esepUserId, { ...link });
      return true;
    },
    async holderOf(account) {
      return holders.get(ref(account));
    },
    async claim(account, user) {
      const holder = holders.get(ref(account));
      if (holder && holder !== user) return false;
      holders.set(ref(account), user);
      return true;
    },
    async release(account, user) {
      if (holders.get(ref(account)) === user) holders.delete(ref(account));
    },
    async pending(key) {
      return [...(pending.get(key) ?? [])];
    },
    async addPending(key, user) {
      pending.set(key, (pending.get(key) ?? new Set()).add(user));
    },
    async removePending(key, user) {
      pending.get(key)?.delete(user);
    },
    async erase(key, erasure) {
      const earlier = erasures.get(key);
      if (earlier) return earlier;
      erasures.set(key, erasure);
      return erasure;
    },
    async erasures() {
      return new Map(erasures);
    },
  };
  return { store, accounts, links, holders, pending, erasures };
}
