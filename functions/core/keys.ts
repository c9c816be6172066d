import { createHash } from 'node:crypto';
import { isWellFormed } from './rules/limits';
import { idHash, safeIdSegment } from './rules/safe-name';
import { EXPORT_ID } from './rules/schemas';

/**
 * Every storage key of the pipeline, written once: the exports bucket (uploads and the runs' working
 * area), the reports bucket, the migrated layout that an ESEP importer reads, and the state table's
 * items. Ids in keys are arbitrary strings: object keys take them as safe segments (rules/safe-name),
 * table keys as `keyPart`.
 */

const pad6 = (n: number) => String(n).padStart(6, '0');

/** Top-level prefixes of the buckets, as the stacks grant and expire them. */
export const PREFIXES = {
  /** Uploads: `exports/<exportId>/...`, manifest.json last. */
  exports: 'exports/',
  /** The runs' working copies (chunks and results). */
  work: 'work/',
  /** Link documents in the migrated bucket, outside any export (they outlive the legacy platform). */
  links: 'links/',
  /** Staged profiles in the migrated bucket, under every export (`<exportId>/profiles/...`): an IAM pattern. */
  stagedProfiles: '*/profiles/',
} as const;

/**
 * What a withdrawal (rollback, a replaced export, ID-3 supersession) may delete in the migrated bucket,
 * as IAM patterns: the areas of the migrated layout under every export, and the link documents. Nothing
 * else of the bucket, and never an object's older versions.
 */
export const WITHDRAWABLE = [
  PREFIXES.stagedProfiles,
  '*/events/',
  '*/twinspaces/',
  '*/groups/',
  PREFIXES.links,
] as const;

/**
 * The chunk sets of a run's stages (`work/<scope>/<stage>/<kind>.<op>/`) of the given ops, as IAM
 * patterns: what a worker deletes once it has worked a chunk (pipeline/chunks `discardChunk`). Nothing of
 * a run's ledger (`work/<scope>/results/...`) or report matches: their segments have no `.<op>`.
 */
export const chunkSets = (ops: readonly ('decide' | 'index' | 'identify' | 'link')[]) =>
  ops.map((op) => `${PREFIXES.work}*.${op}/`);

/**
 * The pieces validate cuts of a run's kind files (`work/<scope>/pieces/`), as an IAM pattern: what a
 * start that failed deletes of what it cut, and what the workers of the run's last step that works a
 * kind delete once worked (its chunks are the pieces themselves: pipeline/pieces, pipeline/split).
 */
export const PIECE_SETS = `${PREFIXES.work}*/pieces/`;

/**
 * The runs' indexes of the values that must never reach the target (`work/<scope>/forbidden/`), as an IAM
 * pattern: what a start that failed deletes of the index it put (core/forbidden, pipeline/run).
 */
export const FORBIDDEN_SETS = `${PREFIXES.work}*/forbidden/`;

/** The manifest's file name inside an export. */
export const MANIFEST = 'manifest.json';

/** Keys of an uploaded export in the exports bucket. */
export const exportKeys = {
  prefix: (exportId: string) => `${PREFIXES.exports}${exportId}/`,
  file: (exportId: string, path: string) => `${PREFIXES.exports}${exportId}/${path}`,
  blob: (exportId: string, sha256: string) => `${PREFIXES.exports}${exportId}/blobs/${sha256}`,
  manifest: (exportId: string) => `${PREFIXES.exports}${exportId}/${MANIFEST}`,
  /** The export id of an upload's manifest key (`exports/<exportId>/manifest.json`), if it is one. */
  exportIdOfManifest: (key: string) => {
    const id = /^exports\/([^/]+)\/manifest\.json$/.exec(key)?.[1];
    return id !== undefined && EXPORT_ID.test(id) ? id : undefined;
  },
  /** The export id of any key under an export (`exports/<exportId>/...`), if it is one. */
  exportIdOf: (key: string) => /^exports\/([^/]+)\//.exec(key)?.[1],
};

/** A chunk's identity among the markers of its stage: `<kind>.<op>.<n>`. */
export const chunkId = (m: { readonly kind: string; readonly op: string; readonly chunk: number }) =>
  `${m.kind}.${m.op}.${pad6(m.chunk)}`;

