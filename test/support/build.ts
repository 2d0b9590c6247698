/**
 * Tests run the node and the CLI the way users do: built JavaScript on plain
 * `node`, no TypeScript loader. `npm test` builds once before mocha; when a
 * test file runs on its own (`npx mocha test/integration/cli.test.ts`) after
 * a source change, the first caller here rebuilds first — once per process,
 * and only when a source is newer than the last build.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { BUILD_STAMP, BUILT_CLI, ROOT } from '../../scripts/build.ts';

/** What the build reads: a change to any of these makes dist/ stale. */
const SOURCES = ['lib', 'cmd', 'protos', 'tsconfig.json', 'tsconfig.build.json', path.join('scripts', 'build.ts')];

function newestMs(p: string): number {
  const stat = statSync(p);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(p)) newest = Math.max(newest, newestMs(path.join(p, entry)));
  return newest;
}

function stale(): boolean {
  let builtMs: number;
  try {
    builtMs = statSync(BUILD_STAMP).mtimeMs;
  } catch {
    return true;
  }
  return SOURCES.some((s) => newestMs(path.join(ROOT, s)) > builtMs);
}

let fresh = false;

/** Path of the built `dynamo` CLI (dist/cmd/dynamo.js), rebuilding dist/ first if a source changed since. */
export function builtCli(): string {
  if (!fresh) {
    if (stale()) execFileSync(process.execPath, ['--import=tsx', path.join(ROOT, 'scripts', 'build.ts')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    fresh = true;
  }
  return BUILT_CLI;
}
