import { expect } from 'chai';
import net from 'node:net';
import {
  DynamoError,
  InvalidArgumentError,
  LimitExceededError,
  TimeoutError,
  UnavailableError,
  type Result,
} from '../../../lib/runtime/index.ts';
import type { PeerHandler, PeerReply, PeerRequest } from '../../../lib/protocol/index.ts';
import { ALL_REQUESTS, plain } from './fixtures.ts';
import { echoPeer, echoReply, gate, pause, realTime, Resources } from './harness.ts';

function value<T>(r: Result<T, DynamoError>): T {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.name}: ${r.error.message}`);
  return r.value;
}
function failure(r: Result<unknown, DynamoError>): DynamoError {
  if (r.ok) throw new Error('expected an error result');
  return r.error;
}

/** A port nothing listens on (bound then released). */
async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe('transport GrpcTransport over a real server', function () {
  this.timeout(15_000);
  const res = new Resources();
  afterEach(() => res.closeAll());

  it('answers every peer request type', async () => {
    const server = await res.server();
    const t = res.transport();
    for (const req of ALL_REQUESTS) {
      const reply = value(await t.request(server.address, req, 2_000));
      expect(plain(reply), req.type).to.deep.equal(plain(echoReply(req)));
    }
    expect(t.reachable(server.address)).to.equal(true);
    expect(t.stats().streamsOpened).to.equal(1);
  });

  it("passes the sender's timeout to the handler", async () => {
    const seen: number[] = [];
    const server = await res.server({
      peer: async (req, timeoutMs) => {
        seen.push(timeoutMs);
        return echoReply(req);
      },
    });
    const t = res.transport();
    value(await t.request(server.address, { type: 'identify' }, 1_234));
    expect(seen).to.deep.equal([1_234]);
  });

  it("brings remote DynamoErrors back as the same subclass with message, counts and the remote's maybeApplied", async () => {
    const errors: Record<string, DynamoError> = {
      a: new UnavailableError('QUORUM write failed: 1 of 3 replicas answered, 2 needed', { answered: 1, required: 2 }),
      b: new TimeoutError('ALL read timed out: 2 of 3 replicas answered, 3 needed', { answered: 2, required: 3 }, { maybeApplied: true }),
      c: new InvalidArgumentError('context is malformed'),
      d: new LimitExceededError('101 siblings; the limit is 100'),
      e: new UnavailableError('QUORUM write failed: 1 of 3 replicas answered, 2 needed', { answered: 1, required: 2 }, { maybeApplied: true }),
    };
    const server = await res.server({
      peer: async (req) => {
        if (req.type === 'read') throw errors[String.fromCharCode(req.key[0]!)]!;
        return echoReply(req);
      },
    });
    const t = res.transport();
    for (const [k, e] of Object.entries(errors)) {
      const got = failure(await t.request(server.address, { type: 'read', key: Buffer.from(k) }, 2_000));
      expect(got.constructor).to.equal(e.constructor);
      expect(got.code).to.equal(e.code);
      expect(got.message).to.equal(e.message);
      expect(got.maybeApplied, k).to.equal(e.maybeApplied);
      if (e instanceof UnavailableError || e instanceof TimeoutError) {
        expect((got as UnavailableError).answered).to.equal(e.answered);
        expect((got as UnavailableError).required).to.equal(e.required);
      }
    }
  });

  it('turns a handler bug into DYNAMO_INTERNAL for that request only; the stream keeps serving', async () => {
    const server = await res.server({
      peer: ((req: PeerRequest) => {
        if (req.type === 'identify') throw new TypeError('sync boom');
        if (req.type === 'write') return Promise.reject(new RangeError('async boom'));
        if (req.type === 'coordinate') return Promise.resolve({ type: 'coordinate', context: 42 } as unknown as PeerReply);
        return echoPeer(req, 0);
      }) as PeerHandler,
    });
    const t = res.transport();
    const [a, b, c, d] = await Promise.all([
      t.request(server.address, { type: 'identify' }, 2_000),
      t.request(server.address, { type: 'write', key: Buffer.from('k'), record: Buffer.from('r') }, 2_000),
      t.request(server.address, { type: 'coordinate', key: Buffer.from('k'), value: undefined, context: Buffer.alloc(0), consistency: undefined }, 2_000),
      t.request(server.address, { type: 'read', key: Buffer.from('ok') }, 2_000),
    ]);
    expect(failure(a).code).to.equal('DYNAMO_INTERNAL');
    expect(failure(a).message).to.match(/sync boom/);
    expect(failure(b).message).to.match(/async boom/);
    expect(failure(c).code).to.equal('DYNAMO_INTERNAL');
    expect(plain(value(d))).to.deep.equal({ type: 'read', record: [...Buffer.from('ko')] });
    expect(plain(value(await t.request(server.address, { type: 'read', key: Buffer.from('x') }, 2_000)))).to.deep.equal({ type: 'read', record: [0x78] });
    expect(t.stats().streamsOpened).to.equal(1);
  });

  it('resolves TimeoutError when no reply comes within timeoutMs', async () => {
    const never = gate<PeerReply>();
    const server = await res.server({ peer: () => never.promise });
    const t = res.transport();
    const start = realTime.monotonicMs();
    const e = failure(await t.request(server.address, { type: 'identify' }, 80));
    expect(e).to.be.instanceOf(TimeoutError);
    expect(e.message).to.equal(`no reply from peer ${server.address} within 80 ms`);
    expect((e as TimeoutError).answered).to.equal(0);
    expect((e as TimeoutError).required).to.equal(1);
    expect(e.maybeApplied).to.equal(true); // it was written: the peer may still apply it
    expect(realTime.monotonicMs() - start).to.be.within(70, 1_500);
    // A late reply after the timeout is dropped; the stream stays healthy.
    never.open({ type: 'identify', nodeId: 'late', partitionCount: 1, replicas: 1 });
    expect(t.reachable(server.address)).to.equal(true);
    const expired = failure(await t.request(server.address, { type: 'identify' }, 0));
    expect(expired).to.be.instanceOf(TimeoutError);
    expect(expired.maybeApplied).to.equal(false); // refused before anything was written
  });

  it('fails fast with UnavailableError when the peer is not listening, then backs off', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const t = res.transport({ backoffMsMin: 5_000 });
    expect(t.reachable(address)).to.equal(true);
    const start = realTime.monotonicMs();
    const e = failure(await t.request(address, { type: 'identify' }, 5_000));
    expect(realTime.monotonicMs() - start).to.be.below(2_000);
    expect(e).to.be.instanceOf(UnavailableError);
    expect(e.message).to.match(new RegExp(`^peer ${address} unreachable: .+`));
    expect((e as UnavailableError).required).to.equal(1);
    expect(e.maybeApplied).to.equal(false); // the stream never opened: nothing was written
    expect(t.reachable(address)).to.equal(false);
    // During the backoff no new stream is attempted: the request fails at once.
    const opened = t.stats().streamsOpened;
    const again = failure(await t.request(address, { type: 'identify' }, 5_000));
    expect(again).to.be.instanceOf(UnavailableError);
    expect(again.message).to.equal(e.message);
    expect(again.maybeApplied).to.equal(false);
    expect(t.stats().streamsOpened).to.equal(opened);
  });

  it('reconnects to a peer restarted on the same port', async () => {
    const first = await res.server();
    const address = first.address;
    const t = res.transport({ backoffMsMin: 20, backoffMsMax: 100 });
    value(await t.request(address, { type: 'identify' }, 2_000));
    await first.shutdown(500);
    const down = failure(await t.request(address, { type: 'identify' }, 2_000));
    expect(down).to.be.instanceOf(UnavailableError);
    // The failed attempt after the shutdown marks the peer unreachable.
    if (t.reachable(address)) failure(await t.request(address, { type: 'identify' }, 2_000));
    expect(t.reachable(address)).to.equal(false);

    await res.server({ listen: address });
    let reply: Result<PeerReply, DynamoError> | undefined;
    for (let i = 0; i < 100 && !reply?.ok; i++) {
      reply = await t.request(address, { type: 'read', key: Buffer.from('ab') }, 2_000);
      if (!reply.ok) await pause(50);
    }
    expect(plain(value(reply!))).to.deep.equal({ type: 'read', record: [...Buffer.from('ba')] });
    expect(t.reachable(address)).to.equal(true);
  });

  it('answers 2,000 concurrent requests correctly in far fewer frames', async () => {
    const server = await res.server();
    const t = res.transport();
    const n = 2_000;
    const keys = Array.from({ length: n }, (_, i) => Buffer.from(`key-${i}`));
    const replies = await Promise.all(keys.map((key) => t.request(server.address, { type: 'read', key }, 10_000)));
    replies.forEach((r, i) => {
      expect(plain(value(r))).to.deep.equal({ type: 'read', record: [...Buffer.from(`key-${i}`)].reverse() });
    });
    const stats = t.stats();
    expect(stats.envelopesSent).to.equal(n);
    expect(stats.envelopesReceived).to.equal(n);
    expect(stats.framesSent).to.be.at.most(n / 100);
    expect(stats.framesReceived).to.be.below(n / 2);
    expect(stats.streamsOpened).to.equal(1);
  });

  it('bounds in-flight requests per peer', async () => {
    const hold = gate<PeerReply>();
    const server = await res.server({ peer: () => hold.promise });
    const t = res.transport({ inflightMax: 3 });
    const pending = [1, 2, 3].map(() => t.request(server.address, { type: 'identify' }, 5_000));
    const over = failure(await t.request(server.address, { type: 'identify' }, 5_000));
    expect(over).to.be.instanceOf(UnavailableError);
    expect(over.message).to.equal(`too many in-flight requests to ${server.address} (limit 3)`);
    expect(over.maybeApplied).to.equal(false);
    hold.open({ type: 'identify', nodeId: 'x', partitionCount: 8, replicas: 1 });
    for (const r of await Promise.all(pending)) expect(value(r)).to.deep.equal({ type: 'identify', nodeId: 'x', partitionCount: 8, replicas: 1 });
    // Once replies drain, there is room again.
    expect(value(await t.request(server.address, { type: 'identify' }, 5_000))).to.have.property('nodeId', 'x');
  });

  it('close() resolves pending requests with UnavailableError (written: maybe applied) and refuses new ones (not applied)', async () => {
    const hold = gate<PeerReply>();
    const arrived = gate();
    const server = await res.server({
      peer: () => {
        arrived.open();
        return hold.promise;
      },
    });
    const t = res.transport();
    const pending = t.request(server.address, { type: 'identify' }, 5_000);
    await arrived.promise;
    await t.close();
    const e = failure(await pending);
    expect(e).to.be.instanceOf(UnavailableError);
    expect(e.message).to.match(/transport closed/);
    expect(e.maybeApplied).to.equal(true);
    const refused = failure(await t.request(server.address, { type: 'identify' }, 5_000));
    expect(refused).to.be.instanceOf(UnavailableError);
    expect(refused.maybeApplied).to.equal(false);
    hold.open({ type: 'identify', nodeId: 'x', partitionCount: 1, replicas: 1 });
  });

  it('server shutdown answers in-flight peer requests before ending the stream', async () => {
    const server = await res.server({
      peer: async (req) => {
        await pause(150);
        return echoReply(req);
      },
    });
    const t = res.transport();
    value(await t.request(server.address, { type: 'identify' }, 2_000));
    const inflight = t.request(server.address, { type: 'read', key: Buffer.from('xy') }, 2_000);
    await pause(30);
    const start = realTime.monotonicMs();
    await server.shutdown(5_000);
    expect(realTime.monotonicMs() - start).to.be.below(2_000);
    expect(plain(value(await inflight))).to.deep.equal({ type: 'read', record: [...Buffer.from('yx')] });
  });
});