/** Object keys of a run's working area (in the exports bucket, under the exports' retention). */
export const workKeys = {
  chunk: (scope: string, stage: string, kind: string, op: string, chunk: number) =>
    `${PREFIXES.work}${scope}/${stage}/${kind}.${op}/${pad6(chunk)}.ndjson`,
  /** A piece of a kind file, cut once by validate; each stage's split copies it to its chunk's key. */
  piece: (scope: string, kind: string, piece: number) =>
    `${PREFIXES.work}${scope}/pieces/${kind}/${pad6(piece)}.ndjson`,
  piecesPrefix: (scope: string) => `${PREFIXES.work}${scope}/pieces/`,
  result: (scope: string, stage: string, kind: string, chunk: number) =>
    `${PREFIXES.work}${scope}/results/${stage}/${kind}/${pad6(chunk)}.ndjson`,
  resultsPrefix: (scope: string) => `${PREFIXES.work}${scope}/results/`,
  stageResultsPrefix: (scope: string, stage: string, kind: string) =>
    `${PREFIXES.work}${scope}/results/${stage}/${kind}/`,
  /** What one part of a run's report counted (`map`, `verify`, `receipts`). */
  reportTally: (scope: string, report: string, op: string, part: number) =>
    `${PREFIXES.work}${scope}/report/${report}/tally/${op}/${pad6(part)}.json`,
  reportTallies: (scope: string, report: string) => `${PREFIXES.work}${scope}/report/${report}/tally/`,
  /** The tallies merged by the summary's first `step` pages (pipeline/tallies foldTallies). */
  reportTotals: (scope: string, report: string, step: number) =>
    `${PREFIXES.work}${scope}/report/${report}/totals/${pad6(step)}.json`,
  /** One report part's spool entries for one receipts partition. */
  reportSpool: (scope: string, report: string, partition: number, part: number) =>
    `${PREFIXES.work}${scope}/report/${report}/spool/${pad6(partition)}/${pad6(part)}.ndjson`,
  reportSpoolPrefix: (scope: string, report: string, partition: number) =>
    `${PREFIXES.work}${scope}/report/${report}/spool/${pad6(partition)}/`,
  /** A receipts partition's spool joined by its first `step` pages (pipeline/page-fold). */
  reportSpoolJoin: (scope: string, report: string, partition: number, step: number) =>
    `${PREFIXES.work}${scope}/report/${report}/spool-join/${pad6(partition)}/${pad6(step)}.ndjson`,
  /** A receipts partition's spool in one object, as its join left it (what its receipts are built from). */
  reportSpoolJoined: (scope: string, report: string, partition: number) =>
    `${PREFIXES.work}${scope}/report/${report}/spool-joined/${pad6(partition)}.ndjson`,
  /** One report part's migrated documents for one verify partition of the target (what verify expects). */
  expectedSpool: (scope: string, report: string, partition: number, part: number) =>
    `${PREFIXES.work}${scope}/report/${report}/expected/${pad6(partition)}/${pad6(part)}.ndjson`,
  expectedSpoolPrefix: (scope: string, report: string, partition: number) =>
    `${PREFIXES.work}${scope}/report/${report}/expected/${pad6(partition)}/`,
  /** The people of a record whose audience other records take (an event's, for its Learning Lab). */
  people: (scope: string, kind: string, id: string) =>
    `${PREFIXES.work}${scope}/people/${kind}/${safeIdSegment(id)}.json`,
  /** A verify partition's expected documents joined by the first `step` pages of its spool (pipeline/expected). */
  expectedJoin: (scope: string, report: string, partition: number, step: number) =>
    `${PREFIXES.work}${scope}/report/${report}/expected-join/${pad6(partition)}/${pad6(step)}.ndjson`,
  /** A run's index of the values that must never reach the target (core/forbidden): its filter. */
  forbiddenFilter: (scope: string, run: string) => `${PREFIXES.work}${scope}/forbidden/${run}/filter.bin`,
  /** ... and one shard of its keyed values. */
  forbiddenShard: (scope: string, run: string, shard: number) =>
    `${PREFIXES.work}${scope}/forbidden/${run}/${pad6(shard)}.bin`,
  /** A verify partition's expected documents in one object, in key order (its pages read it). */
  expected: (scope: string, report: string, partition: number) =>
    `${PREFIXES.work}${scope}/report/${report}/expected/${pad6(partition)}.ndjson`,
};

/**
 * Where a run's report lives in the reports bucket: the folder its start chose (`reportPrefix`, kept in
 * the run and its status), else the export's and waves' own folder. A run of other content for the same
 * export and waves (a corrected export, another policy) writes beside it, in a folder named by its scope
 * (`contentReportPrefix`), so that no run's report is written over another's.
 */
