/**
 * The public contract as a stranger sees it: a client built from
 * protos/dynamo/v1/kv.proto alone (no SDK), the standard health service and
 * server reflection, and every kind of bad input answered with
 * INVALID_ARGUMENT while the node keeps serving.
 */
import { expect } from 'chai';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { startTestCluster, type TestCluster } from './harness.ts';

const PROTOS = fileURLToPath(new URL('../../protos', import.meta.url));
const MODULES = fileURLToPath(new URL('../../node_modules', import.meta.url));

type Call = (req: object, opts?: { deadlineMs?: number }) => Promise<Record<string, unknown>>;

function kvClient(address: string): { get: Call; put: Call; del: Call; close(): void } {
  const def = protoLoader.loadSync(path.join(PROTOS, 'dynamo/v1/kv.proto'), { enums: Number, longs: Number, defaults: true });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { dynamo: { v1: { KV: grpc.ServiceClientConstructor } } };
  const client = new pkg.dynamo.v1.KV(address, grpc.credentials.createInsecure());
  const wrap =
    (method: string): Call =>
    (req, opts) =>
      new Promise((resolve, reject) => {
        const deadline = new Date(Date.now() + (opts?.deadlineMs ?? 5000));
        (client[method] as Function).call(client, req, { deadline }, (err: grpc.ServiceError | null, res: Record<string, unknown>) =>
          err ? reject(err) : resolve(res),
        );
      });
  return { get: wrap('Get'), put: wrap('Put'), del: wrap('Delete'), close: () => client.close() };
}

async function grpcCode(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as grpc.ServiceError;
    return { code: err.code, details: err.details };
  }
  throw new Error('expected the call to fail');
}

describe('integration: raw gRPC contract (kv.proto only), health, reflection, bad input', function () {
  this.timeout(60_000);
  let t: TestCluster;
  let kv: ReturnType<typeof kvClient>;
  let address: string;

  before(async () => {
    t = await startTestCluster();
    address = t.cluster.members[0]!.address;
    kv = kvClient(address);
  });
  after(async () => {
    kv?.close();
    await t?.teardown();
  });

  it('reads and writes through a client generated from kv.proto alone', async () => {
    const put = await kv.put({ key: Buffer.from('raw'), value: Buffer.from('bytes'), consistency: 4 });
    expect((put['context'] as Buffer).length).to.be.greaterThan(0);
    const got = await kv.get({ key: Buffer.from('raw'), consistency: 0 });
    expect((got['values'] as Buffer[]).map((v) => v.toString())).to.deep.equal(['bytes']);
    await kv.del({ key: Buffer.from('raw'), context: got['context'] });
    const gone = await kv.get({ key: Buffer.from('raw') });
    expect(gone['values']).to.deep.equal([]);
  });

  const bad: [string, () => Promise<unknown>, RegExp][] = [
    ['an empty key', () => kv.put({ key: Buffer.alloc(0), value: Buffer.from('v') }), /key/i],
    ['a key over 1024 bytes', () => kv.get({ key: Buffer.alloc(1025, 1) }), /1024/],
    ['a value over 1 MiB', () => kv.put({ key: Buffer.from('k'), value: Buffer.alloc(1024 * 1024 + 1) }), /value/i],
    ['a context that does not decode', () => kv.put({ key: Buffer.from('k'), value: Buffer.from('v'), context: Buffer.from([0xff, 0x01, 0x02]) }), /context/i],
    ['an unknown consistency value', () => kv.get({ key: Buffer.from('k'), consistency: 42 }), /consistency/i],
    ['ANY on a read', () => kv.get({ key: Buffer.from('k'), consistency: 6 }), /ANY/],
  ];
  for (const [what, call, message] of bad) {
    it(`answers ${what} with INVALID_ARGUMENT and keeps serving`, async () => {
      const { code, details } = await grpcCode(call());
      expect(code).to.equal(grpc.status.INVALID_ARGUMENT);
      expect(details).to.match(message);
      const key = Buffer.from(`after ${what}`);
      await kv.put({ key, value: Buffer.from('ok') });
      const got = await kv.get({ key });
      expect((got['values'] as Buffer[]).map((v) => v.toString())).to.deep.equal(['ok']);
    });
  }

  it('answers an expired deadline with DEADLINE_EXCEEDED', async () => {
    const { code } = await grpcCode(kv.get({ key: Buffer.from('k') }, { deadlineMs: 0 }));
    expect(code).to.equal(grpc.status.DEADLINE_EXCEEDED);
  });

  it('serves grpc.health.v1.Health', async () => {
    const def = protoLoader.loadSync(path.join(MODULES, 'grpc-health-check/proto/health/v1/health.proto'), { enums: String });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
    const health = new pkg.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
    try {
      for (const service of ['', 'dynamo.v1.KV']) {
        const res = await new Promise<{ status: string }>((resolve, reject) =>
          (health['Check'] as Function).call(health, { service }, (e: Error | null, r: { status: string }) => (e ? reject(e) : resolve(r))),
        );
        expect(res.status).to.equal('SERVING');
      }
    } finally {
      health.close();
    }
  });

  it('serves server reflection listing dynamo.v1.KV', async () => {
    const def = protoLoader.loadSync(path.join(MODULES, '@grpc/reflection/build/proto/grpc/reflection/v1alpha/reflection.proto'), {});
    const pkg = grpc.loadPackageDefinition(def) as unknown as {
      grpc: { reflection: { v1alpha: { ServerReflection: grpc.ServiceClientConstructor } } };
    };
    const refl = new pkg.grpc.reflection.v1alpha.ServerReflection(address, grpc.credentials.createInsecure());
    try {
      const services = await new Promise<string[]>((resolve, reject) => {
        const call = (refl['ServerReflectionInfo'] as Function).call(refl) as grpc.ClientDuplexStream<object, { listServicesResponse?: { service: { name: string }[] } }>;
        call.on('data', (msg) => {
          resolve((msg.listServicesResponse?.service ?? []).map((s: { name: string }) => s.name));
          call.end();
        });
        call.on('error', reject);
        call.write({ listServices: '*' });
      });
      expect(services).to.include('dynamo.v1.KV');
      expect(services).to.include('grpc.health.v1.Health');
    } finally {
      refl.close();
    }
  });
});
