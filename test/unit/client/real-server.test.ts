import { unusedAdmin } from '../transport/admin-fixture.ts';
import { expect } from 'chai';
import { DynamoClient, UnavailableError, LimitExceededError, text } from '../../../lib/client/index.ts';
import type { DeleteCommand, GetCommand, KvHandler, NodeStatus, PutCommand } from '../../../lib/protocol/index.ts';
import { RealTime, silentLogger } from '../../../lib/runtime/index.ts';
import { startGrpcServer } from '../../../lib/transport/index.ts';
import type { GrpcServer } from '../../../lib/transport/index.ts';
import { PROTOCOLS } from './support.ts';

/** Records the commands the node's real gRPC edge hands to the KV handler. */
class RecordingKv implements KvHandler {
  readonly commands: (GetCommand | PutCommand | DeleteCommand)[] = [];
  readonly values = new Map<string, Uint8Array[]>();
  fail: Error | undefined;
  async get(cmd: GetCommand) {
    this.commands.push(cmd);
    if (this.fail) throw this.fail;
    return { values: this.values.get(text(cmd.key)) ?? [], context: new Uint8Array([1, text(cmd.key).length]) };
  }
  async put(cmd: PutCommand) {
    this.commands.push(cmd);
    if (this.fail) throw this.fail;
    this.values.set(text(cmd.key), [...(this.values.get(text(cmd.key)) ?? []), cmd.value]);
    return { context: new Uint8Array([2, cmd.value.length]) };
  }
  async delete(cmd: DeleteCommand) {
    this.commands.push(cmd);
    this.values.delete(text(cmd.key));
    return { context: new Uint8Array(0) };
  }
}

const STATUS: NodeStatus = {
  nodeId: 'n1',
  members: [{ id: 'n1', address: '127.0.0.1:1', reachable: true, partitionsOwned: 256, self: true }],
  partitionCount: 256,
  replicas: 3,
  engine: 'memory',
  ready: true,
  readRepairs: 1,
  gets: 2 ** 33,
  puts: 3,
  deletes: 4,
  ringChecksum: 123456789,
  partitionOwners: [],
};

for (const protocol of PROTOCOLS) {
  describe(`client: against the node's real gRPC server (lib/transport, ${protocol})`, () => {
    let server: GrpcServer;
    let kv: RecordingKv;
    let client: DynamoClient;

    beforeEach(async () => {
      kv = new RecordingKv();
      server = await startGrpcServer({
        listen: '127.0.0.1:0',
        kv,
        admin: { ...unusedAdmin, status: async () => STATUS },
        peer: async () => {
          throw new Error('no peers in this test');
        },
        logger: silentLogger,
        time: new RealTime(),
        requestTimeoutMsDefault: 10_000,
      });
      client = new DynamoClient({ endpoints: [server.address], timeoutMs: 4000, protocol });
    });
    afterEach(async () => {
      client.close();
      await server.shutdown(100);
    });

    it('delivers keys, values, contexts, consistency and the deadline to the handler', async () => {
      const put = await client.put('k', 'hello', { consistency: 'ALL', context: new Uint8Array([5, 6]) });
      expect([...put.context]).to.deep.equal([2, 5]);
      const got = await client.get('k');
      expect(got.values.map(text)).to.deep.equal(['hello']);
      expect([...got.context]).to.deep.equal([1, 1]);
      await client.delete('k', { context: got.context, consistency: 'ONE' });

      const [p, g, d] = kv.commands as [PutCommand, GetCommand, DeleteCommand];
      expect(text(p.key)).to.equal('k');
      expect(text(p.value)).to.equal('hello');
      expect([...p.context]).to.deep.equal([5, 6]);
      expect(p.consistency).to.equal('ALL');
      expect(p.timeoutMs).to.be.within(3000, 4000);
      expect(g.consistency).to.equal(undefined); // node default
      expect(d.consistency).to.equal('ONE');
      expect([...d.context]).to.deep.equal([1, 1]);
    });

    it('rebuilds the errors the handler rejected with', async () => {
      kv.fail = new UnavailableError('1 of 3', { answered: 1, required: 3 });
      const e = await client.get('k', { consistency: 'ALL' }).then(
        () => undefined,
        (x: unknown) => x,
      );
      expect(e).to.be.instanceOf(UnavailableError);
      expect([(e as UnavailableError).answered, (e as UnavailableError).required]).to.deep.equal([1, 3]);
      kv.fail = new LimitExceededError('101 siblings');
      expect(await client.put('k', 'v').catch((x: unknown) => x)).to.be.instanceOf(LimitExceededError);
    });

    it('reads Admin.Status as a NodeStatus of plain numbers', async () => {
      expect(await client.status()).to.deep.equal(STATUS);
      expect(await client.status(server.address)).to.deep.equal(STATUS);
    });
  });
}