export const reportPrefix = (run: {
  readonly exportId: string;
  readonly waves: readonly string[];
  readonly reportPrefix?: string;
}) => run.reportPrefix ?? `${run.exportId}/${run.waves.join('+')}/`;

/** The report folder of a run whose content is not the first that ran these waves of its export. */
/** A receipt's key in the reports bucket without its suffix (`.json`, `.html`, `.txt`): by account id. */
export const receiptKey = (reportFolder: string, accountId: string) =>
  `${reportFolder}receipts/${safeIdSegment(accountId)}`;
/** Every receipt of every report folder, as an IAM pattern: what an erasure deletes (ER-1). */
export const RECEIPTS_PATTERN = '*/receipts/';

export const contentReportPrefix = (run: {
  readonly exportId: string;
  readonly waves: readonly string[];
  readonly scope: string;
}) => `${run.exportId}/${run.waves.join('+')}@${run.scope.slice(run.scope.lastIndexOf('@') + 1)}/`;

/** decisions.ndjson in parts, one per report part, in the run's order (a local run joins them). */
export const decisionsPart = (prefix: string, part: number) => `${prefix}decisions/${pad6(part)}.ndjson`;
export const DECISIONS_PARTS = 'decisions/';
/** How many parts decisions.ndjson has (`{"parts": n}`), written when the report is. */
export const decisionsIndex = (prefix: string) => `${prefix}${DECISIONS_PARTS}index.json`;

/**
 * The migrated layout (docs/aws.md, "Migrated layout"): everything under `<exportId>/`, every id segment
 * already safe (the callers pass `safeIdSegment`s), so the layout reads back by position.
 */
export const targetKeys = {
  profile: (exportId: string, account: string) => `${exportId}/profiles/${shardOf(account)}/${account}`,
  profileDocument: (exportId: string, account: string) =>
    `${targetKeys.profile(exportId, account)}/profile.json`,
  profileList: (exportId: string, account: string, list: string, id: string) =>
    `${targetKeys.profile(exportId, account)}/${list}/${id}.json`,
  event: (exportId: string, id: string) => `${exportId}/events/${shardOf(id)}/${id}.json`,
  /** A TwinSpace's or group's own prefix: its document, and its items and their files under `items/`. */
  containerPrefix: (exportId: string, area: 'twinspaces' | 'groups', id: string) =>
    `${exportId}/${area}/${shardOf(id)}/${id}/`,
  container: (exportId: string, area: 'twinspaces' | 'groups', id: string) =>
    `${targetKeys.containerPrefix(exportId, area, id)}${area === 'twinspaces' ? 'twinspace.json' : 'group.json'}`,
  /** An item's prefix; its document is `<prefix>.json`, its file `<prefix>/<file name>`. */
  item: (exportId: string, area: 'twinspaces' | 'groups', parent: string, id: string) =>
    `${exportId}/${area}/${shardOf(parent)}/${parent}/items/${id}`,
  link: (esepUser: string) => `${PREFIXES.links}${esepUser}.json`,
};

/**
 * The shard of a record in the target: two hex digits of its id segment's hash, after the area, so that
 * a run's writes spread over 256 prefixes of each area (S3 takes 3,500 PUTs a second per prefix) and
 * verify can cut an area into ranges of about equal size.
 */
export const SHARDS = 256;
export const shardOf = (segment: string) => createHash('sha256').update(segment).digest('hex').slice(0, 2);
const isShardOf = (shard: string | undefined, segment: string | undefined) =>
  shard !== undefined && segment !== undefined && shard === shardOf(segment);

/** The areas of the migrated layout whose third segment is a record's shard. */
const SHARDED_AREAS = new Set(['profiles', 'events', 'twinspaces', 'groups']);

/**
 * Which bucket of a set of `buckets` holds a key (core/bucket-sets): a key of the migrated layout by its
 * record's shard (the third segment), so that a record's document, its files and its container's items
 * share a bucket; any other key (link documents, reports, receipts) by its own hash. `undefined` for a
 * prefix that does not name a whole shard yet (a listing under it spans every bucket).
 */
export function bucketIndexOf(keyOrPrefix: string, buckets: number, prefix = false): number | undefined {
  const s = keyOrPrefix.split('/');
  const [, area, shard] = s;
  const layout = SHARDED_AREAS.has(area ?? '') && /^[0-9a-f]{2}$/.test(shard ?? '');
  if (prefix && !(layout && s.length >= 4)) return undefined;
  return Number.parseInt(layout ? (shard as string) : shardOf(keyOrPrefix), 16) % buckets;
}

