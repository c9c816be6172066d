/**
 * `npx tsx bench/cut-cost.ts <export> [runs]`: the CPU a start's file checks spend a line, with and
 * without cutting each line into its piece (pipeline/pieces: parsed for its id, its file's declared size
 * and an account's credentials, encoded, DQ-2's table), the pieces put into a store that keeps nothing.
 * One thread, `process.cpuUsage`, every file of the export in turn; the difference is the model's
 * `cutMsPerLine` (core/estimate) before it is doubled for Lambda's ARM cores.
 */
import { PieceCutter } from '../functions/core/pipeline/pieces';
import type { ObjectStore } from '../functions/core/ports';
import { checkFile, readManifest } from '../functions/core/rules/manifest';
import { fsExportSource } from '../local/runtime/fs-export-source';
import { runMain } from './main';

/** A store that takes every put and keeps nothing: the cut's CPU, not a stand-in's. */
const nowhere = { put: async () => undefined, delete: async () => undefined } as unknown as ObjectStore;

async function cpuPerLine(dir: string, cut: boolean): Promise<{ lines: number; microseconds: number }> {
  const source = fsExportSource(dir);
  const { files } = await readManifest(source);
  const lines = [...files.values()].reduce((n, f) => n + f.records, 0);
  const cutter = new PieceCutter('bench@cut', { objects: nowhere, exportsBucket: 'nowhere' });
  const before = process.cpuUsage();
  for (const file of files.values())
    await checkFile(source, file, cut ? cutter.reader(file.kind, file.path) : undefined);
  await cutter.finish();
  const used = process.cpuUsage(before);
  return { lines, microseconds: (used.user + used.system) / lines };
}

async function main(): Promise<void> {
  const [dir, runsText] = process.argv.slice(2);
  if (!dir) throw new Error('usage: bench/cut-cost.ts <export> [runs]');
  for (let run = 0; run < Number(runsText ?? 3); run++) {
    const checked = await cpuPerLine(dir, false);
    const cut = await cpuPerLine(dir, true);
    console.log(
      `${checked.lines} lines: checked ${checked.microseconds.toFixed(2)} µs a line, checked and cut ${cut.microseconds.toFixed(2)} µs: the cut ${(cut.microseconds - checked.microseconds).toFixed(2)} µs`,
    );
  }
}

runMain(main);
