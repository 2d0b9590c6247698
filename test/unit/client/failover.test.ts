import { expect } from 'chai';
import { ClosedError, DefaultRetryPolicy, DynamoClient, TimeoutError, UnavailableError, text, type RetryInput } from '../../../lib/client/index.ts';
import { FakeNode, closedPort } from './fake-node.ts';
import { PROTOCOLS, FirstEndpointClient, rejection } from './support.ts';

for (const protocol of PROTOCOLS) {
  describe(`client: endpoint spreading and failover (${protocol})`, () => {
    const nodes: FakeNode[] = [];
    const clients: DynamoClient[] = [];
    const startNode = async (): Promise<FakeNode> => {
      const n = await FakeNode.start();
      nodes.push(n);
      return n;
    };
    const track = <C extends DynamoClient>(c: C): C => {
      clients.push(c);
      return c;
    };

    afterEach(() => {
      for (const c of clients.splice(0)) c.close();
      for (const n of nodes.splice(0)) n.stop();
    });

    it('spreads requests round-robin over the endpoints', async () => {
      const [a, b, c] = [await startNode(), await startNode(), await startNode()];
      const client = track(new DynamoClient({ endpoints: [a.address, b.address, c.address], protocol }));
      for (let i = 0; i < 9; i++) await client.get(`k${i}`);
      expect([a.count('Get'), b.count('Get'), c.count('Get')]).to.deep.equal([3, 3, 3]);
    });

    it('fails over from a closed port to the next endpoint', async () => {
      const dead = await closedPort();
      const live = await startNode();
      const client = track(new FirstEndpointClient({ endpoints: [dead, live.address], protocol }));
      const put = await client.put('k', 'v');
      expect(text(put.context)).to.equal('v1');
      const got = await client.get('k');
      expect(text(got.values[0]!)).to.equal('v');
      expect(client.routed).to.equal(2);
      expect(live.count('Put')).to.equal(1);
      expect(live.count('Get')).to.equal(1);
    });

    it('keeps serving with the default router while one endpoint is down', async () => {
      const dead = await closedPort();
      const live = await startNode();
      const client = track(new DynamoClient({ endpoints: [dead, live.address], protocol }));
      for (let i = 0; i < 6; i++) await client.put(`k${i}`, 'v');
      expect(live.count('Put')).to.equal(6);
    });

    it('retries a read the cluster failed as UNAVAILABLE once, on the next endpoint', async () => {
      const [a, b, c] = [await startNode(), await startNode(), await startNode()];
      for (const n of [a, b, c]) n.onGet = () => new UnavailableError(`1 of 2 replicas answered (${n.address})`, { answered: 1, required: 2 });
      const client = track(new FirstEndpointClient({ endpoints: [a.address, b.address, c.address], protocol }));
      const e = await rejection(client.get('k'));
      expect(e).to.be.instanceOf(UnavailableError);
      expect((e as UnavailableError).answered).to.equal(1);
      expect((e as UnavailableError).required).to.equal(2);
      // Two attempts (DefaultRetryPolicy): the second endpoint's answer is the one reported.
      expect((e as Error).message).to.contain(b.address);
      expect([a.count('Get'), b.count('Get'), c.count('Get')]).to.deep.equal([1, 1, 0]);
      b.onGet = () => ({ values: [Buffer.from('from-b')], context: Buffer.from('c') });
      expect(text((await client.get('k')).values[0]!)).to.equal('from-b');
    });

    it('retries a write the cluster refused only when it was provably not applied', async () => {
      const [a, b] = [await startNode(), await startNode()];
      const client = track(new FirstEndpointClient({ endpoints: [a.address, b.address], protocol }));
      // Refused before any replica stored it (no replica answered, not maybeApplied): safe on another node.
      a.onPut = () => new UnavailableError('QUORUM write failed: 0 of 3 replicas answered, 2 needed', { answered: 0, required: 2 });
      expect(text((await client.put('k', 'v')).context)).to.equal('v1');
      expect([a.count('Put'), b.count('Put')]).to.deep.equal([1, 1]);
      // One replica stored it: repeating it would store it twice.
      a.onPut = () => new UnavailableError('QUORUM write failed: 1 of 3 replicas answered, 2 needed', { answered: 1, required: 2 });
      const e = await rejection(client.put('k', 'v'));
      expect(e).to.be.instanceOf(UnavailableError);
      expect((e as UnavailableError).answered).to.equal(1);
      expect([a.count('Put'), b.count('Put')]).to.deep.equal([2, 1]);
    });

    it('takes a configurable retry policy', async () => {
      const [a, b] = [await startNode(), await startNode()];
      for (const n of [a, b]) n.onGet = () => new UnavailableError('no quorum', { answered: 0, required: 2 });
      const off = track(new FirstEndpointClient({ endpoints: [a.address, b.address], protocol, retryPolicy: new DefaultRetryPolicy({ attemptsMax: 1 }) }));
      expect(await rejection(off.get('k'))).to.be.instanceOf(UnavailableError);
      expect([a.count('Get'), b.count('Get')]).to.deep.equal([1, 0]);
      const seen: RetryInput[] = [];
      const custom = track(
        new FirstEndpointClient({
          endpoints: [a.address, b.address],
          protocol,
          retryPolicy: { shouldRetry: (input) => (seen.push(input), input.op === 'get') },
        }),
      );
      expect(await rejection(custom.get('k'))).to.be.instanceOf(UnavailableError);
      expect(seen.map((s) => [s.op, s.error.code, s.attempts])).to.deep.equal([
        ['get', 'DYNAMO_UNAVAILABLE', 1],
        ['get', 'DYNAMO_UNAVAILABLE', 2],
      ]);
      expect(() => new DynamoClient({ endpoints: [a.address], retryPolicy: {} as never })).to.throw(/retryPolicy/);
      expect(() => new DefaultRetryPolicy({ attemptsMax: 0 })).to.throw(/attemptsMax/);
    });

    it('fails over when a node answers that it is shutting down (DYNAMO_CLOSED)', async () => {
      const [closing, live] = [await startNode(), await startNode()];
      closing.onGet = () => new ClosedError('node is shutting down');
      live.onGet = () => ({ values: [Buffer.from('from-live')], context: Buffer.from('c') });
      const client = track(new FirstEndpointClient({ endpoints: [closing.address, live.address], protocol }));
      const got = await client.get('k');
      expect(text(got.values[0]!)).to.equal('from-live');
      expect([closing.count('Get'), live.count('Get')]).to.deep.equal([1, 1]);
    });

    it('rejects with UnavailableError (0 answered) when no endpoint is reachable', async () => {
      const client = track(new DynamoClient({ endpoints: [await closedPort(), await closedPort()], protocol }));
      const e = await rejection(client.get('k'));
      expect(e).to.be.instanceOf(UnavailableError);
      expect((e as UnavailableError).code).to.equal('DYNAMO_UNAVAILABLE');
      expect((e as UnavailableError).answered).to.equal(0);
      expect((e as Error).message).to.contain('no endpoint could serve the request');
    });

    it('does not fail over past the deadline: a hung endpoint yields TimeoutError', async () => {
      const [hung, spare] = [await startNode(), await startNode()];
      hung.onGet = () => new Promise(() => {});
      const client = track(new FirstEndpointClient({ endpoints: [hung.address, spare.address], protocol }));
      const e = await rejection(client.get('k', { timeoutMs: 150 }));
      expect(e).to.be.instanceOf(TimeoutError);
      expect([hung.count('Get'), spare.count('Get')]).to.deep.equal([1, 0]);
    });
  });
}