const ITEM_CONTAINERS = new Set(['twinspaces', 'groups']);
const PROFILE_LISTS = new Set(['activities', 'portfolio', 'contacts']);

/** Whether a key of the migrated layout is a record's document (the other keys are files). */
export function isDocumentKey(key: string): boolean {
  const s = key.split('/');
  const [, area, shard, id, fourth] = s;
  if (area === 'events')
    return s.length === 4 && key.endsWith('.json') && isShardOf(shard, id?.slice(0, -'.json'.length));
  if (!isShardOf(shard, id)) return false;
  if (area === 'profiles')
    return (
      (s.length === 5 && fourth === 'profile.json') || (s.length === 6 && PROFILE_LISTS.has(fourth ?? ''))
    );
  if (ITEM_CONTAINERS.has(area ?? ''))
    return (
      (s.length === 5 && fourth === (area === 'twinspaces' ? 'twinspace.json' : 'group.json')) ||
      (s.length === 6 && fourth === 'items' && key.endsWith('.json'))
    );
  return false;
}

/** The document a file of the migrated layout belongs to, or undefined for a key outside the layout. */
export function documentOfFile(key: string): string | undefined {
  const s = key.split('/');
  const [root, area, shard, id, fourth] = s;
  if (!isShardOf(shard, id)) return undefined;
  if (area === 'profiles' && s.length === 6 && fourth === 'photo')
    return targetKeys.profileDocument(root ?? '', id ?? '');
  if (ITEM_CONTAINERS.has(area ?? '') && s.length === 7 && fourth === 'items')
    return `${s.slice(0, 6).join('/')}.json`;
  return undefined;
}

/**
 * Ids are arbitrary strings and DynamoDB keys at most 2,048 bytes: a long id, one that looks like an
 * e-mail address (a key never carries one) and one that UTF-8 cannot carry are keyed by their hash.
 */
export const keyPart = (id: string) =>
  Buffer.byteLength(id, 'utf8') <= 512 && !id.includes('@') && isWellFormed(id) ? id : `~${idHash(id)}`;

/** The sort key of single items. */
export const ONE = '#';

/**
 * The table's TTL attribute (epoch seconds): per-run items expire with the run's working area, at the
 * end of the export's retention (lib/stateful-stack.ts).
 */
export const TTL_ATTRIBUTE = 'expiresAt';

/**
 * The state table's items (lib/stateful-stack.ts documents the access patterns):
 *
 * | item | pk | sk |
 * |---|---|---|
 * | a container's decision (project, group) | `S#<scope>#<kind>#<id>` | `#` |
 * | index entry (group activity, eTwinning e-mail keys) | `X#<scope>#<index>#<key>` | `#` |
 * | chunk marker | `C#<scope>#<stage>` | chunk id |
 * | a withdrawal from the target | `W#<scope>` | `<kind>#<id>` |
 * | stage expectation | `E#<scope>` | stage id |
 * | run status (one partition: the status panel reads it whole) | `RUNS` | `<exportId>#<waves>#<scope>` |
 * | the execution running an export (one at a time) | `RUNLOCKS` | `<exportId>` |
 * | a legacy account, as its latest export has it | `G#<platform>#<legacyAccountId>` | `#` |
 * | identity index entry | `I#<HMAC of the normalised e-mail>` | `<platform>#<legacyAccountId>` |
 * | a user's link (linked or pending) | `L#<esepUserId>` | `#` |
 * | the user that holds a legacy account | `A#<platform>#<legacyAccountId>` | `#` |
 * | a pending registration | `P#<HMAC of the normalised e-mail>` | `<esepUserId>` |
 */
