import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedSynth } from '../../local/cloudformation/synth-cache';
import { localContext } from '../../local/runtime/pipeline';
import { warmSynth } from '../../local/runtime/warm-synth';

// npm ci's `prepare` (tools/build-cli.mjs --warm): the first `run` and `plan` after an install find
// their app synthesized.
test('the warm-up synthesizes the apps of run and plan once, and they are then read from the cache', async () => {
  const before = process.env.ESEP_SYNTH_CACHE;
  const dir = await mkdtemp(join(tmpdir(), 'esep-warm-'));
  process.env.ESEP_SYNTH_CACHE = dir;
  try {
    expect(await warmSynth()).toBe(2);
    expect(await readdir(dir)).toHaveLength(2);
    expect(await warmSynth()).toBe(0);
    expect((await cachedSynth(localContext())).cached).toBe(true);
    expect((await cachedSynth({})).cached).toBe(true);
  } finally {
    process.env.ESEP_SYNTH_CACHE = before;
    await rm(dir, { recursive: true, force: true });
  }
}, 60_000);
