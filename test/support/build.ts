/**
 * Tests run the node and the CLI the way users do: built JavaScript on plain
 * `node`, no TypeScript loader. `npm test` builds once before mocha; when a
 * test file runs on its own (`npx mocha test/integration/cli.test.ts`) after
 * a source change, the first caller here rebuilds first — once per process,
 * and only when a source is newer than the last build.
 */
import { BUILT_CLI, freshCli } from '../../scripts/build.ts';

let fresh = false;

/** Path of the built `dynamo` CLI (dist/cmd/dynamo.js), rebuilding dist/ first if a source changed since (checked once per process). */
export function builtCli(): string {
  if (!fresh) {
    freshCli();
    fresh = true;
  }
  return BUILT_CLI;
}
