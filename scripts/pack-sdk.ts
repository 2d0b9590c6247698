/**
 * `npm run pack:sdk [-- --out DIR]`: builds `dynamo-kv-client`, the SDK as a
 * package of its own — what an application needs to talk to the store and
 * nothing else (no storage engines, no server code, no TypeScript loader) —
 * and packs it with `npm pack`. The last line printed is the tarball's path.
 *
 * The package, staged in build/sdk/:
 *
 *   package.json        exports: import -> dist/esm, require -> dist/cjs, each with its types
 *   dist/esm/index.js   lib/client bundled into one ES module (esbuild)
 *   dist/cjs/index.js   the same as CommonJS (Node 20 cannot require() an ES module)
 *   dist/{esm,cjs}/types/lib/...   the declarations the client's surface names,
 *                       copied from `npm run build` (run first when stale); the nested package.json
 *                       files make TypeScript read one copy as ESM, one as CJS
 *   protos/dynamo/v1/{kv,admin}.proto   the public API the client loads at run time
 *
 * Only @grpc/grpc-js and protobufjs stay external (the package's
 * dependencies); everything else the client imports is bundled. lib/ has no
 * import-time side effects, so the bundler may drop whatever the client does
 * not use from a module's surface (lib/transport's index also exports the
 * server): a check then fails the pack if anything server-side got in.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { build, DIST, isStale, ROOT } from './build.ts';

/** Where the package is assembled. */
export const STAGE = path.join(ROOT, 'build', 'sdk');
/** Where the tarball goes unless --out says otherwise. */
const OUT_DEFAULT = path.join(ROOT, 'build');
const NAME = 'dynamo-kv-client';
/** The SDK's dependencies: left out of the bundle, versions taken from the root package.json. */
const EXTERNAL = ['@grpc/grpc-js', 'protobufjs'] as const;
/** The only package the bundle may inline (a tiny CommonJS hash function). */
const INLINED = ['murmurhash3js-revisited'];
/** lib modules the client may not pull in (storage, server composition, replication, simulator, clocks). */
const SERVER_SIDE = /^lib\/(storage|node|replication|sim|vclock|config)\//;
/** Declaration directories the SDK's types may come from. */
const TYPE_DIRS = ['lib/client/', 'lib/runtime/', 'lib/protocol/'];
const PROTOS = ['kv.proto', 'admin.proto'];

const LIB = path.join(ROOT, 'lib') + path.sep;

/** Tell esbuild that lib/ modules have no import-time side effects, so unused parts of a module's surface are dropped. */
const libIsPure: esbuild.Plugin = {
  name: 'lib-is-pure',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const resolved = path.resolve(args.resolveDir, args.path);
      if (!resolved.startsWith(LIB) || !existsSync(resolved)) return undefined;
      return { path: resolved, sideEffects: false };
    });
  },
};

async function bundle(format: 'esm' | 'cjs'): Promise<esbuild.Metafile> {
  const outfile = path.join(STAGE, 'dist', format, 'index.js');
  const result = await esbuild.build({
    entryPoints: [path.join(ROOT, 'lib', 'client', 'index.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format,
    external: [...EXTERNAL, ...EXTERNAL.map((e) => `${e}/*`)],
    plugins: [libIsPure],
    metafile: true,
    logLevel: 'warning',
    legalComments: 'inline',
    // The client finds its protos relative to its own file: in CommonJS, from __filename.
    ...(format === 'cjs'
      ? { define: { 'import.meta.url': '__importMetaUrl' }, banner: { js: "const __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" } }
      : {}),
  });
  writeFileSync(path.join(STAGE, 'dist', format, 'package.json'), JSON.stringify({ type: format === 'esm' ? 'module' : 'commonjs' }) + '\n');
  return result.metafile;
}

/** Fail unless the bundle holds client-side code only and imports nothing but its dependencies and Node built-ins. */
function checkBundle(meta: esbuild.Metafile): void {
  for (const [file, output] of Object.entries(meta.outputs)) {
    for (const input of Object.keys(output.inputs)) {
      const rel = path.relative(ROOT, path.resolve(ROOT, input)).split(path.sep).join('/');
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(rel)?.[1];
      if (SERVER_SIDE.test(rel) || (pkg !== undefined && !INLINED.includes(pkg))) {
        throw new Error(`${path.relative(ROOT, file)} would ship ${rel}: the SDK must not contain server-side code or dependencies`);
      }
    }
    for (const imported of output.imports) {
      const ok = imported.path.startsWith('node:') || EXTERNAL.some((e) => imported.path === e || imported.path.startsWith(`${e}/`));
      if (imported.external && !ok) throw new Error(`${path.relative(ROOT, file)} imports ${imported.path}, which the SDK does not depend on`);
    }
  }
}

/** The declaration files `entry` needs, following relative imports; fails on anything outside TYPE_DIRS or the SDK's dependencies. */
function declarationClosure(entry: string): string[] {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    const rel = path.relative(DIST, file).split(path.sep).join('/');
    if (!TYPE_DIRS.some((d) => rel.startsWith(d))) throw new Error(`the SDK's types would need ${rel}: keep the client's public types in lib/client, lib/runtime or lib/protocol`);
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) queue.push(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.d.ts')));
      else if (!EXTERNAL.includes(spec as (typeof EXTERNAL)[number]) && !spec.startsWith('node:')) {
        throw new Error(`${rel} imports '${spec}' in its types, which the SDK does not depend on`);
      }
    }
  }
  return [...seen].sort();
}

