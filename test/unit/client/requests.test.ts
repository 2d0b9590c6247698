/** Per-request cancellation and deadlines, and a close() that lets requests in flight finish. */
import { expect } from 'chai';
import { ClosedError, DynamoClient, TimeoutError, text } from '../../../lib/client/index.ts';
import { FakeNode } from './fake-node.ts';
import { PROTOCOLS, QUIET, rejection } from './support.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

for (const protocol of PROTOCOLS) {
  describe(`client: AbortSignal, deadlines and close (${protocol})`, () => {
    let node: FakeNode;
    let client: DynamoClient;

    beforeEach(async () => {
      node = await FakeNode.start();
      client = new DynamoClient({ endpoints: [node.address], protocol, ...QUIET });
    });
    afterEach(async () => {
      await client.close();
      node.stop();
    });

    it('rejects with the signal’s reason, sending nothing, when it is already aborted', async () => {
      const reason = new Error('user navigated away');
      const e = await rejection(client.get('k', { signal: AbortSignal.abort(reason) }));
      expect(e).to.equal(reason);
      const plain = await rejection(client.put('k', 'v', { signal: AbortSignal.abort() }));
      expect((plain as Error).name).to.equal('AbortError');
      expect(node.received).to.have.length(0);
    });

    it('rejects a request in flight as soon as the signal aborts', async () => {
      node.onGet = () => new Promise(() => {}); // never answers
      const controller = new AbortController();
      const started = Date.now();
      const pending = client.get('k', { signal: controller.signal, timeoutMs: 10_000 });
      while (node.count('Get') === 0) await sleep(5);
      controller.abort(new Error('enough'));
      expect(((await rejection(pending)) as Error).message).to.equal('enough');
      expect(Date.now() - started).to.be.lessThan(2_000);
      // The client keeps working.
      node.onGet = () => ({ values: [Buffer.from('v')], context: Buffer.from('c') });
      expect(text((await client.get('k')).values[0]!)).to.equal('v');
    });

    it('takes an absolute deadline; the earlier of deadline and timeoutMs wins', async () => {
      const past = await rejection(client.get('k', { deadline: Date.now() - 1 }));
      expect(past).to.be.instanceOf(TimeoutError);
      expect(node.received).to.have.length(0);
      node.onGet = () => new Promise(() => {});
      const started = Date.now();
      expect(await rejection(client.get('k', { deadline: new Date(Date.now() + 150) }))).to.be.instanceOf(TimeoutError);
      expect(await rejection(client.get('k', { deadline: Date.now() + 60_000, timeoutMs: 150 }))).to.be.instanceOf(TimeoutError);
      expect(Date.now() - started).to.be.lessThan(3_000);
      // The server was told the same deadline.
      const before = Date.now();
      node.onGet = () => ({});
      await client.get('k', { deadline: before + 3_000 });
      const deadline = Number(node.received.at(-1)!.deadline);
      expect(deadline).to.be.within(before + 2_000, before + 3_100);
      expect(await rejection(client.get('k', { deadline: Number.NaN }))).to.have.property('code', 'DYNAMO_INVALID_ARGUMENT');
    });

    it('a write that timed out after it was sent may have been applied; a read says nothing was', async () => {
      // Connect first: a put still waiting for its connection at the deadline was never sent (not applied).
      node.onGet = () => ({});
      await client.get('warm-up');
      node.onPut = () => new Promise(() => {});
      node.onGet = () => new Promise(() => {});
      const put = await rejection(client.put('k', 'v', { timeoutMs: 150 }));
      expect(put).to.be.instanceOf(TimeoutError);
      expect((put as TimeoutError).maybeApplied).to.equal(true);
      const get = await rejection(client.get('k', { timeoutMs: 150 }));
      expect(get).to.be.instanceOf(TimeoutError);
      expect((get as TimeoutError).maybeApplied).to.equal(false);
    });

    it('close() resolves once the requests in flight have finished, then refuses new ones', async () => {
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      node.onPut = async () => {
        await held;
        return { context: Buffer.from('done') };
      };
      const inflight = client.put('k', 'v');
      while (node.count('Put') === 0) await sleep(5);
      const order: string[] = [];
      void inflight.then(() => order.push('put'));
      const closing = client.close().then(() => order.push('closed'));
      expect(await rejection(client.get('k'))).to.be.instanceOf(ClosedError);
      await sleep(50);
      expect(order).to.deep.equal([]);
      release();
      await closing;
      expect(order).to.deep.equal(['put', 'closed']);
      expect(text((await inflight).context)).to.equal('done');
      expect(client.close()).to.be.instanceOf(Promise);
    });
  });
}
