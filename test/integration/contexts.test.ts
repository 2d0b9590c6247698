/**
 * Signed contexts on real node processes (built CLI, LevelDB in a temp dir,
 * 127.0.0.1), with the cluster's secrets in a --context-secret-file as the
 * README tells operators to: contexts the cluster hands out work through
 * every node; a context forged with a raised counter, or signed with another
 * secret (the public default), is refused INVALID_ARGUMENT through the SDK
 * and the CLI and changes nothing; and a secret rotates in three rolls during
 * which no node refuses a context another node issued.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '../../lib/client/index.ts';
import { ContextCodec, encodeContext, peekContext } from '../../lib/vclock/index.ts';
import { EXIT } from '../../cmd/cli/exit-codes.ts';
import { dynamo, killStragglers } from '../support/cli.ts';
import { startTestCluster, text, type TestCluster } from './harness.ts';

const OLD = 'first cluster secret: 9d1c7e04b6';
const NEW = 'second cluster secret: 51fa2c88e3';
const key = (k: string): Uint8Array => new TextEncoder().encode(k);

describe('integration: signed contexts and --context-secret-file', function () {
  this.timeout(180_000);
  let t: TestCluster;
  let dir: string;
  let secretFile: string;

  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'dynamo-it-secrets-'));
    secretFile = path.join(dir, 'context-secrets');
    writeFileSync(secretFile, `# the first line signs\n${OLD}\n`);
    // Nodes read the file when they start.
    t = await startTestCluster({ nodes: 3, partitions: 16, env: { DYNAMO_CONTEXT_SECRET_FILE: secretFile } });
  });
  after(async () => {
    killStragglers();
    await t?.teardown();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('serves the contexts it issues through any node, and refuses forged or foreign-signed ones without changing anything', async () => {
    const [a, b] = [t.client('n1'), t.client('n2')];
    await a.put('cart', 'apples', { consistency: 'ALL' });
    const read = await b.get('cart', { consistency: 'ALL' });
    expect(text(read.values)).to.deep.equal(['apples']);
    // A raised counter, re-signed with the public default secret (what a cluster without the file would issue).
    const claims = peekContext(read.context, key('cart')).map((e) => ({ ...e, counter: e.counter + 1 }));
    for (const forged of [encodeContext(claims, key('cart')), encodeContext(peekContext(read.context, key('cart')), key('cart'))]) {
      let refused: unknown;
      try {
        await a.put('cart', 'forged', { context: forged, consistency: 'ALL' });
      } catch (e) {
        refused = e;
      }
      expect(refused).to.be.instanceOf(InvalidArgumentError);
      expect((refused as Error).message).to.match(/context was not issued by this cluster, or was changed: its signature does not match/);
    }
    const cli = await dynamo(['put', 'cart', 'forged', '--context', Buffer.from(encodeContext(claims, key('cart'))).toString('base64'), '--endpoint', t.cluster.member('n3').address]);
    expect(cli.code).to.equal(EXIT.usage);
    expect(cli.stderr.trim().split('\n')).to.have.length(1);
    expect(cli.stderr).to.match(/signature does not match/);
    expect(text((await b.get('cart', { consistency: 'ALL' })).values), 'nothing forged was stored').to.deep.equal(['apples']);
    // Counted where they were refused: two SDK puts through n1, the CLI's through n3 (after its own read there).
    const refused = async (id: string): Promise<number | undefined> => (await t.client(id).status(t.cluster.member(id).address, { timeoutMs: 2000 })).safety?.contextsRefused;
    expect([await refused('n1'), await refused('n2'), await refused('n3')]).to.deep.equal([2, 0, 1]);
    // The real context replaces what it saw, through another node than the one that issued it.
    await t.client('n3').put('cart', 'apples,pears', { context: read.context, consistency: 'ALL' });
    expect(text((await a.get('cart', { consistency: 'ALL' })).values)).to.deep.equal(['apples,pears']);
  });

  it('rotates a secret in three rolls, and mid-roll every node takes the contexts the others issue', async () => {
    const oldOnly = new ContextCodec({ secrets: [key(OLD)] });
    const newOnly = new ContextCodec({ secrets: [key(NEW)] });
    const read = async (id: string): Promise<Uint8Array> => (await t.client(id).get('cart', { consistency: 'ALL' })).context;
    const write = async (id: string, value: string, context: Uint8Array): Promise<void> => {
      await t.client(id).put('cart', value, { context, consistency: 'ALL' });
      expect(text((await t.client(id).get('cart', { consistency: 'ALL' })).values), `${value} replaced what its context saw`).to.deep.equal([value]);
    };
    const restart = async (...ids: string[]): Promise<void> => {
      for (const id of ids) {
        await t.cluster.stopMember(id);
        await t.cluster.startMember(id);
      }
      await t.settle();
    };
    const held = await read('n2');
    expect(oldOnly.decode(held, key('cart'))).to.have.length.greaterThan(0);

    // Roll 1: the new secret verifies; the old one still signs. Mid-roll, n1 has the file and n2 does not.
    writeFileSync(secretFile, `${OLD}\n${NEW}\n`);
    await restart('n1');
    const byRolled = await read('n1');
    expect(oldOnly.decode(byRolled, key('cart')), 'still signed with the old secret').to.have.length.greaterThan(0);
    await write('n2', 'v1', byRolled);
    await write('n1', 'v2', await read('n2'));
    await restart('n2', 'n3');

    // Roll 2: the new secret signs. Mid-roll, n1 signs with it and n2, n3 verify it (their second line).
    writeFileSync(secretFile, `${NEW}\n${OLD}\n`);
    await restart('n1');
    const signedNew = await read('n1');
    expect(newOnly.decode(signedNew, key('cart')), 'signed with the new secret').to.have.length.greaterThan(0);
    expect(() => oldOnly.decode(signedNew, key('cart'))).to.throw(/signature/);
    await write('n2', 'v3', signedNew);
    await write('n1', 'v4', await read('n3'));
    await restart('n2', 'n3');
    // A context from before the rotation is still taken.
    await t.client('n3').put('cart', 'plums', { context: held, consistency: 'ALL' });

    // Roll 3, once no client holds an old context: the old secret goes.
    writeFileSync(secretFile, `${NEW}\n`);
    await restart('n1', 'n2', 'n3');
    let refused: unknown;
    try {
      await t.client('n2').put('cart', 'stale', { context: held, consistency: 'ALL' });
    } catch (e) {
      refused = e;
    }
    expect(refused, 'the old secret is gone').to.be.instanceOf(InvalidArgumentError);
    await write('n3', 'figs', await read('n1'));
  });
});
