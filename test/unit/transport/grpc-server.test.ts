import { expect } from 'chai';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import {
  InvalidArgumentError,
  LimitExceededError,
  UnavailableError,
} from '../../../lib/runtime/index.ts';
import type { KvHandler } from '../../../lib/protocol/index.ts';
import { fromGrpcError, LIVENESS_SERVICE } from '../../../lib/transport/index.ts';
import { EDGE_CASES } from './edge-cases.ts';
import { recordingKv, type Seen } from './recording-kv.ts';
import { callError, CapturingLogger, gate, rawCall, realTime, reflect, Resources, skewedTime, STATUS } from './harness.ts';

describe('transport gRPC server (KV, Admin, health, reflection)', function () {
  this.timeout(15_000);
  const res = new Resources();
  afterEach(() => res.closeAll());

  it('binds port 0 and reports the real address', async () => {
    const server = await res.server();
    expect(server.address).to.match(/^127\.0\.0\.1:\d+$/);
    expect(Number(server.address.split(':')[1])).to.be.greaterThan(0);
  });

  it('passes decoded KV requests to the handler and encodes its results', async () => {
    const { kv, seen } = recordingKv();
    const server = await res.server({ kv });
    const c = res.client(server.address);
    const got = await rawCall(c, 'KV', 'Get', { key: Buffer.from('k'), consistency: 4 });
    expect((got.response['values'] as Buffer[]).map(String)).to.deep.equal(['v1', 'v2']);
    expect([...(got.response['context'] as Buffer)]).to.deep.equal([1, 2, 3]);
    const put = await rawCall(c, 'KV', 'Put', { key: Buffer.from('k'), value: Buffer.from('val'), context: Buffer.from([9]) });
    expect([...(put.response['context'] as Buffer)]).to.deep.equal([4, 5]);
    await rawCall(c, 'KV', 'Delete', { key: Buffer.from('k'), consistency: 5 });

    expect(seen.map((s) => s.op)).to.deep.equal(['get', 'put', 'delete']);
    const [g, p, d] = seen as [Extract<Seen, { op: 'get' }>, Extract<Seen, { op: 'put' }>, Extract<Seen, { op: 'delete' }>];
    expect(String(g.cmd.key)).to.equal('k');
    expect(g.cmd.consistency).to.equal('QUORUM');
    expect(p.cmd.consistency).to.equal(undefined); // UNSPECIFIED -> node default
    expect(String(p.cmd.value)).to.equal('val');
    expect([...p.cmd.context]).to.deep.equal([9]);
    expect(d.cmd.consistency).to.equal('ALL');
    // An absent bytes field reaches the handler as empty bytes, not a protobufjs placeholder.
    expect(d.cmd.context).to.be.instanceOf(Uint8Array).with.length(0);
  });

  it('caps the timeout at the default and shortens it to the client deadline', async () => {
    const { kv, seen } = recordingKv();
    const server = await res.server({ kv, requestTimeoutMsDefault: 700 });
    const c = res.client(server.address);
    await rawCall(c, 'KV', 'Get', { key: Buffer.from('k') }, { deadlineMs: 60_000 });
    await rawCall(c, 'KV', 'Get', { key: Buffer.from('k') }, { deadlineMs: 300 });
    const [long, short] = seen.map((s) => s.cmd.timeoutMs);
    expect(long).to.equal(700);
    expect(short).to.be.within(1, 300);
  });

  it('answers an already-expired deadline with DEADLINE_EXCEEDED without calling the handler', async () => {
    const { kv, seen } = recordingKv();
    // The server's clock runs 10 s ahead, so a 5 s deadline has passed on arrival.
    const server = await res.server({ kv, time: skewedTime(10_000) });
    const e = await callError(rawCall(res.client(server.address), 'KV', 'Put', { key: Buffer.from('k'), value: Buffer.from('v') }));
    expect(e.code).to.equal(grpc.status.DEADLINE_EXCEEDED);
    expect(e.metadata.get('dynamo-code')).to.deep.equal(['DYNAMO_TIMEOUT']);
    expect(seen).to.have.length(0);
  });

  describe('edge validation', () => {
    const huge = (n: number): Buffer => Buffer.alloc(n, 1);
    for (const [what, method, req, message] of EDGE_CASES) {
      it(`answers ${what} with INVALID_ARGUMENT and keeps serving`, async () => {
        const { kv, seen } = recordingKv();
        const server = await res.server({ kv });
        const c = res.client(server.address);
        const e = await callError(rawCall(c, 'KV', method, req));
        expect(e.code).to.equal(grpc.status.INVALID_ARGUMENT);
        if (typeof message === 'string') expect(e.details).to.equal(message);
        else expect(e.details).to.match(message);
        expect(fromGrpcError(e)).to.be.instanceOf(InvalidArgumentError);
        expect(seen).to.have.length(0);
        await rawCall(c, 'KV', 'Get', { key: Buffer.from('still-serving') });
        expect(seen).to.have.length(1);
      });
    }
    it('accepts the limits themselves', async () => {
      const { kv, seen } = recordingKv();
      const server = await res.server({ kv });
      const c = res.client(server.address);
      await rawCall(c, 'KV', 'Put', { key: huge(1024), value: huge(1024 * 1024), context: huge(65536), consistency: 6 });
      expect(seen).to.have.length(1);
      const put = seen[0] as Extract<Seen, { op: 'put' }>;
      expect([put.cmd.key.length, put.cmd.value.length, put.cmd.context.length, put.cmd.consistency]).to.deep.equal([1024, 1024 * 1024, 65536, 'ANY']);
    });
  });

  it('maps handler DynamoErrors to status codes with code and counts in trailing metadata', async () => {
    const { kv } = recordingKv((s) => {
      if (s.op === 'get') throw new UnavailableError('QUORUM read failed: 1 of 3 replicas answered, 2 needed', { answered: 1, required: 2 });
      if (s.op === 'put') throw new LimitExceededError('101 siblings; the limit is 100');
      return undefined;
    });
    const server = await res.server({ kv });
    const c = res.client(server.address);
    const get = await callError(rawCall(c, 'KV', 'Get', { key: Buffer.from('k') }));
    expect(get.code).to.equal(grpc.status.UNAVAILABLE);
    expect(get.details).to.equal('QUORUM read failed: 1 of 3 replicas answered, 2 needed');
    expect(get.metadata.get('dynamo-code')).to.deep.equal(['DYNAMO_UNAVAILABLE']);
    const rebuilt = fromGrpcError(get);
    expect(rebuilt).to.be.instanceOf(UnavailableError);
    expect([(rebuilt as UnavailableError).answered, (rebuilt as UnavailableError).required]).to.deep.equal([1, 2]);
    const put = await callError(rawCall(c, 'KV', 'Put', { key: Buffer.from('k') }));
    expect(put.code).to.equal(grpc.status.FAILED_PRECONDITION);
    expect(fromGrpcError(put)).to.be.instanceOf(LimitExceededError);
  });

  it('answers an unexpected exception with INTERNAL, logs it, and stays up', async () => {
    const logger = new CapturingLogger();
    const kv: KvHandler = {
      get: () => {
        throw new TypeError('sync bug');
      },
      put: async () => {
        throw new RangeError('async bug');
      },
      delete: async () => ({ context: new Uint8Array(0) }),
    };
    const server = await res.server({ kv, logger });
    const c = res.client(server.address);
    const sync = await callError(rawCall(c, 'KV', 'Get', { key: Buffer.from('k') }));
    expect(sync.code).to.equal(grpc.status.INTERNAL);
    expect(sync.details).to.equal('internal error: sync bug');
    const async = await callError(rawCall(c, 'KV', 'Put', { key: Buffer.from('k') }));
    expect(async.code).to.equal(grpc.status.INTERNAL);
    expect(async.details).to.equal('internal error: async bug');
    expect(logger.errors.map((e) => e.msg)).to.deep.equal(['unexpected error in request handler', 'unexpected error in request handler']);
    await rawCall(c, 'KV', 'Delete', { key: Buffer.from('k') });
  });

  it('serves Admin.Status', async () => {
    const server = await res.server();
    const { response } = await rawCall(res.client(server.address), 'Admin', 'Status', {});
    // A status without membership fields: state UNSPECIFIED (0), no ring version, no transfers, no hints, no anti-entropy.
    expect(response).to.deep.equal({ ...STATUS, members: STATUS.members.map((m) => ({ ...m, state: 0 })), transfers: [], hints: null, antiEntropy: null });
  });

  it('serves grpc.health.v1.Health for "" and dynamo.v1.KV, toggled by setServing, and "liveness" always SERVING', async () => {
    const server = await res.server();
    const Health = grpc.makeGenericClientConstructor(healthService, 'Health');
    const health = new Health(server.address, grpc.credentials.createInsecure());
    try {
      const check = (service: string): Promise<string> =>
        new Promise((resolve, reject) =>
          (health['Check'] as Function).call(health, { service }, (e: Error | null, r: { status: string }) => (e ? reject(e) : resolve(r.status))),
        );
      expect([await check(''), await check('dynamo.v1.KV')]).to.deep.equal(['SERVING', 'SERVING']);
      server.setServing(false);
      expect([await check(''), await check('dynamo.v1.KV')]).to.deep.equal(['NOT_SERVING', 'NOT_SERVING']);
      // Liveness is "the process answers": a node that is not ready must not be restarted.
      expect(await check(LIVENESS_SERVICE)).to.equal('SERVING');
      server.setServing(true);
      expect(await check('dynamo.v1.KV')).to.equal('SERVING');
    } finally {
      health.close();
    }
  });

  it('serves reflection listing the public services (not the internal Peer service)', async () => {
    const server = await res.server();
    const msg = await reflect(server.address, { listServices: '' });
    const services = (msg['listServicesResponse']?.service ?? []).map((s: { name: string }) => s.name);
    expect(services).to.include.members(['dynamo.v1.KV', 'dynamo.v1.Admin', 'grpc.health.v1.Health']);
    expect(services).not.to.include('dynamo.v1.Peer');
  });

  it('shutdown waits for in-flight calls, and forces after the grace period', async () => {
    const hold = gate<void>();
    const { kv } = recordingKv(async (s) => {
      if (s.op === 'get') await hold.promise;
      return undefined;
    });
    const server = await res.server({ kv });
    const c = res.client(server.address);
    const inflight = rawCall(c, 'KV', 'Get', { key: Buffer.from('slow') }).then(
      () => 'answered',
      (e: grpc.ServiceError) => `failed ${grpc.status[e.code]}`,
    );
    await new Promise((r) => realTime.setTimer(50, () => r(undefined)));
    const start = realTime.monotonicMs();
    await server.shutdown(200);
    const waited = realTime.monotonicMs() - start;
    expect(waited).to.be.within(150, 2_000);
    expect(await inflight).to.match(/^failed /);
    hold.open();
  });
});
