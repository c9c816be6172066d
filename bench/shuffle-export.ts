/**
 * `npx tsx bench/shuffle-export.ts <export> <out> [seed]`: a copy of an export whose kind files hold
 * their lines in a shuffled order (seeded; each file as plain NDJSON, the manifest rewritten with its
 * path, SHA-256 and lines; the blobs copied as they are). The generator writes records grouped by their
 * account or space; shuffled, every line's parent differs from the line before's, the worst order for
 * the AWS model's reads of a chunk's distinct parents (`plan --scale-to`, docs/aws.md "Full size").
 * Reads each kind file whole into memory: for the exports of a few thousand accounts it is meant for.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { prng } from '../tools/generate';
import { runMain } from './main';

async function main(): Promise<void> {
  const [from, to, seedText] = process.argv.slice(2);
  if (!from || !to) throw new Error('usage: bench/shuffle-export.ts <export> <out> [seed]');
  const rnd = prng(Number(seedText ?? 1));
  const manifest = JSON.parse(await readFile(join(from, 'manifest.json'), 'utf8')) as {
    exportId: string;
    files: { kind: string; path: string; records: number; sha256: string }[];
  };
  const out = resolve(to);
  await mkdir(out, { recursive: true });
  const files = [];
  for (const file of manifest.files) {
    const raw = await readFile(join(from, file.path));
    const text = (raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw).toString('utf8');
    const lines = text
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/)
      .filter((l) => l.trim() !== '');
    for (let i = lines.length - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [lines[i], lines[j]] = [lines[j] as string, lines[i] as string];
    }
    const body = Buffer.from(`${lines.join('\n')}\n`);
    const path = `${file.kind}.ndjson`;
    await writeFile(join(out, path), body);
    files.push({
      ...file,
      path,
      records: lines.length,
      sha256: createHash('sha256').update(body).digest('hex'),
    });
  }
  const exportId = out.split('/').at(-1) as string;
  await writeFile(
    join(out, 'manifest.json'),
    `${JSON.stringify({ ...manifest, exportId, files }, null, 2)}\n`,
  );
  // An export's files are never links (a link is rejected): the blobs are copied.
  await cp(join(from, 'blobs'), join(out, 'blobs'), { recursive: true });
  console.log(`shuffled ${files.length} kind files of ${from} into ${out}`);
}

runMain(main);
