import { expect } from 'chai';
import type { NodeStatus } from '../../../lib/protocol/index.ts';
import { claim, partitionOf, preferenceList } from '../../../lib/ring/index.ts';
import { TokenRouter } from '../../../lib/client/token-router.ts';

const ids = ['n1', 'n2', 'n3', 'n4'];
const address = (id: string): string => `127.0.0.1:${7000 + Number(id.slice(1))}`;

function statusOf(replicas = 3, partitionCount = 16): NodeStatus {
  const ring = claim(ids, partitionCount, { replicas });
  return {
    nodeId: 'n1',
    members: ids.map((id) => ({ id, address: address(id), reachable: true, partitionsOwned: 0, self: id === 'n1' })),
    partitionCount,
    replicas,
    engine: 'memory',
    ready: true,
    readRepairs: 0,
    gets: 0,
    puts: 0,
    deletes: 0,
    ringChecksum: ring.checksum,
    partitionOwners: ring.owners,
  };
}

const key = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('client/token-router', () => {
  it('routes every key to the endpoints of its replicas, in preference order', () => {
    const endpoints = ids.map(address);
    const router = new TokenRouter(endpoints);
    const status = statusOf();
    expect(router.update(status)).to.equal(true);
    const ring = claim(ids, 16, { replicas: 3 });
    for (let i = 0; i < 50; i++) {
      const k = key(`k${i}`);
      const expected = preferenceList(ring, partitionOf(k, 16), 3).map((id) => endpoints.indexOf(address(id)));
      const got = router.replicasOf(k);
      expect([...got].sort()).to.deep.equal([...expected].sort());
      // a rotation of the preference list
      const at = expected.indexOf(got[0]!);
      expect(got).to.deep.equal([...expected.slice(at), ...expected.slice(0, at)]);
    }
  });

  it('rotates among a key’s replicas so load spreads', () => {
    const router = new TokenRouter(ids.map(address));
    router.update(statusOf());
    const firsts = new Set(Array.from({ length: 6 }, () => router.replicasOf(key('hot'))[0]));
    expect(firsts.size).to.equal(3);
  });

  it('only returns replicas the client has endpoints for', () => {
    const endpoints = [address('n1'), address('n2')];
    const router = new TokenRouter(endpoints);
    router.update(statusOf());
    for (let i = 0; i < 30; i++) {
      for (const index of router.replicasOf(key(`k${i}`))) expect(index).to.be.oneOf([0, 1]);
    }
  });

  it('turns routing off for a joining node or a ring that does not match its checksum', () => {
    const router = new TokenRouter(ids.map(address));
    expect(router.update({ ...statusOf(), ready: false, partitionOwners: [] })).to.equal(false);
    expect(router.replicasOf(key('k'))).to.deep.equal([]);
    const status = statusOf();
    const tampered = [...status.partitionOwners];
    [tampered[0], tampered[1]] = [tampered[1]!, tampered[0]!];
    expect(router.update({ ...status, partitionOwners: tampered })).to.equal(false);
    expect(router.checksum).to.equal(0);
    expect(router.update(status)).to.equal(true);
    expect(router.checksum).to.equal(status.ringChecksum);
  });
});

describe('client: token-aware routing against nodes that report a ring', () => {
  it('sends every key to the node that replicates it once the ring is known', async () => {
    const { FakeNode } = await import('./fake-node.ts');
    const { DynamoClient } = await import('../../../lib/client/index.ts');
    const nodes = [await FakeNode.start(), await FakeNode.start(), await FakeNode.start()];
    const nodeIds = ['a', 'b', 'c'];
    const ring = claim(nodeIds, 32, { replicas: 1 });
    const status = {
      nodeId: 'a',
      members: nodeIds.map((id, i) => ({ id, address: nodes[i]!.address, reachable: true, partitionsOwned: 0, self: i === 0 })),
      partitionCount: 32,
      replicas: 1,
      engine: 'memory',
      ready: true,
      ringChecksum: ring.checksum,
      partitionOwners: [...ring.owners],
    };
    for (const n of nodes) n.onStatus = () => status as never;
    const client = new DynamoClient({ endpoints: nodes.map((n) => n.address) });
    try {
      for (let i = 0; i < 50 && client.routingRing === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(client.routingRing).to.equal(ring.checksum);
      const keys = Array.from({ length: 60 }, (_, i) => `key-${i}`);
      for (const k of keys) await client.put(k, 'v');
      for (let i = 0; i < nodes.length; i++) {
        const expected = keys.filter((k) => ring.owners[partitionOf(key(k), 32)] === nodeIds[i]).sort();
        const got = nodes[i]!.received.filter((r) => r.method === 'Put').map((r) => (r.request as { key: Buffer }).key.toString()).sort();
        expect(got, `keys received by ${nodeIds[i]}`).to.deep.equal(expected);
      }
    } finally {
      client.close();
      for (const n of nodes) n.stop();
    }
  });
});
