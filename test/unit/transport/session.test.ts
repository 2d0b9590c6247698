import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import {
  ClosedError,
  InvalidArgumentError,
  LimitExceededError,
  TimeoutError,
  UnavailableError,
} from '../../../lib/runtime/index.ts';
import { fromErrorStatus, fromGrpcError } from '../../../lib/transport/index.ts';
import { EDGE_CASES } from './edge-cases.ts';
import { callError, CapturingLogger, gate, rawCall, realTime, Resources } from './harness.ts';
import { frame, rawEntry, RawSession, type RawRequest, type RawResponse } from './raw-session.ts';
import { recordingKv, type Seen } from './recording-kv.ts';

const key = (k: string): Buffer => Buffer.from(k);
const op = (method: 'Get' | 'Put' | 'Delete'): 'get' | 'put' | 'delete' => method.toLowerCase() as 'get' | 'put' | 'delete';

/** The error of a response, as the ErrorStatus the SDK rebuilds errors from. */
function statusOf(r: RawResponse) {
  const e = r.error ?? {};
  return { code: e.grpcCode ?? 0, details: e.message ?? '', dynamoCode: e.dynamoCode, answered: e.answered ?? 0, required: e.required ?? 0 };
}

describe('transport KV Session streams', function () {
  this.timeout(15_000);
  const res = new Resources();
  afterEach(() => res.closeAll());

  it('round-trips get, put and delete in one frame, with timeout_ms 0 meaning the node default', async () => {
    const { kv, seen } = recordingKv();
    const server = await res.server({ kv, requestTimeoutMsDefault: 700 });
    const s = new RawSession(res.client(server.address));
    await s.accepted;
    s.send([
      { id: 1, timeoutMs: 300, get: { key: key('k'), consistency: 4 } },
      { id: 2, put: { key: key('k'), value: key('val'), context: Buffer.from([9]) } },
      { id: 0xffffffff, timeoutMs: 60_000, delete: { key: key('k'), consistency: 5 } },
    ]);
    await s.received(3);
    const get = s.response(1);
    expect(get.result).to.equal('get');
    expect(get.get!.values!.map(String)).to.deep.equal(['v1', 'v2']);
    expect([...get.get!.context!]).to.deep.equal([1, 2, 3]);
    expect(s.response(2).result).to.equal('put');
    expect([...s.response(2).put!.context!]).to.deep.equal([4, 5]);
    expect(s.response(0xffffffff).result).to.equal('delete');

    expect(seen.map((x) => x.op)).to.deep.equal(['get', 'put', 'delete']);
    const [g, p, d] = seen as [Extract<Seen, { op: 'get' }>, Extract<Seen, { op: 'put' }>, Extract<Seen, { op: 'delete' }>];
    expect([g.cmd.consistency, p.cmd.consistency, d.cmd.consistency]).to.deep.equal(['QUORUM', undefined, 'ALL']);
    // 300 ms as asked; 0 -> the node default; 60 s -> capped at the default.
    expect([g.cmd.timeoutMs, p.cmd.timeoutMs, d.cmd.timeoutMs]).to.deep.equal([300, 700, 700]);
    expect(String(p.cmd.value)).to.equal('val');
    expect([...p.cmd.context]).to.deep.equal([9]);
    expect(d.cmd.context).to.be.instanceOf(Uint8Array).with.length(0);

    s.call.end();
    expect((await s.status).code).to.equal(grpc.status.OK);
  });

  it('answers many concurrent requests in far fewer frames than responses, and counts them', async () => {
    const { kv } = recordingKv();
    const server = await res.server({ kv });
    const s = new RawSession(res.client(server.address));
    const requests: RawRequest[] = Array.from({ length: 200 }, (_, i) => ({ id: i + 1, get: { key: key(`k${i}`) } }));
    s.send(requests.slice(0, 100));
    s.send(requests.slice(100));
    await s.received(200);
    expect(new Set(s.responses.map((r) => r.id)).size).to.equal(200);
    expect(s.responses.every((r) => r.result === 'get')).to.equal(true);
    const stats = server.sessionStats();
    expect(stats).to.include({ streamsOpened: 1, framesReceived: 2, requestsReceived: 200, responsesSent: 200, requestsRefused: 0 });
    expect(stats.framesSent).to.equal(s.frames);
    expect(stats.framesSent).to.be.at.most(20);
  });

  it('answers each bad request of a frame with its own INVALID_ARGUMENT entry, exactly like the unary call, and serves the rest', async () => {
    const { kv, seen } = recordingKv();
    const server = await res.server({ kv });
    const s = new RawSession(res.client(server.address));
    // Request i + 1 is EDGE_CASES[i]; then a request without an op, then two good ones.
    const parts = EDGE_CASES.map(([, method, req], i) =>
      Buffer.isBuffer(req) ? rawEntry(i + 1, method, req) : frame([{ id: i + 1, [op(method)]: req }]),
    );
    const noOp = EDGE_CASES.length + 1;
    const good = [noOp + 1, noOp + 2];
    parts.push(frame([{ id: noOp }, { id: good[0]!, get: { key: key('fine') } }, { id: good[1]!, put: { key: key('fine'), value: key('v') } }]));
    s.send(Buffer.concat(parts));
    await s.received(EDGE_CASES.length + 3);

    const c = res.client(server.address);
    for (const [i, [what, method, req, message]] of EDGE_CASES.entries()) {
      const r = s.response(i + 1);
      expect(r.result, what).to.equal('error');
      const unary = await callError(rawCall(c, 'KV', method, req));
      expect(statusOf(r), what).to.deep.equal({ code: unary.code, details: unary.details, dynamoCode: 'DYNAMO_INVALID_ARGUMENT', answered: 0, required: 0 });
      if (typeof message === 'string') expect(r.error!.message).to.equal(message);
      else expect(r.error!.message).to.match(message);
      expect(fromErrorStatus(statusOf(r))).to.be.instanceOf(InvalidArgumentError);
    }
    expect(s.response(noOp).error).to.deep.include({ grpcCode: grpc.status.INVALID_ARGUMENT, dynamoCode: 'DYNAMO_INVALID_ARGUMENT' });
    expect(s.response(noOp).error!.message).to.equal(`session request ${noOp} has no operation (expected get, put or delete)`);
    expect(s.response(good[0]!).result).to.equal('get');
    expect(s.response(good[1]!).result).to.equal('put');
    // Only the two good requests reached the handler; the stream is still up.
    expect(seen.map((x) => x.op)).to.deep.equal(['get', 'put']);
    s.send([{ id: 99, get: { key: key('again') } }]);
    await s.received(EDGE_CASES.length + 4);
    expect(s.response(99).result).to.equal('get');
  });

  it('maps handler errors to the same status, dynamo code and counts as the unary call', async () => {
    const logger = new CapturingLogger();
    const failures: Record<string, () => never> = {
      unavailable: () => {
        throw new UnavailableError('QUORUM read failed: 1 of 3 replicas answered, 2 needed', { answered: 1, required: 2 });
      },
      timeout: () => {
        throw new TimeoutError('ALL read timed out: 2 of 3 replicas answered', { answered: 2, required: 3 });
      },
      limit: () => {
        throw new LimitExceededError('101 siblings; the limit is 100');
      },
      closed: () => {
        throw new ClosedError('node is shutting down');
      },
      bug: () => {
        throw new TypeError('a bug');
      },
    };
    const { kv } = recordingKv((x) => failures[String(x.cmd.key)]!());
    const server = await res.server({ kv, logger });
    const c = res.client(server.address);
    const s = new RawSession(c);
    const names = Object.keys(failures);
    s.send(names.map((name, i) => ({ id: i + 1, get: { key: key(name) } })));
    await s.received(names.length);
    const expected: [string, number, Function][] = [
      ['unavailable', grpc.status.UNAVAILABLE, UnavailableError],
      ['timeout', grpc.status.DEADLINE_EXCEEDED, TimeoutError],
      ['limit', grpc.status.FAILED_PRECONDITION, LimitExceededError],
      ['closed', grpc.status.UNAVAILABLE, ClosedError],
      ['bug', grpc.status.INTERNAL, Error],
    ];
    for (const [name, code, kind] of expected) {
      const r = s.response(names.indexOf(name) + 1);
      const unary = await callError(rawCall(c, 'KV', 'Get', { key: key(name) }));
      expect(unary.code, name).to.equal(code);
      expect(statusOf(r), name).to.deep.equal({
        code,
        details: unary.details,
        dynamoCode: String(unary.metadata.get('dynamo-code')[0]),
        answered: Number(unary.metadata.get('dynamo-answered')[0]),
        required: Number(unary.metadata.get('dynamo-required')[0]),
      });
      const rebuilt = fromErrorStatus(statusOf(r));
      expect(rebuilt, name).to.be.instanceOf(kind);
      expect(rebuilt).to.deep.include({ code: fromGrpcError(unary).code, message: fromGrpcError(unary).message });
    }
    expect(statusOf(s.response(names.indexOf('unavailable') + 1))).to.include({ answered: 1, required: 2 });
    expect(statusOf(s.response(names.indexOf('timeout') + 1))).to.include({ answered: 2, required: 3 });
    // The bug was logged once per path it took.
    expect(logger.errors.map((e) => e.msg)).to.deep.equal(['unexpected error in request handler', 'unexpected error in request handler']);
  });

  it('ends a stream whose frame does not parse with INVALID_ARGUMENT, serving nothing of it, and keeps serving', async () => {
    const { kv, seen } = recordingKv();
    const server = await res.server({ kv, logger: new CapturingLogger() });
    const c = res.client(server.address);
    const bad = new RawSession(c);
    // A good entry followed by one whose length runs past the end of the frame.
    bad.send(Buffer.concat([frame([{ id: 1, put: { key: key('k'), value: key('v') } }]), Buffer.from([0x0a, 0x10, 0x08, 0x02])]));
    const status = await bad.status;
    expect(status.code).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(status.details).to.match(/^malformed SessionRequests: entry overruns the frame/);
    expect(seen).to.have.length(0);
    expect(bad.responses).to.have.length(0);

    const good = new RawSession(c);
    good.send([{ id: 1, get: { key: key('k') } }]);
    await good.received(1);
    expect(good.response(1).result).to.equal('get');
    await rawCall(c, 'KV', 'Get', { key: key('unary') });
    expect(seen.map((x) => String(x.cmd.key))).to.deep.equal(['k', 'unary']);
  });

  it('refuses requests beyond the in-flight bound with RESOURCE_EXHAUSTED instead of queueing them', async () => {
    const hold = gate();
    const { kv, seen } = recordingKv(() => hold.promise);
    const server = await res.server({ kv, sessionInflightMax: 3 });
    const s = new RawSession(res.client(server.address));
    s.send([1, 2, 3, 4, 5].map((id) => ({ id, get: { key: key(`k${id}`) } })));
    await s.received(2);
    for (const id of [4, 5]) {
      expect(s.response(id).error).to.deep.include({ grpcCode: grpc.status.RESOURCE_EXHAUSTED, dynamoCode: 'DYNAMO_LIMIT_EXCEEDED' });
      expect(s.response(id).error!.message).to.contain('limit 3');
      expect(fromErrorStatus(statusOf(s.response(id)))).to.be.instanceOf(LimitExceededError);
    }
    expect(seen).to.have.length(3);
    expect(server.sessionStats().requestsRefused).to.equal(2);
    hold.open();
    await s.received(5);
    expect([1, 2, 3].map((id) => s.response(id).result)).to.deep.equal(['get', 'get', 'get']);
    // Room again once they are answered.
    s.send([{ id: 6, get: { key: key('k6') } }]);
    await s.received(6);
    expect(s.response(6).result).to.equal('get');
  });

  it('on shutdown: notices the client, refuses new requests, answers those in flight, ends after the half-close', async () => {
    const hold = gate();
    const { kv, seen } = recordingKv(async (x) => {
      if (String(x.cmd.key) === 'slow') await hold.promise;
      return undefined;
    });
    const server = await res.server({ kv });
    const s = new RawSession(res.client(server.address));
    s.send([{ id: 1, get: { key: key('slow') } }]);
    while (seen.length === 0) await new Promise((r) => realTime.setTimer(5, () => r(undefined)));
    const start = realTime.monotonicMs();
    const stopping = server.shutdown(10_000);

    await s.received(1);
    const notice = s.response(0);
    expect(notice.error).to.deep.include({ grpcCode: grpc.status.UNAVAILABLE, dynamoCode: 'DYNAMO_CLOSED' });
    expect(fromErrorStatus(statusOf(notice))).to.be.instanceOf(ClosedError);

    s.send([{ id: 2, put: { key: key('late'), value: key('v') } }]);
    await s.received(2);
    expect(s.response(2).error).to.deep.include({ grpcCode: grpc.status.UNAVAILABLE, dynamoCode: 'DYNAMO_CLOSED' });
    expect(seen).to.have.length(1); // the refused put never reached the handler

    hold.open();
    await s.received(3);
    expect(s.response(1).result).to.equal('get');
    s.call.end();
    expect((await s.status).code).to.equal(grpc.status.OK);
    await stopping;
    expect(realTime.monotonicMs() - start).to.be.lessThan(2_000);
  });

  it('on shutdown: ends a stream whose client never half-closes after a short linger', async () => {
    const { kv } = recordingKv();
    const server = await res.server({ kv });
    const s = new RawSession(res.client(server.address));
    s.send([{ id: 1, get: { key: key('k') } }]);
    await s.received(1);
    const start = realTime.monotonicMs();
    await server.shutdown(10_000);
    const waited = realTime.monotonicMs() - start;
    expect((await s.status).code).to.equal(grpc.status.OK);
    expect(s.response(0).error!.dynamoCode).to.equal('DYNAMO_CLOSED');
    expect(waited).to.be.within(800, 5_000);
  });
});
