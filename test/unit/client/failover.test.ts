import { expect } from 'chai';
import { ClosedError, DynamoClient, TimeoutError, UnavailableError, text } from '../../../lib/client/index.ts';
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

    it('does not retry an UNAVAILABLE the cluster answered on another endpoint', async () => {
      const [a, b] = [await startNode(), await startNode()];
      for (const n of [a, b]) n.onGet = () => new UnavailableError('1 of 2 replicas answered', { answered: 1, required: 2 });
      const client = track(new FirstEndpointClient({ endpoints: [a.address, b.address], protocol }));
      const e = await rejection(client.get('k'));
      expect(e).to.be.instanceOf(UnavailableError);
      expect((e as UnavailableError).answered).to.equal(1);
      expect((e as UnavailableError).required).to.equal(2);
      expect([a.count('Get'), b.count('Get')]).to.deep.equal([1, 0]);
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
