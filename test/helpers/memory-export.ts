import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { decideExport } from '../../functions/core/pipeline/decide-export';
import { buildStagePlan, selectWaves } from '../../functions/core/pipeline/stages';
import type { ExportSource } from '../../functions/core/ports';
import type { DecidedRecord } from '../../functions/core/rules/decide';
import type { Kind } from '../../functions/core/rules/kinds';
import { validateExport } from '../../functions/core/rules/manifest';
import { type CompiledPolicy, compilePolicy } from '../../functions/core/rules/policy';
import type { FileRef } from '../../functions/core/rules/schemas';

export const sha256 = (bytes: string | Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** An export held in memory; `chunkSize` splits reads to exercise chunk boundaries. */
export function memorySource(
  name: string,
  files: Record<string, string | Uint8Array>,
  chunkSize = 7,
): ExportSource {
  return {
    name,
    async open(path) {
      const content = files[path];
      if (content === undefined) return undefined;
      const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
      return (async function* () {
        for (let i = 0; i < bytes.length; i += chunkSize) yield bytes.subarray(i, i + chunkSize);
      })();
    },
  };
}

export interface ExportSpec {
  /** Lines of each kind file: objects are JSON-encoded, strings written as they are. */
  kinds: Partial<Record<Kind, (object | string)[]>>;
  blobs?: Record<string, string>;
  gzip?: Kind[];
  exportId?: string;
  exportedAt?: string;
}

/** Builds a consistent export (files, blobs and a manifest that matches them). */
export function buildExport(spec: ExportSpec): Record<string, string | Uint8Array> {
  const files: Record<string, string | Uint8Array> = {};
  const listed = [];
  for (const [kind, lines] of Object.entries(spec.kinds) as [Kind, (object | string)[]][]) {
    const text = lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n');
    const gz = spec.gzip?.includes(kind);
    const path = `${kind}.ndjson${gz ? '.gz' : ''}`;
    const bytes = gz ? gzipSync(text) : Buffer.from(text);
    files[path] = bytes;
    listed.push({
      kind,
      path,
      records: lines.filter((l) => typeof l !== 'string' || l.trim() !== '').length,
      sha256: sha256(bytes),
    });
  }
  for (const [name, content] of Object.entries(spec.blobs ?? {})) files[`blobs/${name}`] = content;
  files['manifest.json'] = JSON.stringify({
    schemaVersion: 1,
    exportId: spec.exportId ?? 'test-export',
    exportedAt: spec.exportedAt ?? '2022-09-01T02:00:00Z',
    files: listed,
  });
  return files;
}

/** A file ref and the blob that backs it. */
export function blob(
  content: string,
  fileName = 'worksheet.pdf',
): { ref: FileRef; blobs: Record<string, string> } {
  const sha = sha256(content);
  return {
    ref: { sha256: sha, size: Buffer.byteLength(content), contentType: 'application/pdf', fileName },
    blobs: { [sha]: content },
  };
}

/** Runs the core over an in-memory export and returns its decisions by `kind/id`. */
export async function decideAll(
  spec: ExportSpec,
  options: { policy?: CompiledPolicy; wave?: string } = {},
): Promise<{ records: DecidedRecord[]; byId: Map<string, DecidedRecord> }> {
  const policy = options.policy ?? compilePolicy();
  const source = memorySource(spec.exportId ?? 'test-export', buildExport(spec));
  const validated = await validateExport(source);
  const waves = selectWaves(buildStagePlan(policy), options.wave ?? 'all');
  if (!waves) throw new Error('unknown wave');
  const records: DecidedRecord[] = [];
  await decideExport({ source, validated, policy, waves, sink: (r) => void records.push(r) });
  return { records, byId: new Map(records.map((r) => [`${r.kind}/${r.id}`, r])) };
}
