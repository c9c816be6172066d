// Builds the command line once, so that it starts without compiling TypeScript (issue 24, item 3):
// `npm ci` runs this through `prepare`. bin/esep-migrate.cjs runs the build while it is newer than every
// source it was built from, and the TypeScript through tsx otherwise (an edited checkout needs no step).
//
// One file: the command line, the core, the adapters, the local runtime with every handler
// (local/runtime/handlers.ts) and the CDK app it synthesizes; the packages stay in node_modules. A module
// that finds files next to itself (`__dirname`) is given its source folder, not the build's.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BUILT = join(ROOT, 'build', 'esep-migrate.cjs');

/** `__dirname` in a source module means its folder in the checkout. */
const sourceFolders = {
  name: 'source-folders',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      if (args.path.includes(`${join('node_modules', '')}`)) return undefined;
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('__dirname')) return undefined;
      const folder = relative(dirname(BUILT), dirname(args.path));
      const contents = `const __sourceFolder = require('node:path').join(__dirname, ${JSON.stringify(folder)});\n${text.replaceAll('__dirname', '__sourceFolder')}`;
      return { contents, loader: 'ts' };
    });
  },
};

const started = Date.now();
await build({
  // The command line, and the modules its worker threads run (functions/adapters/on-threads.ts, and the
  // stand-ins' thread, local/stand-ins/services-thread.ts): built with it, so that a thread starts without
  // compiling TypeScript either.
  entryPoints: [
    { in: join(ROOT, 'cli', 'main.ts'), out: 'esep-migrate' },
    { in: join(ROOT, 'cli', 'commands', 'plan-wave.ts'), out: 'plan-wave' },
    { in: join(ROOT, 'functions', 'adapters', 'receipt-partition.ts'), out: 'receipt-partition' },
    { in: join(ROOT, 'local', 'stand-ins', 'services-host.ts'), out: 'services-host' },
    { in: join(ROOT, 'local', 'runtime', 'warm-synth.ts'), out: 'warm-synth' },
  ],
  outdir: dirname(BUILT),
  outExtension: { '.js': '.cjs' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  packages: 'external',
  logLevel: 'warning',
  plugins: [sourceFolders],
});
process.stdout.write(
  `esep-migrate: command line built in ${Date.now() - started} ms (${relative(ROOT, BUILT)})\n`,
);

// With --warm (npm ci's `prepare`): the local app synthesized into its cache too, so that the first
// `npm start` after an install does not pay for it. A failure here leaves the synth to the first command.
if (process.argv.includes('--warm')) {
  const warmStarted = Date.now();
  try {
    const { warmSynth } = createRequire(import.meta.url)(join(dirname(BUILT), 'warm-synth.cjs'));
    const made = await warmSynth();
    process.stdout.write(
      `esep-migrate: ${made === 0 ? 'the local app was already synthesized' : 'local app synthesized'} in ${Date.now() - warmStarted} ms\n`,
    );
  } catch (error) {
    process.stderr.write(
      `esep-migrate: the local app was not synthesized ahead (${error instanceof Error ? error.message : error}); the first command will\n`,
    );
  }
}
