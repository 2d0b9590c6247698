/** getMany: a page of keys in one round trip per replica set. */
import { expect } from 'chai';
import { DynamoClient, GET_MANY_KEYS_MAX, InvalidArgumentError, UnavailableError, texts } from '../../../lib/client/index.ts';
import type { NodeStatus } from '../../../lib/protocol/index.ts';
import { partitionOf } from '../../../lib/ring/index.ts';
import { FakeNode, type GetReq } from './fake-node.ts';
import { QUIET, rejection, ringStatus, until } from './support.ts';

const PARTITIONS = 32;

function statusOf(nodes: readonly FakeNode[], replicas: number): NodeStatus {
  return ringStatus(nodes.map((n, i) => ({ id: `n${i + 1}`, address: n.address })), replicas, PARTITIONS);
}

const gotKeys = (n: FakeNode): string[] => n.received.filter((r) => r.method === 'Get').map((r) => (r.request as GetReq).key.toString());

describe('client: getMany', () => {
  const nodes: FakeNode[] = [];
  const clients: DynamoClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    for (const n of nodes.splice(0)) n.stop();
  });

  /** Three fake nodes serving `key -> value-of-key`, reporting a ring with `replicas`; a client knowing only the first. */
  async function cluster(replicas: number): Promise<{ client: DynamoClient; status: NodeStatus }> {
    for (let i = 0; i < 3; i++) {
      const n = await FakeNode.start();
      n.onGet = (req) => ({ values: [Buffer.from(`value-of-${req.key.toString()}`)], context: Buffer.from('c') });
      nodes.push(n);
    }
    const status = statusOf(nodes, replicas);
    for (const n of nodes) n.onStatus = () => status;
    const client = new DynamoClient({ endpoints: [nodes[0]!.address] });
    clients.push(client);
    await until('the ring is known', () => client.routingRing === status.ringChecksum);
    // Open every session first, so the counts below are of the getMany alone.
    await Promise.all(nodes.map((n) => client.status(n.address)));
    await Promise.all(Array.from({ length: 30 }, (_, i) => client.get(`warm-${i}`)));
    return { client, status };
  }

  it('returns every key’s result in order, a key asked twice read once', async () => {
    const { client } = await cluster(1);
    const keys = ['b', 'a', 'c', 'a', 'zz'];
    const before = nodes.reduce((sum, n) => sum + n.count('Get'), 0);
    const results = await client.getMany(keys);
    expect(results.map((r) => texts(r.values)[0])).to.deep.equal(keys.map((k) => `value-of-${k}`));
    expect(results.every((r) => r.found)).to.equal(true);
    expect(nodes.reduce((sum, n) => sum + n.count('Get'), 0) - before).to.equal(4);
    expect(await client.getMany([])).to.deep.equal([]);
  });

  it('sends each key to its replica, one message per node (replicas 1: three replica sets)', async () => {
    const { client, status } = await cluster(1);
    const keys = Array.from({ length: 90 }, (_, i) => `page-${i}`);
    const before = nodes.map((n) => ({ messages: n.sessionMessages, gets: gotKeys(n).length }));
    await client.getMany(keys);
    nodes.forEach((n, i) => {
      const expected = keys.filter((k) => status.partitionOwners[partitionOf(Buffer.from(k), PARTITIONS)] === `n${i + 1}`);
      expect(gotKeys(n).slice(before[i]!.gets).sort(), `keys at n${i + 1}`).to.deep.equal(expected.sort());
      expect(n.sessionMessages - before[i]!.messages, `messages to n${i + 1}`).to.equal(expected.length > 0 ? 1 : 0);
    });
  });

  it('sends a page whose keys share one replica set to one node in one message (replicas 3)', async () => {
    const { client } = await cluster(3);
    const keys = Array.from({ length: 60 }, (_, i) => `page-${i}`);
    const before = nodes.map((n) => ({ messages: n.sessionMessages, gets: n.count('Get') }));
    await client.getMany(keys);
    const gets = nodes.map((n, i) => n.count('Get') - before[i]!.gets);
    const messages = nodes.map((n, i) => n.sessionMessages - before[i]!.messages);
    expect([...gets].sort((x, y) => x - y)).to.deep.equal([0, 0, 60]);
    expect([...messages].sort((x, y) => x - y)).to.deep.equal([0, 0, 1]);
  });

  it('rejects with the failure of a key that cannot be read', async () => {
    const node = await FakeNode.start();
    nodes.push(node);
    node.onGet = (req) =>
      req.key.toString() === 'bad' ? new UnavailableError('1 of 2 replicas answered', { answered: 1, required: 2 }) : { values: [Buffer.from('v')] };
    const client = new DynamoClient({ endpoints: [node.address], ...QUIET });
    clients.push(client);
    const e = await rejection(client.getMany(['ok', 'bad', 'ok2']));
    expect(e).to.be.instanceOf(UnavailableError);
    expect(await rejection(client.getMany(Array.from({ length: GET_MANY_KEYS_MAX + 1 }, (_, i) => `k${i}`)))).to.be.instanceOf(InvalidArgumentError);
    expect(await rejection(client.getMany(['ok', '']))).to.be.instanceOf(InvalidArgumentError);
    expect(await rejection(client.getMany('abc' as never))).to.be.instanceOf(InvalidArgumentError);
  });
});
