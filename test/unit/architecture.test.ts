import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { HANDLER_PATHS } from '../../local/runtime/handlers';

/**
 * The layout is the architecture, and this keeps it so: the core is pure, its rooms depend one way, each
 * layer imports only the layers below it, and no module imports itself back through others.
 */
const ROOT = join(__dirname, '..', '..');
const SOURCES = ['bin', 'lib', 'functions', 'local', 'cli', 'tools'];

interface Import {
  readonly from: string;
  /** A repository path (no extension) for a relative import, else the package name. */
  readonly to: string;
  readonly relative: boolean;
  readonly typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|cjs)$/.test(e.name) && !e.name.endsWith('.d.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

const withoutExtension = (path: string) => path.replace(/\.(ts|cjs|js)$/, '');

function resolveRelative(from: string, spec: string): string {
  const base = resolve(ROOT, dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, `${base}.cjs`]) {
    try {
      if (statSync(candidate).isFile()) return withoutExtension(relative(ROOT, candidate));
    } catch {}
  }
  throw new Error(`${from}: cannot resolve ${spec}`);
}

function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const found: Import[] = [];
  const patterns = [
    /^\s*(import|export)\s+(type\s+)?[^'";]*?\sfrom\s+'([^']+)'/gm,
    /^\s*import\s+'([^']+)'/gm,
    /require\('([^']+)'\)/g,
  ];
  for (const [i, pattern] of patterns.entries()) {
    for (const m of text.matchAll(pattern)) {
      const spec = (i === 0 ? m[3] : m[1]) as string;
      const isRelative = spec.startsWith('.');
      found.push({
        from: file,
        to: isRelative ? resolveRelative(file, spec) : spec,
        relative: isRelative,
        typeOnly: i === 0 && m[2] !== undefined,
      });
    }
  }
  return found;
}

const files = SOURCES.flatMap(sourceFiles);
const imports = files.flatMap(importsOf);
const layerOf = (path: string) => {
  const [top, second] = path.split('/');
  if (top !== 'functions') return top as string;
  if (second === 'core' || second === 'adapters') return `functions/${second}`;
  return 'functions/handlers';
};

describe('the core is pure', () => {
  const core = files.filter((f) => f.startsWith('functions/core/'));

  test('it imports only the core, zod, intl-messageformat and node:crypto, node:stream, node:zlib', () => {
    const allowed = new Set(['zod', 'intl-messageformat', 'node:crypto', 'node:stream', 'node:zlib']);
    const outside = imports
      .filter((i) => i.from.startsWith('functions/core/'))
      .filter((i) => (i.relative ? !i.to.startsWith('functions/core/') : !allowed.has(i.to)))
      .map((i) => `${i.from} -> ${i.to}`);
    expect(outside).toEqual([]);
  });

  test('it reads no environment and no process state', () => {
    const impure = core.filter((f) =>
      /\bprocess\.(env|argv|cwd|exit)\b/.test(readFileSync(join(ROOT, f), 'utf8')),
    );
    expect(impure).toEqual([]);
  });

  test('its rooms depend one way: rules <- report <- pipeline <- verify, estimate (types aside)', () => {
    const ROOMS = ['rules', 'report', 'pipeline', 'verify', 'estimate'] as const;
    const MAY_USE: Record<(typeof ROOMS)[number], readonly string[]> = {
      rules: [],
      report: ['rules'],
      pipeline: ['rules', 'report'],
      verify: ['rules', 'report', 'pipeline'],
      estimate: ['rules', 'report', 'pipeline'],
    };
    const roomOf = (path: string) => /^functions\/core\/([^/]+)\//.exec(path)?.[1];
    const wrong = imports
      .filter((i) => !i.typeOnly && i.relative)
      .filter((i) => {
        const from = roomOf(i.from) as (typeof ROOMS)[number] | undefined;
        const to = roomOf(i.to);
        return from && to && from !== to && !MAY_USE[from]?.includes(to);
      })
      .map((i) => `${i.from} -> ${i.to}`);
    expect(wrong).toEqual([]);
  });
});

