import { expect } from 'chai';
import type { NodeStatus } from '../../../lib/protocol/index.ts';
import { claim, partitionOf, preferenceList } from '../../../lib/ring/index.ts';
import { TokenRouter, placementOf, routable } from '../../../lib/client/token-router.ts';
import { FakeNode } from './fake-node.ts';
import { DynamoClient } from '../../../lib/client/index.ts';
import { ringStatus, until } from './support.ts';

const ids = ['n1', 'n2', 'n3', 'n4'];
const address = (id: string): string => `127.0.0.1:${7000 + Number(id.slice(1))}`;

function statusOf(replicas = 3, partitionCount = 16): NodeStatus {
  return ringStatus(ids.map((id) => ({ id, address: address(id) })), replicas, partitionCount);
}

const key = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('client/token-router', () => {
  it('routes every key to the addresses of its replicas, in preference order', () => {
    const router = new TokenRouter();
    const status = statusOf();
    expect(router.update(status)).to.equal(true);
    const ring = claim(ids, 16, { replicas: 3 });
    for (let i = 0; i < 50; i++) {
      const k = key(`k${i}`);
      const expected = preferenceList(ring, partitionOf(k, 16), 3).map(address);
      expect(router.replicasOf(k)).to.deep.equal(expected);
    }
  });

  it('learns every member address from one status', () => {
    const router = new TokenRouter();
    router.update(statusOf());
    expect([...router.members].sort()).to.deep.equal(ids.map(address).sort());
  });

  it('leaves out members whose address no client can dial (0.0.0.0, [::])', () => {
    expect(routable('0.0.0.0:7001')).to.equal(false);
    expect(routable('[::]:7001')).to.equal(false);
    expect(routable('dynamo-0.dynamo-peers:7001')).to.equal(true);
    const status = statusOf();
    const members = status.members.map((m) => (m.id === 'n2' ? { ...m, address: '0.0.0.0:7002' } : m));
    const router = new TokenRouter();
    router.update({ ...status, members });
    expect(router.members).to.not.include('0.0.0.0:7002');
    for (let i = 0; i < 30; i++) expect(router.replicasOf(key(`k${i}`))).to.not.include('0.0.0.0:7002');
  });

  it('turns routing off for a joining node or a ring that does not match its checksum', () => {
    const router = new TokenRouter();
    expect(router.update({ ...statusOf(), ready: false, partitionOwners: [] })).to.equal(false);
    expect(router.replicasOf(key('k'))).to.deep.equal([]);
    expect(router.members).to.deep.equal([]);
    const status = statusOf();
    const tampered = [...status.partitionOwners];
    [tampered[0], tampered[1]] = [tampered[1]!, tampered[0]!];
    expect(router.update({ ...status, partitionOwners: tampered })).to.equal(false);
    expect(router.checksum).to.equal(0);
    expect(router.update(status)).to.equal(true);
    expect(router.checksum).to.equal(status.ringChecksum);
  });

  it('places a key: its partition and its replicas with the node’s view of them', () => {
    const status = statusOf();
    const ring = claim(ids, 16, { replicas: 3 });
    const placement = placementOf(status, key('hello'))!;
    expect(placement.partition).to.equal(partitionOf(key('hello'), 16));
    expect(placement.replicas.map((m) => m.id)).to.deep.equal(preferenceList(ring, placement.partition, 3));
    expect(placement.replicas.map((m) => m.address)).to.deep.equal(placement.replicas.map((m) => address(m.id)));
    expect(placementOf({ ...status, ready: false }, key('hello'))).to.equal(undefined);
  });
});

/** A ring of `nodes` (replicas 1, so each key has exactly one home) as every node reports it. */
/** A ring of `nodes` with replicas 1 (each key has exactly one home), as every node reports it. */
function oneCopyRing(nodes: readonly FakeNode[], nodeIds: readonly string[]): NodeStatus {
  return ringStatus(nodeIds.map((id, i) => ({ id, address: nodes[i]!.address })), 1, 32);
}

const putKeys = (n: FakeNode): string[] => n.received.filter((r) => r.method === 'Put').map((r) => (r.request as { key: Buffer }).key.toString()).sort();

describe('client: token-aware routing and discovery against nodes that report a ring', () => {
  const nodes: FakeNode[] = [];
  const clients: DynamoClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    for (const n of nodes.splice(0)) n.stop();
  });
  const start = async (count: number): Promise<FakeNode[]> => {
    for (let i = 0; i < count; i++) nodes.push(await FakeNode.start());
    return nodes;
  };

  for (const contactPoints of ['every member', 'one contact point'] as const) {
    it(`sends every key to the node that replicates it, given ${contactPoints}`, async () => {
      await start(3);
      const nodeIds = ['a', 'b', 'c'];
      const status = oneCopyRing(nodes, nodeIds);
      for (const n of nodes) n.onStatus = () => status;
      const endpoints = contactPoints === 'every member' ? nodes.map((n) => n.address) : [nodes[1]!.address];
      const client = new DynamoClient({ endpoints });
      clients.push(client);
      await until('the ring is known', () => client.routingRing === status.ringChecksum);
      expect([...client.endpoints].sort()).to.deep.equal(nodes.map((n) => n.address).sort());
      const keys = Array.from({ length: 60 }, (_, i) => `key-${i}`);
      for (const k of keys) await client.put(k, 'v');
      for (let i = 0; i < nodes.length; i++) {
        const expected = keys.filter((k) => status.partitionOwners[partitionOf(key(k), 32)] === nodeIds[i]).sort();
        expect(putKeys(nodes[i]!), `keys received by ${nodeIds[i]}`).to.deep.equal(expected);
      }
    });
  }

  it('follows membership: a member that joins gets keys, one that leaves is dropped', async () => {
    await start(3);
    let status = oneCopyRing(nodes.slice(0, 2), ['a', 'b']);
    for (const n of nodes) n.onStatus = () => status;
    const client = new DynamoClient({ endpoints: [nodes[0]!.address], ringRefreshMs: 50 });
    clients.push(client);
    await until('two members known', () => client.endpoints.length === 2);
    status = oneCopyRing(nodes, ['a', 'b', 'c']);
    await until('the third member is known', () => client.endpoints.includes(nodes[2]!.address));
    await until('the new ring is used', () => client.routingRing === status.ringChecksum);
    const keys = Array.from({ length: 40 }, (_, i) => `key-${i}`);
    for (const k of keys) await client.put(k, 'v');
    expect(putKeys(nodes[2]!)).to.deep.equal(keys.filter((k) => status.partitionOwners[partitionOf(key(k), 32)] === 'c').sort());
    // b leaves: the contact point stays, c stays, b's endpoint goes.
    const [a, , c] = nodes as [FakeNode, FakeNode, FakeNode];
    status = oneCopyRing([a, c], ['a', 'c']);
    await until('b is dropped', () => !client.endpoints.includes(nodes[1]!.address));
    expect([...client.endpoints].sort()).to.deep.equal([a.address, c.address].sort());
  });
});
