import { unusedAdmin } from '../transport/admin-fixture.ts';
import { expect } from 'chai';
import { DynamoClient, InvalidArgumentError, UnavailableError, text, texts } from '../../../lib/client/index.ts';
import type { KvHandler } from '../../../lib/protocol/index.ts';
import { RealTime, silentLogger } from '../../../lib/runtime/index.ts';
import { startGrpcServer, type GrpcServer } from '../../../lib/transport/index.ts';
import { FakeNode } from './fake-node.ts';
import { FirstEndpointClient, QUIET, rejection } from './support.ts';

const time = new RealTime();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => time.setTimer(ms, resolve));

/** A KvHandler over a Map that names the node in every value it returns. */
function namedKv(name: string, hold?: Promise<void>): KvHandler {
  const store = new Map<string, Uint8Array>();
  return {
    get: async (c) => {
      if (hold) await hold;
      const v = store.get(text(c.key));
      return { values: v ? [v] : [], context: Buffer.from(name) };
    },
    put: async (c) => {
      if (hold) await hold;
      store.set(text(c.key), c.value);
      return { context: Buffer.from(name) };
    },
    delete: async () => ({ context: new Uint8Array(0) }),
  };
}

function serve(kv: KvHandler, listen = '127.0.0.1:0'): Promise<GrpcServer> {
  return startGrpcServer({
    listen,
    kv,
    admin: { ...unusedAdmin, status: async () => Promise.reject(new Error('unused')) },
    peer: async () => Promise.reject(new Error('unused')),
    logger: silentLogger,
    time,
    requestTimeoutMsDefault: 5_000,
  });
}

