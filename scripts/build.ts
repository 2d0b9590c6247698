/**
 * `npm run build`: compiles lib/ and cmd/ to JavaScript with declarations
 * and their maps in dist/ (tsconfig.build.json), next to a copy of protos/,
 * so that the node, the CLI and the SDK run on plain `node` with no
 * TypeScript loader. dist/ mirrors the source tree: dist/lib/x/y.js finds
 * its protos at ../../protos exactly as lib/x/y.ts does.
 *
 * The sources import each other with `.ts` extensions; tsc rewrites them to
 * `.js` in the JavaScript (rewriteRelativeImportExtensions) but keeps them in
 * declarations, which a consumer's TypeScript would then look for and not
 * find. So declarations are rewritten too: `.ts` and `.js` have the same
 * length, so the declaration maps stay exact.
 *
 * The last thing written is dist/.built: `isStale()` compares its time with
 * the sources', so tests and pack:sdk rebuild only when something changed.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DIST = path.join(ROOT, 'dist');
/** Written last by a successful build. */
export const BUILD_STAMP = path.join(DIST, '.built');
/** The built CLI (the package's bin). */
export const BUILT_CLI = path.join(DIST, 'cmd', 'dynamo.js');

/** A relative import or export specifier ending in `.ts`, in a declaration file. */
const TS_SPECIFIER = /((?:from|import)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]*?)\.ts\2/g;

/** Rewrite `./x.ts` specifiers to `./x.js` (same length, so .d.ts.map offsets hold). */
export function jsSpecifiers(declaration: string): string {
  return declaration.replace(TS_SPECIFIER, (_m, lead: string, quote: string, stem: string) => `${lead}${quote}${stem}.js${quote}`);
}

function* files(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* files(p);
    else yield p;
  }
}

/** What the build reads: a change to any of these makes dist/ stale. */
const SOURCES = ['lib', 'cmd', 'protos', 'tsconfig.json', 'tsconfig.build.json', path.join('scripts', 'build.ts')];

function newestMs(p: string): number {
  const stat = statSync(p);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(p)) newest = Math.max(newest, newestMs(path.join(p, entry)));
  return newest;
}

/** True when dist/ was never built, or a source changed since. */
export function isStale(): boolean {
  let builtMs: number;
  try {
    builtMs = statSync(BUILD_STAMP).mtimeMs;
  } catch {
    return true;
  }
  return SOURCES.some((s) => newestMs(path.join(ROOT, s)) > builtMs);
}

/** Path of the built `dynamo` CLI, rebuilding dist/ first if a source changed since the last build. */
export function freshCli(): string {
  if (isStale()) build();
  return BUILT_CLI;
}

/** Build dist/ from scratch; throws (with tsc's output on stdout) when compilation fails. */
export function build(): void {
  rmSync(DIST, { recursive: true, force: true });
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  execFileSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], { cwd: ROOT, stdio: 'inherit' });
  cpSync(path.join(ROOT, 'protos'), path.join(DIST, 'protos'), { recursive: true });
  for (const file of files(DIST)) {
    if (!file.endsWith('.d.ts')) continue;
    const text = readFileSync(file, 'utf8');
    const rewritten = jsSpecifiers(text);
    if (rewritten !== text) writeFileSync(file, rewritten);
  }
  chmodSync(BUILT_CLI, 0o755);
  writeFileSync(BUILD_STAMP, `${new Date().toISOString()}\n`);
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    build();
    // stderr: `npm pack --json` (prepack builds) keeps stdout for its JSON.
    process.stderr.write(`built ${path.relative(process.cwd(), DIST) || '.'}/\n`);
  } catch (e) {
    process.stderr.write(`build failed: ${(e as Error).message.split('\n')[0]}\n`);
    process.exit(1);
  }
}