describe('each layer imports only the layers below it', () => {
  const MAY_IMPORT: Record<string, readonly string[]> = {
    'functions/core': ['functions/core'],
    'functions/adapters': ['functions/core', 'functions/adapters'],
    'functions/handlers': ['functions/core', 'functions/adapters'],
    lib: ['lib', 'functions/core', 'functions/adapters'],
    local: ['local', 'lib', 'tools', 'functions/core', 'functions/adapters', 'functions/handlers'],
    tools: ['tools', 'functions/core'],
    cli: [
      'cli',
      'local',
      'lib',
      'tools',
      'functions/core',
      'functions/adapters',
      'functions/handlers',
      'package.json',
    ],
    bin: ['lib', 'cli'],
  };

  test.each(Object.keys(MAY_IMPORT))('%s', (layer) => {
    const wrong = imports
      .filter((i) => i.relative && layerOf(i.from) === layer)
      .filter((i) => !MAY_IMPORT[layer]?.includes(layerOf(i.to)))
      .map((i) => `${i.from} -> ${i.to}`);
    expect(wrong).toEqual([]);
  });

  test('AWS SDK clients and Lambda types stay in the adapters, the handlers and the local runtime', () => {
    const wrong = imports
      .filter((i) => /^(@aws-sdk\/|aws-lambda$|@aws-lambda-powertools\/)/.test(i.to))
      .filter((i) => ['functions/core', 'lib', 'tools'].includes(layerOf(i.from)))
      .map((i) => `${i.from} -> ${i.to}`);
    expect(wrong).toEqual([]);
  });

  test('a handler is one thin module: functions/<name>/handler.ts, importing no other handler', () => {
    const handlers = files.filter((f) => layerOf(f) === 'functions/handlers');
    expect(handlers.filter((f) => !/^functions\/[a-z-]+\/handler\.ts$/.test(f))).toEqual([]);
    const crossing = imports
      .filter((i) => layerOf(i.from) === 'functions/handlers' && layerOf(i.to) === 'functions/handlers')
      .map((i) => `${i.from} -> ${i.to}`);
    expect(crossing).toEqual([]);
  });
});

test("the local runtime names every handler (local/runtime/handlers.ts), so the command line's build holds them", () => {
  const handlers = files.filter((f) => layerOf(f) === 'functions/handlers').sort();
  expect([...HANDLER_PATHS].sort()).toEqual(handlers);
  const required = imports
    .filter((i) => i.from === 'local/runtime/handlers.ts' && layerOf(i.to) === 'functions/handlers')
    .map((i) => `${i.to}.ts`)
    .sort();
  expect(required).toEqual(handlers);
});

test('no module imports itself back through others (types included)', () => {
  const edges = new Map<string, string[]>();
  for (const i of imports.filter((i) => i.relative))
    edges.set(withoutExtension(i.from), [...(edges.get(withoutExtension(i.from)) ?? []), i.to]);
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' -> '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of edges.keys()) if (!state.has(node)) visit(node);
  expect(cycles).toEqual([]);
});

test('the lock holds one version of each package of the AWS SDK v3, Smithy and Powertools families', () => {
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { version?: string }>;
  };
  const versions = new Map<string, Set<string>>();
  for (const [path, { version }] of Object.entries(lock.packages)) {
    const name = path.replace(/^.*node_modules\//, '');
    if (!version || !/^@(aws-sdk|smithy|aws-lambda-powertools|aws-crypto)\//.test(name)) continue;
    versions.set(name, (versions.get(name) ?? new Set()).add(version));
  }
  expect(versions.size).toBeGreaterThan(20);
  const twice = [...versions].filter(([, v]) => v.size > 1).map(([n, v]) => `${n}: ${[...v].join(', ')}`);
  expect(twice).toEqual([]);
  // The SDK clients the functions use are one release, as are the Powertools packages.
  const release = (prefix: string) =>
    new Set([...versions].filter(([n]) => n.startsWith(prefix)).flatMap(([, v]) => [...v]));
  expect(release('@aws-sdk/client-').size).toBe(1);
  expect(release('@aws-lambda-powertools/').size).toBe(1);
});
