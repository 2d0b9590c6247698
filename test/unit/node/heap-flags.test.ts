import { spawnSync } from 'node:child_process';
import { expect } from 'chai';
import { NODE_HEAP_FLAGS } from '../../../lib/node/index.ts';

// Where they are passed is checked beside each place: the image's entry point
// (test/deploy/manifests.test.ts), the bin's shebang
// (test/package/server-package.test.ts), the local cluster's spawn
// (test/integration/cluster.test.ts, from /proc).
describe('node heap flags', () => {
  it('are flags this Node.js accepts on its command line (an unknown one stops node at start), and it runs with them', () => {
    const r = spawnSync(process.execPath, [...NODE_HEAP_FLAGS, '-p', 'JSON.stringify(process.execArgv)'], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect((JSON.parse(r.stdout) as string[]).slice(0, NODE_HEAP_FLAGS.length)).to.deep.equal([...NODE_HEAP_FLAGS]);
  });
});
