/**
 * The SDK's operator calls — status (with the membership fields), ring,
 * join, decommission, remove — against the node's real gRPC server with fake
 * AdminHandlers, and status against a node that predates membership or
 * speaks the proto through another library (proto-loader: enums by name).
 */
import { expect } from 'chai';
import { DynamoClient, InvalidArgumentError, UnavailableError } from '../../../lib/client/index.ts';
import type { AdminHandler, NodeStatus } from '../../../lib/protocol/index.ts';
import { adminWith, MEMBERSHIP_STATUS, REPAIR_RUNNING, Resources, RING, STATUS } from '../transport/harness.ts';
import { closedPort, FakeNode } from './fake-node.ts';
import { QUIET, rejection } from './support.ts';

describe('client: operator calls (status, ring, join, decommission, remove)', function () {
  this.timeout(15_000);
  const res = new Resources();
  const clients: DynamoClient[] = [];
  const fakes: FakeNode[] = [];

  /** A client of a real server answering with `admin`; closed after each test. */
  async function clientOf(admin: AdminHandler): Promise<{ client: DynamoClient; address: string }> {
    const server = await res.server({ admin });
    const client = new DynamoClient({ endpoints: [server.address], timeoutMs: 4000, ...QUIET });
    clients.push(client);
    return { client, address: server.address };
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    for (const f of fakes.splice(0)) f.stop();
    await res.closeAll();
  });

  it('status maps member state, ownership, held partitions, generation, zone, load, ring version and transfers', async () => {
    const { client, address } = await clientOf(adminWith({ status: async () => MEMBERSHIP_STATUS }));
    expect(await client.status()).to.deep.equal(MEMBERSHIP_STATUS);
    const s = await client.status(address);
    expect(s.members.map((m) => m.state)).to.deep.equal(['up', 'down', 'joining', 'leaving']);
    expect(s.members[2]).to.include({ ownershipPct: 0, partitionsHeld: 0 });
    expect(s.members[0]!.generation).to.equal(2 ** 40 + 1);
    expect(s.transfers!.map((t) => `${t.partition} ${t.direction} ${t.peer} ${t.state}`)).to.deep.equal(['3 in n4 streaming', '9 out n3 done', '12 out n3 waiting']);
  });

  it('repair asks the named node for one partition or every one, and returns the repair it started', async () => {
    const asked: (number | undefined)[] = [];
    const { client, address } = await clientOf(
      adminWith({
        repair: async (partition) => {
          asked.push(partition);
          return REPAIR_RUNNING;
        },
      }),
    );
    expect(await client.repair(address)).to.deep.equal(REPAIR_RUNNING);
    expect(await client.repair(address, { partition: 0 })).to.deep.equal(REPAIR_RUNNING);
    expect(asked).to.deep.equal([undefined, 0]);
    expect(await rejection(client.repair(address, { partition: -1 }))).to.be.instanceOf(InvalidArgumentError);
    expect((await client.status(address)).antiEntropy, 'a status without anti-entropy').to.equal(undefined);
  });

  it('status of a node that predates membership leaves the new fields undefined', async () => {
    const { client } = await clientOf(adminWith({ status: async () => STATUS }));
    const s = await client.status();
    expect(s).to.deep.equal(STATUS);
    for (const m of s.members) for (const field of ['state', 'ownershipPct', 'partitionsHeld', 'generation', 'zone', 'loadKeys', 'loadBytes']) expect(m).to.not.have.property(field);
    expect(s).to.not.have.property('ringVersion');
    expect(s).to.not.have.property('transfers');
  });

  it('status with a ring version and no transfers reports an empty list, not an unknown one', async () => {
    const quiet: NodeStatus = { ...STATUS, ringVersion: 0, transfers: [] };
    const { client } = await clientOf(adminWith({ status: async () => quiet }));
    const s = await client.status();
    expect([s.ringVersion, s.transfers]).to.deep.equal([0, []]);
  });

  it('status reads enums a node sends by name (proto-loader), and drops values it cannot name', async () => {
    const node = await FakeNode.start();
    fakes.push(node);
    node.onStatus = () => ({
      nodeId: 'x1',
      ready: true,
      members: [
        { id: 'x1', address: node.address, reachable: true, self: true, state: 'MEMBER_STATE_LEAVING', ownershipPct: 12.5, zone: 'z' },
        { id: 'x2', address: '127.0.0.1:1', reachable: true, state: 99 },
      ],
      ringVersion: 4,
      transfers: [
        { partition: 1, direction: 'TRANSFER_DIRECTION_OUT', peer: 'x2', state: 'TRANSFER_STATE_STREAMING', keys: 3, bytes: 30 },
        { partition: 2, direction: 7, peer: 'x2', state: 'TRANSFER_STATE_DONE' },
      ],
    });
    const client = new DynamoClient({ endpoints: [node.address], ...QUIET });
    clients.push(client);
    const s = await client.status();
    expect(s.members[0]).to.include({ state: 'leaving', ownershipPct: 12.5, zone: 'z' });
    expect(s.members[1]).to.not.have.property('state');
    expect(s.ringVersion).to.equal(4);
    expect(s.transfers).to.deep.equal([{ partition: 1, direction: 'out', peer: 'x2', state: 'streaming', keys: 3, bytes: 30 }]);
  });

  it('ring returns owners, replica sets and moving partitions, from any endpoint or the one named', async () => {
    const { client, address } = await clientOf(adminWith());
    expect(await client.ring()).to.deep.equal(RING);
    expect(await client.ring(address)).to.deep.equal(RING);
  });

  it('join and decommission ask the node at the endpoint they are given, and need one', async () => {
    const calls: string[] = [];
    const { client, address } = await clientOf(adminWith({ join: async () => void calls.push('join'), decommission: async () => void calls.push('decommission') }));
    await client.join(address);
    await client.decommission(address);
    expect(calls).to.deep.equal(['join', 'decommission']);
    for (const p of [client.join(undefined as unknown as string), client.decommission('not an endpoint')]) {
      expect(await rejection(p)).to.be.instanceOf(InvalidArgumentError);
    }
    expect(calls).to.have.length(2);
  });

  it('remove sends the node id and rebuilds the node’s refusal', async () => {
    const removed: string[] = [];
    const admin = adminWith({
      remove: async (id) => {
        if (id !== 'n3') throw new InvalidArgumentError(`${id} is not a member`);
        removed.push(id);
      },
    });
    const { client, address } = await clientOf(admin);
    await client.remove('n3');
    await client.remove('n3', address);
    expect(removed).to.deep.equal(['n3', 'n3']);
    const refused = await rejection(client.remove('n9'));
    expect(refused).to.be.instanceOf(InvalidArgumentError);
    expect((refused as InvalidArgumentError).message).to.equal('n9 is not a member');
    expect(await rejection(client.remove(''))).to.be.instanceOf(InvalidArgumentError);
    expect(removed).to.have.length(2);
  });

  it('remove without an endpoint moves past one it could not reach, and retries a refusal only when provably not applied', async () => {
    let calls = 0;
    const refuse = (maybeApplied: boolean) => async (): Promise<never> => {
      calls++;
      throw new UnavailableError(maybeApplied ? 'the claimant stopped answering' : 'no ring yet', { answered: 0, required: 0 }, { maybeApplied });
    };
    const admin = adminWith({ remove: refuse(true) });
    const [a, b] = [await res.server({ admin }), await res.server({ admin })];
    // Tried in order: the closed port (never reached), then a (refuses), then b only if the policy retries.
    const client = new DynamoClient({ endpoints: [await closedPort(), a.address, b.address], timeoutMs: 4000, ...QUIET });
    clients.push(client);
    const e = await rejection(client.remove('n3'));
    expect(e).to.be.instanceOf(UnavailableError);
    expect((e as UnavailableError).message).to.equal('the claimant stopped answering');
    expect((e as UnavailableError).maybeApplied).to.equal(true);
    expect(calls).to.equal(1);
    admin.remove = refuse(false);
    calls = 0;
    expect(await rejection(client.remove('n3'))).to.be.instanceOf(UnavailableError);
    expect(calls).to.equal(2);
  });

  it('a command to an endpoint that is down fails as unavailable', async () => {
    const client = new DynamoClient({ endpoints: ['127.0.0.1:1'], timeoutMs: 3000, ...QUIET });
    clients.push(client);
    const down = await closedPort();
    for (const p of [client.join(down), client.decommission(down), client.ring(down)]) expect(await rejection(p)).to.be.instanceOf(UnavailableError);
  });
});
