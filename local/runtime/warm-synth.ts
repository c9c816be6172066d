import { cachedSynth } from '../cloudformation/synth-cache';
import { localContext } from './pipeline';

/**
 * Synthesizes the apps that `run` and `plan` use with the default policy into the cache
 * (local/cloudformation/synth-cache), as `npm ci`'s `prepare` does once the command line is built: the
 * first run after an install then finds its app synthesized, as every later one does. Returns how many of
 * them it had to synthesize (none when the sources did not change).
 */
export async function warmSynth(): Promise<number> {
  let made = 0;
  for (const context of [localContext(), {}]) if (!(await cachedSynth(context)).cached) made++;
  return made;
}