describe('client: Session protocol specifics', function () {
  this.timeout(15_000);
  const nodes: FakeNode[] = [];
  const servers: GrpcServer[] = [];
  const clients: DynamoClient[] = [];
  const startNode = async (opts?: { session?: boolean }): Promise<FakeNode> => {
    const n = await FakeNode.start(opts);
    nodes.push(n);
    return n;
  };
  const track = <C extends DynamoClient>(c: C): C => {
    clients.push(c);
    return c;
  };

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    for (const n of nodes.splice(0)) n.stop();
    await Promise.all(servers.splice(0).map((s) => s.shutdown(200)));
  });

  it('pipelines concurrent requests over one stream, many per message', async () => {
    const server = await serve(namedKv('n1'));
    servers.push(server);
    const client = track(new DynamoClient({ endpoints: [server.address] }));
    await client.put('warm', 'up');
    const puts = await Promise.all(Array.from({ length: 300 }, (_, i) => client.put(`k${i}`, `v${i}`)));
    expect(puts.every((p) => text(p.context) === 'n1')).to.equal(true);
    const gets = await Promise.all(Array.from({ length: 300 }, (_, i) => client.get(`k${i}`)));
    expect(gets.map((g) => text(g.values[0]!))).to.deep.equal(Array.from({ length: 300 }, (_, i) => `v${i}`));
    const stats = server.sessionStats();
    expect(stats.streamsOpened).to.equal(1);
    expect(stats.requestsReceived).to.equal(601);
    // 256 requests per message at most: 1 + 2 + 2 messages.
    expect(stats.framesReceived).to.be.within(3, 10);
    expect(stats.framesSent).to.be.lessThan(100);
  });

  it('retries a get whose stream broke in flight on the next endpoint', async () => {
    const [broken, spare] = [await startNode(), await startNode()];
    broken.onGet = () => new Promise(() => {}); // never answers
    spare.onGet = () => ({ values: [Buffer.from('from-spare')], context: Buffer.from('c') });
    const client = track(new FirstEndpointClient({ endpoints: [broken.address, spare.address] }));
    const pending = client.get('k', { timeoutMs: 5_000 });
    while (broken.count('Get') === 0) await sleep(5);
    broken.stop(); // the connection and its stream die with the get on it
    const got = await pending;
    expect(texts(got.values)).to.deep.equal(['from-spare']);
    expect([broken.count('Get'), spare.count('Get')]).to.deep.equal([1, 1]);
  });

  it('fails a put whose stream broke in flight with UnavailableError (it may have been applied) and does not repeat it', async () => {
    const [broken, spare] = [await startNode(), await startNode()];
    broken.onPut = () => new Promise(() => {});
    const client = track(new FirstEndpointClient({ endpoints: [broken.address, spare.address] }));
    const pending = client.put('k', 'v', { timeoutMs: 5_000 });
    while (broken.count('Put') === 0) await sleep(5);
    broken.stop();
    const e = await rejection(pending);
    expect(e).to.be.instanceOf(UnavailableError);
    expect((e as Error).message).to.contain('may have been applied');
    expect((e as UnavailableError).maybeApplied).to.equal(true);
    expect([(e as UnavailableError).answered, (e as UnavailableError).required]).to.deep.equal([0, 0]);
    expect(spare.count('Put')).to.equal(0);
  });

  it('reconnects after the node restarts on the same port', async () => {
    const first = await serve(namedKv('first'));
    const address = first.address;
    const client = track(new DynamoClient({ endpoints: [address], timeoutMs: 2_000 }));
    expect(text((await client.put('k', 'v')).context)).to.equal('first');
    await first.shutdown(1_000);
    // Down: requests fail (fast, without hanging to the deadline).
    const down = await rejection(client.get('k'));
    expect(down).to.be.instanceOf(UnavailableError);

    const second = await serve(namedKv('second'), address);
    servers.push(second);
    let context = '';
    for (let i = 0; i < 100 && context === ''; i++) {
      context = await client.put('k', 'v').then(
        (p) => text(p.context),
        async () => {
          await sleep(50);
          return '';
        },
      );
    }
    expect(context).to.equal('second');
    expect(second.sessionStats().streamsOpened).to.equal(1);
  });

  it('a node shutting down finishes what it has, and new requests move to the next node without loss', async () => {
    let release!: () => void;
    const hold = new Promise<void>((r) => (release = r));
    const closing = await serve(namedKv('closing', hold));
    const spare = await serve(namedKv('spare'));
    servers.push(spare);
    const client = track(new FirstEndpointClient({ endpoints: [closing.address, spare.address] }));
    const inflight = client.put('a', '1');
    // In flight at the node (not merely issued) before it starts shutting down.
    while (closing.sessionStats().requestsReceived === 0) await sleep(5);
    const stopping = closing.shutdown(5_000);
    await sleep(50);
    const after = await client.put('b', '2'); // refused by the closing node (or never sent to it): served by the spare
    expect(text(after.context)).to.equal('spare');
    release();
    expect(text((await inflight).context)).to.equal('closing');
    await stopping;
    // The put it had, and its shutdown notice; the later put never reached it.
    expect(closing.sessionStats()).to.include({ requestsReceived: 1, responsesSent: 2 });
  });

  it('falls back to unary calls on a node without Session (an older node)', async () => {
    const old = await startNode({ session: false });
    const client = track(new DynamoClient({ endpoints: [old.address], ...QUIET }));
    await client.put('k', 'v');
    expect(texts((await client.get('k')).values)).to.deep.equal(['v']);
    expect(old.received.map((r) => [r.method, r.via])).to.deep.equal([
      ['Put', 'unary'],
      ['Get', 'unary'],
    ]);
  });

  it('coalesces requests issued in the same turn into one message to the node', async () => {
    const node = await startNode();
    const client = track(new DynamoClient({ endpoints: [node.address] }));
    await client.get('warm');
    const before = node.sessionMessages;
    await Promise.all(Array.from({ length: 50 }, (_, i) => client.get(`k${i}`)));
    expect(node.sessionMessages - before).to.equal(1);
    expect(node.received.filter((r) => r.via === 'session')).to.have.length(51);
  });

  it('validates the protocol option', () => {
    expect(() => new DynamoClient({ endpoints: ['127.0.0.1:1'], protocol: 'http' as never })).to.throw(InvalidArgumentError, /protocol/);
  });
});
