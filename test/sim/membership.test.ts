import { expect } from 'chai';
import { onCluster } from './helpers.ts';

describe('sim/membership bootstrap', () => {
  it(
    'nodes that know only seed addresses learn each other by gossip and hold the same ring',
    onCluster({ nodes: 5, replicas: 3, partitionCount: 64, anonymousSeeds: true }, async (c) => {
      const statuses = await c.run(Promise.all(c.ids.map((id) => c.node(id).admin.status())));
      const checksums = new Set(statuses.map((s) => s.ringChecksum));
      expect(checksums.size).to.equal(1);
      expect([...checksums][0]).to.not.equal(0);
      for (const s of statuses) {
        expect(s.ready, s.nodeId).to.equal(true);
        expect(s.members.map((m) => m.id)).to.deep.equal(c.ids);
        expect(s.members.filter((m) => m.self).map((m) => m.id)).to.deep.equal([s.nodeId]);
        expect(s.members.every((m) => m.reachable)).to.equal(true);
        expect(s.members.reduce((sum, m) => sum + m.partitionsOwned, 0)).to.equal(64);
      }
      expect(c.transcript.filter((l) => l.includes('"msg":"ring changed"') && l.includes('"version":1')).length).to.equal(5);
      await c.put('n5', 'k', 'v');
      expect((await c.get('n1', 'k')).values.length).to.equal(1);
    }),
  );

  it(
    'a crashed node is marked down within the detection bound; restarted, it is up again and serves',
    onCluster({ nodes: 3, anonymousSeeds: true }, async (c) => {
      await c.crash('n2');
      await c.runFor(20_000); // documented bound: dead everywhere within 20 s (lib/membership)
      const down = await c.run(c.node('n1').admin.status());
      expect(down.members.find((m) => m.id === 'n2')).to.include({ reachable: false, state: 'down' });
      await c.restart('n2');
      expect(c.node('n2').ready).to.equal(true);
      const s = await c.run(c.node('n2').admin.status());
      expect(s.members.map((m) => m.id)).to.deep.equal(['n1', 'n2', 'n3']);
      await c.put('n2', 'k', 'v', { consistency: 'ALL' });
    }),
  );
});
