import { expect } from 'chai';
import {
  ClosedError,
  DynamoClient,
  DynamoError,
  InvalidArgumentError,
  LimitExceededError,
  TimeoutError,
  UnavailableError,
  text,
  texts,
} from '../../../lib/client/index.ts';
import { FakeNode } from './fake-node.ts';
import type { DeleteReq, GetReq, PutReq } from './fake-node.ts';
import { PROTOCOLS, QUIET, rejection } from './support.ts';

for (const protocol of PROTOCOLS) {
  describe(`client: DynamoClient against a fake node (${protocol})`, () => {
    let node: FakeNode;
    let client: DynamoClient;

    beforeEach(async () => {
      node = await FakeNode.start();
      client = new DynamoClient({ endpoints: [node.address], protocol, ...QUIET });
    });
    afterEach(() => {
      client.close();
      node.stop();
    });

    it('round-trips string keys and values', async () => {
      const miss = await client.get('greeting');
      expect(miss.found).to.equal(false);
      expect(miss.values).to.deep.equal([]);
      // Absent on the wire, still real (empty) bytes here.
      expect(miss.context).to.be.instanceOf(Uint8Array);
      expect(miss.context.length).to.equal(0);
      const bare = await client.put('no-context', 'v');
      expect(bare.context).to.be.instanceOf(Uint8Array);
      expect(bare.context.length).to.equal(0);

      const put = await client.put('greeting', 'héllo wörld');
      expect(text(put.context)).to.equal('v1');
      const got = await client.get('greeting');
      expect(got.found).to.equal(true);
      expect(texts(got.values)).to.deep.equal(['héllo wörld']);
      expect(got.values[0]).to.be.instanceOf(Uint8Array);
      expect(text(got.context)).to.equal('v1');
      // The key went over the wire as UTF-8.
      expect((node.received[0]!.request as GetReq).key.toString('utf8')).to.equal('greeting');
      expect((node.received[2]!.request as PutReq).value.toString('utf8')).to.equal('héllo wörld');
      // Every request travelled the way the client was told to send it.
      expect(node.received.map((r) => r.via)).to.deep.equal([protocol, protocol, protocol, protocol]);
    });

    it('round-trips arbitrary (non-UTF-8) byte keys and values exactly', async () => {
      const key = new Uint8Array([0xff, 0x00, 0x80, 0x7f]);
      const value = new Uint8Array([0, 1, 2, 0xfe, 0xff, 0xc3]);
      await client.put(key, value);
      const got = await client.get(key);
      expect([...got.values[0]!]).to.deep.equal([...value]);
      expect([...(node.received[0]!.request as PutReq).key]).to.deep.equal([...key]);
      // An empty value is legal and distinct from "not found".
      await client.put('empty', new Uint8Array(0));
      const empty = await client.get('empty');
      expect(empty.found).to.equal(true);
      expect(empty.values.map((v) => v.length)).to.deep.equal([0]);
    });

    it('sends the consistency enum: per call, client default, or unspecified (node default)', async () => {
      await client.get('k');
      await client.get('k', { consistency: 'ONE' });
      await client.put('k', 'v', { consistency: 'ALL' });
      await client.delete('k', { consistency: 'TWO' });
      const withDefault = new DynamoClient({ endpoints: [node.address], consistency: 'QUORUM', protocol, ...QUIET });
      try {
        await withDefault.get('k');
        await withDefault.put('k', 'v', { consistency: 'THREE' });
      } finally {
        withDefault.close();
      }
      const sent = node.received.map((r) => (r.request as { consistency: string }).consistency);
      expect(sent).to.deep.equal([
        'CONSISTENCY_UNSPECIFIED',
        'CONSISTENCY_ONE',
        'CONSISTENCY_ALL',
        'CONSISTENCY_TWO',
        'CONSISTENCY_QUORUM',
        'CONSISTENCY_THREE',
      ]);
    });

    it('passes contexts through put and delete unchanged', async () => {
      const ctx = new Uint8Array([1, 2, 3, 250]);
      node.onPut = () => ({ context: Buffer.from([9, 8, 7]) });
      const put = await client.put('k', 'v', { context: ctx });
      expect([...put.context]).to.deep.equal([9, 8, 7]);
      await client.delete('k', { context: put.context });
      await client.put('k', 'v2'); // no context: sent as empty
      expect([...(node.received[0]!.request as PutReq).context]).to.deep.equal([1, 2, 3, 250]);
      expect([...(node.received[1]!.request as DeleteReq).context]).to.deep.equal([9, 8, 7]);
      expect((node.received[2]!.request as PutReq).context.length).to.equal(0);
    });

    it('gives the server a deadline derived from timeoutMs', async () => {
      const before = Date.now();
      await client.get('k', { timeoutMs: 3000 });
      const deadline = Number(node.received[0]!.deadline);
      expect(deadline).to.be.greaterThan(before + 2000);
      expect(deadline).to.be.at.most(Date.now() + 3000);
    });

    it('rebuilds UnavailableError with answered/required from the status and metadata', async () => {
      node.onGet = () => new UnavailableError('only 1 of 2 replicas answered', { answered: 1, required: 2 });
      const e = await rejection(client.get('k', { consistency: 'QUORUM' }));
      expect(e).to.be.instanceOf(UnavailableError);
      expect(e).to.be.instanceOf(DynamoError);
      const u = e as UnavailableError;
      expect(u.code).to.equal('DYNAMO_UNAVAILABLE');
      expect(u.answered).to.equal(1);
      expect(u.required).to.equal(2);
    });

    it('rebuilds InvalidArgumentError, LimitExceededError and server-side TimeoutError', async () => {
      node.onPut = () => new InvalidArgumentError('consistency ANY is not supported');
      const inv = await rejection(client.put('k', 'v', { consistency: 'ANY' }));
      expect(inv).to.be.instanceOf(InvalidArgumentError);
      expect((inv as DynamoError).code).to.equal('DYNAMO_INVALID_ARGUMENT');
      expect((inv as Error).message).to.contain('ANY');

      node.onPut = () => new LimitExceededError('too many siblings');
      const lim = await rejection(client.put('k', 'v'));
      expect(lim).to.be.instanceOf(LimitExceededError);
      expect((lim as DynamoError).code).to.equal('DYNAMO_LIMIT_EXCEEDED');

      node.onGet = () => new TimeoutError('2 of 3 answered in time', { answered: 2, required: 3 });
      const to = await rejection(client.get('k', { consistency: 'ALL' }));
      expect(to).to.be.instanceOf(TimeoutError);
      expect((to as TimeoutError).answered).to.equal(2);
      expect((to as TimeoutError).required).to.equal(3);
    });

    it('rejects obvious argument errors before sending anything', async () => {
      const cases: Promise<unknown>[] = [
        client.get(''),
        client.get(new Uint8Array(0)),
        client.get('x'.repeat(1025)),
        client.get('k', { consistency: 'MOST' as never }),
        client.put('k', 42 as never),
        client.put('k', 'v', { context: 'not-bytes' as never }),
        client.get('k', { timeoutMs: -1 }),
        client.readModifyWrite('k', 'nope' as never),
        client.status('nohostport'),
      ];
      for (const p of cases) expect(await rejection(p)).to.be.instanceOf(InvalidArgumentError);
      expect(node.received.length).to.equal(0);
      expect(() => new DynamoClient({ endpoints: [] })).to.throw(InvalidArgumentError);
      expect(() => new DynamoClient({ endpoints: ['nohostport'] })).to.throw(InvalidArgumentError);
      expect(() => new DynamoClient({ endpoints: [node.address], consistency: 'SOME' as never })).to.throw(InvalidArgumentError);
    });

    it('turns its own deadline into TimeoutError', async () => {
      node.onGet = () => new Promise(() => {}); // never answers
      const start = Date.now();
      const e = await rejection(client.get('k', { timeoutMs: 150 }));
      expect(e).to.be.instanceOf(TimeoutError);
      expect((e as DynamoError).code).to.equal('DYNAMO_TIMEOUT');
      expect(Date.now() - start).to.be.lessThan(2000);
      // Client-wide default applies when the call passes none.
      const quick = new DynamoClient({ endpoints: [node.address], timeoutMs: 100, protocol, ...QUIET });
      try {
        expect(await rejection(quick.get('k'))).to.be.instanceOf(TimeoutError);
      } finally {
        quick.close();
      }
    });

    it('readModifyWrite resolves two siblings into one put carrying the get context', async () => {
      node.onGet = () => ({ values: [Buffer.from('apple'), Buffer.from('pear')], context: Buffer.from([7, 7, 7]) });
      let seen: string[] = [];
      const res = await client.readModifyWrite(
        'cart',
        (siblings) => {
          seen = texts(siblings);
          return [...new Set(seen.flatMap((s) => s.split(',')))].sort().join(',');
        },
        { consistency: 'QUORUM' },
      );
      expect(seen).to.deep.equal(['apple', 'pear']);
      expect(text(res.context)).to.equal('v1');
      expect(node.count('Get')).to.equal(1);
      expect(node.count('Put')).to.equal(1);
      const put = node.received[1]!.request as PutReq;
      expect(put.value.toString()).to.equal('apple,pear');
      expect([...put.context]).to.deep.equal([7, 7, 7]);
      expect(put.consistency).to.equal('CONSISTENCY_QUORUM');
    });

    it('readModifyWrite passes no siblings for a missing key and puts without context', async () => {
      let calls = 0;
      await client.readModifyWrite('fresh', async (siblings) => {
        calls++;
        expect(siblings).to.deep.equal([]);
        return new Uint8Array([42]);
      });
      expect(calls).to.equal(1);
      const put = node.received[1]!.request as PutReq;
      expect([...put.value]).to.deep.equal([42]);
      expect(put.context.length).to.equal(0);
    });

    it('readModifyWrite does not put when the get fails or update throws', async () => {
      node.onGet = () => new UnavailableError('no quorum', { answered: 0, required: 2 });
      expect(await rejection(client.readModifyWrite('k', () => 'x'))).to.be.instanceOf(UnavailableError);
      node.onGet = () => ({ values: [], context: Buffer.alloc(0) });
      const boom = new Error('user bug');
      expect(await rejection(client.readModifyWrite('k', () => { throw boom; }))).to.equal(boom);
      expect(node.count('Put')).to.equal(0);
    });

    it('status returns NodeStatus with plain numbers (uint64 included)', async () => {
      const status = {
        nodeId: 'n1',
        members: [
          { id: 'n1', address: node.address, reachable: true, partitionsOwned: 86, self: true },
          { id: 'n2', address: '127.0.0.1:1', reachable: false, partitionsOwned: 85, self: false },
        ],
        partitionCount: 256,
        replicas: 3,
        engine: 'memory',
        ready: true,
        readRepairs: 4,
        gets: 2 ** 40 + 5,
        puts: 7,
        deletes: 0,
        ringChecksum: 0xdeadbeef,
        partitionOwners: ['n1', 'n2', 'n1'],
      };
      node.onStatus = () => status;
      const viaAny = await client.status();
      const viaAddress = await client.status(node.address);
      for (const s of [viaAny, viaAddress]) {
        expect(s).to.deep.equal(status);
        expect(typeof s.gets).to.equal('number');
      }
      expect(node.count('Status')).to.equal(2);
    });

    it('status can ask an endpoint that is not configured', async () => {
      const other = await FakeNode.start();
      try {
        other.onStatus = () => ({ nodeId: 'other', ready: false });
        const s = await client.status(other.address);
        expect(s.nodeId).to.equal('other');
        expect(s.members).to.deep.equal([]);
        expect(s.ready).to.equal(false);
        expect(node.count('Status')).to.equal(0);
      } finally {
        other.stop();
      }
    });

    it('rejects every call with ClosedError after close()', async () => {
      await client.put('k', 'v');
      client.close();
      client.close(); // idempotent
      for (const p of [client.get('k'), client.put('k', 'v'), client.delete('k'), client.readModifyWrite('k', () => 'x'), client.status()]) {
        const e = await rejection(p);
        expect(e).to.be.instanceOf(ClosedError);
        expect((e as DynamoError).code).to.equal('DYNAMO_CLOSED');
      }
      expect(node.received.length).to.equal(1);
    });

    it('rejects a call cut off by close() with ClosedError', async () => {
      node.onGet = () => new Promise(() => {});
      const pending = client.get('k', { timeoutMs: 2000 });
      while (node.count('Get') === 0) await new Promise((r) => setTimeout(r, 5));
      client.close();
      node.stop(); // drop the stream so the pending call settles
      expect(await rejection(pending)).to.be.instanceOf(ClosedError);
    });
  });
}
