import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { NODE_HEAP_FLAGS } from '../../../lib/node/index.ts';

const ROOT = new URL('../../../', import.meta.url);
const read = (rel: string): string => readFileSync(new URL(rel, ROOT), 'utf8');

describe('node heap flags', () => {
  it('are flags this Node.js accepts on its command line, and it runs with them', () => {
    const r = spawnSync(process.execPath, [...NODE_HEAP_FLAGS, '-p', 'JSON.stringify(process.execArgv)'], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect((JSON.parse(r.stdout) as string[]).slice(0, NODE_HEAP_FLAGS.length)).to.deep.equal([...NODE_HEAP_FLAGS]);
  });

  it('are on the CLI shebang, so `dynamo node` run from the package bin gets them', () => {
    const shebang = read('cmd/dynamo.ts').split('\n')[0]!;
    expect(shebang).to.equal(`#!/usr/bin/env -S node ${NODE_HEAP_FLAGS.join(' ')}`);
  });

  it("are on the container image's entry point", () => {
    const entry = read('deploy/k8s/Dockerfile').split('\n').find((l) => l.startsWith('ENTRYPOINT'));
    expect(entry).to.equal(`ENTRYPOINT ${JSON.stringify(['node', ...NODE_HEAP_FLAGS, 'dist/cmd/dynamo.js']).replaceAll('","', '", "')}`);
  });
});
