/**
 * The server package (`dynamo-kv`: the node and the CLI) ships what it runs
 * and nothing else: built JavaScript and the protos — no sources, tests,
 * benchmarks, docs, simulator, maps or declarations — and its runtime
 * dependencies are exactly the packages that code imports.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import { NODE_HEAP_FLAGS } from '../../lib/node/heap-flags.ts';
import { ROOT } from '../../scripts/build.ts';
import { builtCli } from '../support/build.ts';

const run = promisify(execFile);

interface Packed {
  files: { path: string }[];
  size: number;
  unpackedSize: number;
}

describe('package: the dynamo-kv server package', function () {
  this.timeout(60_000);
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
    bin: Record<string, string>;
    dependencies: Record<string, string>;
    scripts: Record<string, string>;
  };
  let files: string[];

  before(async () => {
    builtCli();
    // --ignore-scripts: list what `files` selects from the dist/ just built, without prepack rebuilding it.
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } });
    files = (JSON.parse(stdout) as Packed[])[0]!.files.map((f) => f.path).sort();
  });

  it('ships the built CLI, node and protos, and nothing it does not run', () => {
    expect(files).to.include.members(['package.json', 'dist/cmd/dynamo.js', 'dist/lib/node/process.js', 'dist/lib/storage/engines.js', 'dist/protos/dynamo/v1/kv.proto', 'dist/protos/dynamo/v1/storage.proto']);
    expect(files, 'the simulator is a development tool').to.not.include('dist/cmd/sim.js');
    const extra = files.filter((f) => !/^(package\.json|README\.md|dist\/(cmd|lib\/(?!sim\/)[a-z]+)\/.+\.js|dist\/protos\/dynamo\/v1\/[a-z]+\.proto)$/.test(f));
    expect(extra).to.deep.equal([]);
  });

  it('runs its bin on plain node: the built CLI with a shebang', () => {
    expect(pkg.bin).to.deep.equal({ dynamo: './dist/cmd/dynamo.js' });
    expect(readFileSync(path.join(ROOT, pkg.bin['dynamo']!), 'utf8').split('\n')[0]).to.equal(`#!/usr/bin/env -S node ${NODE_HEAP_FLAGS.join(' ')}`);
    expect(pkg.scripts['start']).to.match(/^node dist\/cmd\/dynamo\.js /);
  });

  it('depends on exactly the packages its shipped code imports', () => {
    const builtins = new Set(builtinModules);
    const imported = new Set<string>();
    for (const file of files.filter((f) => f.endsWith('.js'))) {
      const text = readFileSync(path.join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/(?<![.\w])(?:from|import)\s*\(?\s*['"]((?:@[\w.-]+\/)?\w[\w.-]*(?:\/[^'"]*)?)['"]/g)) {
        const spec = m[1]!;
        if (spec.startsWith('node:') || builtins.has(spec)) continue;
        imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
    expect([...imported].sort()).to.deep.equal(Object.keys(pkg.dependencies).sort());
  });
});
