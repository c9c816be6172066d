import { createHash } from 'node:crypto';
import * as z from 'zod';
import { KINDS } from '../rules/kinds';
import type { Line } from '../rules/ndjson';
import type { CompiledPolicy } from '../rules/policy';
import { EXPORT_ID } from '../rules/schemas';
import { BudgetSchema } from './sizing';

/**
 * The claim check of the pipeline: a kind file is cut into chunks of lines stored as objects, and an
 * SQS message points at one. A chunk keeps each line's physical line number, and the splitter, which
 * reads the file in order, marks each line whose id an earlier line already had: so a chunk worker
 * decides exactly as a reader of the whole file would (ids `<file>:<line>`, DQ-2's "the first stands").
 * Lines per chunk: PARTITIONING.chunkLines (sizing.ts).
 */
/** A line of a chunk: `duplicate` when an earlier line of the file had its id (it cannot stand). */
export type ChunkLine = Line & { readonly duplicate?: boolean };

export const encodeChunkLine = (line: ChunkLine): string =>
  JSON.stringify(
    'unreadable' in line
      ? { n: line.lineNo, u: line.unreadable }
      : { n: line.lineNo, t: line.text, ...(line.duplicate ? { d: 1 } : {}) },
  );

export function decodeChunk(text: string): ChunkLine[] {
  const lines: ChunkLine[] = [];
  for (const row of text.split('\n')) {
    if (row === '') continue;
    const { n, t, u, d } = JSON.parse(row) as { n: number; t?: string; u?: string; d?: 1 };
    lines.push(
      t === undefined
        ? { lineNo: n, unreadable: u ?? 'unreadable' }
        : { lineNo: n, text: t, ...(d ? { duplicate: true } : {}) },
    );
  }
  return lines;
}

/**
 * Everything of a run that depends on the policy or the export's content is scoped by them: a changed
 * policy, or a corrected export under the same id (its files' SHA-256), is a new run.
 */
export function runScope(
  exportId: string,
  policy: CompiledPolicy,
  files: Readonly<Record<string, string>>,
): string {
  const content = Object.entries(files).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const hash = createHash('sha256')
    .update(JSON.stringify([policy.policy, content]))
    .digest('hex')
    .slice(0, 12);
  return `${exportId}@${hash}`;
}

/** The export of a run scope (`<exportId>@<hash>`). */
export const exportOfScope = (scope: string): string => scope.slice(0, scope.indexOf('@'));

export const ChunkMessageSchema = z.object({
  scope: z.string().min(1),
  exportId: z.string().regex(EXPORT_ID),
  wave: z.string().min(1),
  stage: z.string().min(1),
  /** index and decide: a wave's steps; identify and link: the run's identity stages. */
  op: z.enum(['index', 'decide', 'identify', 'link']),
  kind: z.enum(KINDS),
  index: z.enum(['group-activity', 'group-activity-unknown', 'etwinning-emails']).optional(),
  /** The kind file's path inside the export, for `<file>:<line>` ids. */
  path: z.string().min(1),
  chunk: z.number().int().nonnegative(),
  /** The chunk object's key (in the exports bucket). */
  key: z.string().min(1),
  /** The chunk is its kind's piece itself (pipeline/pieces: the run's last step that works the kind). */
  piece: z.literal(true).optional(),
  /** One worker's share of the table and buckets in this stage (sizing.ts stageBudget), when deployed. */
  budget: BudgetSchema.optional(),
});
export type ChunkMessage = z.infer<typeof ChunkMessageSchema>;

/** The counts a chunk marker records once (outputs.md's decisions, or lines read for ids and indexes). */
export interface ChunkCounts {
  lines: number;
  migrated: number;
  dropped: number;
  quarantined: number;
}
