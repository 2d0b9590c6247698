/**
 * A fake dynamo node for SDK tests: a real grpc-js server on 127.0.0.1:0
 * serving dynamo.v1.KV and Admin, loaded with @grpc/proto-loader (not the
 * SDK's own protobufjs codec, so wire compatibility is checked too). Each
 * handler can be replaced per test; every request is recorded.
 */
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { toGrpcStatus } from '../../../lib/transport/index.ts';

const PROTOS = ['kv.proto', 'admin.proto'].map((f) => fileURLToPath(new URL(`../../../protos/dynamo/v1/${f}`, import.meta.url)));

const definition = protoLoader.loadSync(PROTOS, { keepCase: false, longs: Number, enums: String, bytes: Buffer, defaults: true });
const pkg = grpc.loadPackageDefinition(definition) as unknown as {
  dynamo: { v1: { KV: grpc.ServiceClientConstructor; Admin: grpc.ServiceClientConstructor } };
};

export interface GetReq { key: Buffer; consistency: string }
export interface PutReq { key: Buffer; value: Buffer; context: Buffer; consistency: string }
export interface DeleteReq { key: Buffer; context: Buffer; consistency: string }
export interface Received { method: 'Get' | 'Put' | 'Delete' | 'Status'; request: unknown; deadline: Date | number }

/** What a handler returns: a response object, or an error (mapped with the transport's toGrpcStatus). */
export type Handler<Req> = (req: Req) => unknown | Promise<unknown>;

export class FakeNode {
  readonly received: Received[] = [];
  /** key (hex) -> [values, version]: enough behaviour for round trips. */
  readonly store = new Map<string, { values: Buffer[]; version: number }>();
  onGet: Handler<GetReq> = (req) => {
    const entry = this.store.get(req.key.toString('hex'));
    // A miss leaves both fields out, as a node in another language would.
    return entry ? { values: entry.values, context: Buffer.from(`v${entry.version}`) } : {};
  };
  onPut: Handler<PutReq> = (req) => {
    if (req.key.toString() === 'no-context') return {};
    const id = req.key.toString('hex');
    const version = (this.store.get(id)?.version ?? 0) + 1;
    this.store.set(id, { values: [req.value], version });
    return { context: Buffer.from(`v${version}`) };
  };
  onDelete: Handler<DeleteReq> = (req) => {
    const id = req.key.toString('hex');
    this.store.set(id, { values: [], version: (this.store.get(id)?.version ?? 0) + 1 });
    return {};
  };
  onStatus: Handler<Record<string, never>> = () => ({});

  private constructor(
    readonly server: grpc.Server,
    readonly address: string,
  ) {}

  static async start(): Promise<FakeNode> {
    const server = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const node = new FakeNode(server, `127.0.0.1:${port}`);
    const serve =
      <Req>(method: Received['method'], handler: () => Handler<Req>) =>
      (call: grpc.ServerUnaryCall<Req, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        node.received.push({ method, request: call.request, deadline: call.getDeadline() });
        Promise.resolve()
          .then(() => handler()(call.request))
          .then(
            (res) => {
              if (res instanceof Error) callback(toGrpcStatus(res));
              else callback(null, res);
            },
            (e: unknown) => callback(toGrpcStatus(e)),
          );
      };
    server.addService(pkg.dynamo.v1.KV.service, {
      get: serve<GetReq>('Get', () => node.onGet),
      put: serve<PutReq>('Put', () => node.onPut),
      delete: serve<DeleteReq>('Delete', () => node.onDelete),
    });
    server.addService(pkg.dynamo.v1.Admin.service, { status: serve('Status', () => node.onStatus) });
    return node;
  }

  count(method: Received['method']): number {
    return this.received.filter((r) => r.method === method).length;
  }

  stop(): void {
    this.server.forceShutdown();
  }
}

/** host:port on 127.0.0.1 where nothing listens (bound, then released). */
export async function closedPort(): Promise<string> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return `127.0.0.1:${port}`;
}
