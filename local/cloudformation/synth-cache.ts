import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { SynthesizedApp } from './synth';

const ROOT = join(__dirname, '..', '..');
/** What the synthesized template depends on: the CDK app, the functions (policy, plan) and the lock file. */
const SOURCES = ['lib', 'functions', 'package-lock.json'];

async function filesUnder(path: string): Promise<string[]> {
  const full = join(ROOT, path);
  const entries = await readdir(full, { withFileTypes: true, recursive: true }).catch(() => undefined);
  if (!entries) return [full];
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** A hash of the sources the template is built from, and of the context (policy file contents included). */
export async function sourceHash(context: Record<string, unknown>): Promise<string> {
  const hash = createHash('sha256');
  const files = (await Promise.all(SOURCES.map(filesUnder))).flat().sort();
  for (const file of files)
    hash
      .update(relative(ROOT, file))
      .update('\0')
      .update(await readFile(file))
      .update('\0');
  hash.update(JSON.stringify(context));
  const policyFile = context.policyFile;
  if (typeof policyFile === 'string') hash.update(await readFile(policyFile));
  return hash.digest('hex').slice(0, 24);
}

interface Cached {
  readonly templates: SynthesizedApp['templates'];
  readonly functions: [
    string,
    SynthesizedApp['functions'] extends ReadonlyMap<string, infer F> ? F : never,
  ][];
  readonly stateMachineLogicalId: string;
}

/** Where synthesized apps are kept: one cache per checkout, whichever state folder a command uses. */
const CACHE = join(ROOT, 'node_modules', '.cache', 'esep-migrate', 'templates');

/**
 * The synthesized app, from the CDK app itself (in-process, no bundling), cached by a hash of its sources
 * and context (node_modules/.cache/esep-migrate, or ESEP_SYNTH_CACHE): a command pays for a synth only
 * after the code or the policy changed, not once per state folder.
 */
export async function cachedSynth(
  context: Record<string, unknown> = {},
): Promise<SynthesizedApp & { cached: boolean }> {
  // Keyed by a hash of every source, an entry can only be the template those sources make: shared safely.
  const dir = process.env.ESEP_SYNTH_CACHE || CACHE;
  const file = join(dir, `${await sourceHash(context)}.json`);
  try {
    const cached = JSON.parse(await readFile(file, 'utf8')) as Cached;
    return {
      templates: cached.templates,
      functions: new Map(cached.functions),
      stateMachineLogicalId: cached.stateMachineLogicalId,
      cached: true,
    };
  } catch {
    // Loaded only on a miss: aws-cdk-lib takes about a second to import.
    const { synthesize } = require('./synth') as typeof import('./synth');
    const synth = synthesize(context);
    await mkdir(dir, { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    const cached: Cached = {
      templates: synth.templates,
      functions: [...synth.functions],
      stateMachineLogicalId: synth.stateMachineLogicalId,
    };
    await writeFile(tmp, JSON.stringify(cached));
    await rename(tmp, file);
    return { ...synth, cached: false };
  }
}