/** Copy the declarations under dist/<format>/types/, without their source-map comments (the maps and sources are not shipped). */
function copyTypes(files: readonly string[]): void {
  for (const format of ['esm', 'cjs']) {
    for (const file of files) {
      const target = path.join(STAGE, 'dist', format, 'types', path.relative(DIST, file));
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, readFileSync(file, 'utf8').replace(/\n\/\/# sourceMappingURL=.*$/, '\n'));
    }
  }
}

function packageJson(): Record<string, unknown> {
  const root = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    version: string;
    license: string;
    dependencies: Record<string, string>;
    engines: Record<string, string>;
  };
  const types = (format: string): string => `./dist/${format}/types/lib/client/index.d.ts`;
  return {
    name: NAME,
    version: root.version,
    description: 'Node.js client for dynamo-kv, a Dynamo-style replicated key-value store: token-aware, pipelined, ESM and CommonJS, typed',
    license: root.license,
    keywords: ['dynamo', 'key-value', 'database', 'client', 'grpc'],
    type: 'module',
    main: './dist/cjs/index.js',
    types: types('cjs'),
    exports: {
      '.': {
        import: { types: types('esm'), default: './dist/esm/index.js' },
        require: { types: types('cjs'), default: './dist/cjs/index.js' },
      },
      './package.json': './package.json',
    },
    files: ['dist/', 'protos/'],
    sideEffects: false,
    engines: root.engines,
    dependencies: Object.fromEntries(EXTERNAL.map((name) => [name, root.dependencies[name]])),
  };
}

/** Build, assemble and pack the SDK; returns the tarball's absolute path. */
export async function packSdk(outDir: string = OUT_DEFAULT): Promise<string> {
  if (isStale()) build();
  rmSync(STAGE, { recursive: true, force: true });
  mkdirSync(STAGE, { recursive: true });
  for (const format of ['esm', 'cjs'] as const) checkBundle(await bundle(format));
  copyTypes(declarationClosure(path.join(DIST, 'lib', 'client', 'index.d.ts')));
  const protoDir = path.join(STAGE, 'protos', 'dynamo', 'v1');
  mkdirSync(protoDir, { recursive: true });
  for (const proto of PROTOS) cpSync(path.join(ROOT, 'protos', 'dynamo', 'v1', proto), path.join(protoDir, proto));
  writeFileSync(path.join(STAGE, 'package.json'), JSON.stringify(packageJson(), null, 2) + '\n');
  cpSync(path.join(ROOT, 'sdk', 'README.md'), path.join(STAGE, 'README.md'));
  mkdirSync(outDir, { recursive: true });
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const out = execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', path.resolve(outDir)], { cwd: STAGE, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const [packed] = JSON.parse(out) as { filename: string; size: number; unpackedSize: number; entryCount: number }[];
  const tarball = path.join(path.resolve(outDir), packed!.filename);
  process.stderr.write(`${NAME}: ${packed!.entryCount} files, ${kib(packed!.size)} packed, ${kib(packed!.unpackedSize)} unpacked\n`);
  return tarball;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--out');
  if (args.length > 0 && (at !== 0 || args.length !== 2)) {
    process.stderr.write('usage: npm run pack:sdk [-- --out DIR]\n');
    process.exit(2);
  }
  try {
    const tarball = await packSdk(at === 0 ? args[1] : undefined);
    if (!statSync(tarball).isFile()) throw new Error(`npm pack wrote no ${tarball}`);
    process.stdout.write(`${tarball}\n`);
  } catch (e) {
    process.stderr.write(`pack:sdk failed: ${(e as Error).message}\n`);
    process.exit(1);
  }
}