export const tableKeys = {
  container: (scope: string, kind: string, id: string) => `S#${scope}#${kind}#${keyPart(id)}`,
  index: (scope: string, index: string, key: string) => `X#${scope}#${index}#${keyPart(key)}`,
  markers: (scope: string, stage: string) => `C#${scope}#${stage}`,
  withdrawals: (scope: string) => `W#${scope}`,
  withdrawal: (kind: string, id: string) => `${kind}#${keyPart(id)}`,
  expectations: (scope: string) => `E#${scope}`,
  runs: 'RUNS',
  runLocks: 'RUNLOCKS',
  /** A run's status among all runs; an export's runs share the prefix `<exportId>#` (ids have no `#`). */
  run: (exportId: string, waves: readonly string[], scope: string) =>
    `${exportId}#${waves.join('+')}#${scope}`,
  runsOf: (exportId: string) => `${exportId}#`,
  account: (platform: string, accountId: string) => `G#${platform}#${keyPart(accountId)}`,
  /** The chunks whose records await an owner account that no export held yet (PR-7 across exports). */
  awaitedOwner: (accountId: string) => `O#${keyPart(accountId)}`,
  /** Present once any record awaited an owner: without it, indexing reads no awaited owners. */
  anyAwaitedOwner: 'OWNERS',
  /** The export that holds a TwinSpace or group across exports (no scope: it outlives runs). */
  containerHolder: (kind: string, id: string) => `H#${kind}#${keyPart(id)}`,
  identity: (emailKey: string) => `I#${emailKey}`,
  identityEntry: (platform: string, accountId: string) => `${platform}#${keyPart(accountId)}`,
  userLink: (esepUserId: string) => `L#${keyPart(esepUserId)}`,
  accountLink: (platform: string, accountId: string) => `A#${platform}#${keyPart(accountId)}`,
  pending: (emailKey: string) => `P#${emailKey}`,
  pendingUser: (esepUserId: string) => keyPart(esepUserId),
  /** ER-1: every erasure in one partition, each under its keyed hash (no TTL: they outlive every run). */
  erasures: 'ERASURES',
};

/**
 * A partition of the target's listing: the keys under `prefix` after `from` and before `to` (each
 * partition is one range of the listing, so a page of it is one listing call on S3).
 */
export interface TargetPartition {
  readonly prefix: string;
  readonly from?: string;
  readonly to?: string;
}

/** The areas of the migrated layout, in key order. */
const AREAS = ['events', 'groups', 'profiles', 'twinspaces'];
const AFTER = '\uffff';
const hex2 = (n: number) => n.toString(16).padStart(2, '0');

/**
 * The target of an export cut into partitions that verify checks concurrently: each area into `ranges`
 * ranges of its 256 shards (keys spread evenly over them), and the ranges around the areas, where no key
 * may be (verify reports what it finds there); a small target (one range an area) is one partition. A partition's keys are checked a page at a time, so no
 * invocation's work grows with the export.
 */
export function targetPartitions(exportId: string, ranges = 1): TargetPartition[] {
  const root = `${exportId}/`;
  const n = Math.min(SHARDS, Math.max(1, Math.floor(ranges)));
  // One range per area: the whole listing is one partition.
  if (n === 1) return [{ prefix: root }];
  const bounds = Array.from({ length: n + 1 }, (_, i) => Math.round((i * SHARDS) / n));
  const areas = AREAS.flatMap((area) =>
    bounds.slice(0, -1).map((lo, i) => {
      const hi = bounds[i + 1] as number;
      return {
        prefix: `${root}${area}/`,
        ...(lo > 0 ? { from: `${root}${area}/${hex2(lo - 1)}${AFTER}` } : {}),
        ...(hi < SHARDS ? { to: `${root}${area}/${hex2(hi)}` } : {}),
      };
    }),
  );
  const gaps = AREAS.map((area, i) => ({
    prefix: root,
    ...(i > 0 ? { from: `${root}${AREAS[i - 1]}/${AFTER}` } : {}),
    to: `${root}${area}/`,
  }));
  return [...areas, ...gaps, { prefix: root, from: `${root}${AREAS.at(-1)}/${AFTER}` }];
}

/** Whether a key lies in a partition (under its prefix, after its `from`, before its `to`). */
export const inPartition = (key: string, p: TargetPartition) =>
  key.startsWith(p.prefix) && (p.from === undefined || key > p.from) && (p.to === undefined || key < p.to);

/**
 * The index in `targetPartitions(exportId, ranges)` of the partition that holds a document's key (a key
 * of the migrated layout: `<exportId>/<area>/<shard>/...`), without listing them.
 */
export function targetPartitionOf(key: string, ranges = 1): number {
  const n = Math.min(SHARDS, Math.max(1, Math.floor(ranges)));
  if (n === 1) return 0;
  const [, area, shard] = key.split('/');
  const a = AREAS.indexOf(area ?? '');
  const s = Number.parseInt(shard ?? '', 16);
  if (a < 0 || !Number.isInteger(s) || s < 0 || s >= SHARDS)
    throw new RangeError(`${key} is no document key`);
  // The range whose bounds (as targetPartitions rounds them) hold the shard.
  let r = 0;
  while (r + 1 < n && Math.round(((r + 1) * SHARDS) / n) <= s) r++;
  return a * n + r;
}
