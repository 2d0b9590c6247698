/**
 * A fake dynamo node for SDK tests: a real grpc-js server on 127.0.0.1:0
 * serving dynamo.v1.KV (unary methods and Session) and Admin, loaded with
 * @grpc/proto-loader (not the SDK's own protobufjs codecs, so wire
 * compatibility is checked too). Each handler can be replaced per test; every
 * request is recorded, whichever way it arrived.
 */
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { fileURLToPath } from 'node:url';
import { errorStatusOf, toGrpcStatus } from '../../../lib/transport/index.ts';

const PROTOS = ['kv.proto', 'admin.proto'].map((f) => fileURLToPath(new URL(`../../../protos/dynamo/v1/${f}`, import.meta.url)));

const definition = protoLoader.loadSync(PROTOS, { keepCase: false, longs: Number, enums: String, bytes: Buffer, defaults: true });
const pkg = grpc.loadPackageDefinition(definition) as unknown as {
  dynamo: { v1: { KV: grpc.ServiceClientConstructor; Admin: grpc.ServiceClientConstructor } };
};

export interface GetReq { key: Buffer; consistency: string }
export interface PutReq { key: Buffer; value: Buffer; context: Buffer; consistency: string }
export interface DeleteReq { key: Buffer; context: Buffer; consistency: string }
export interface Received {
  method: 'Get' | 'Put' | 'Delete' | 'Status';
  request: unknown;
  deadline: Date | number;
  /** How it arrived. */
  via: 'unary' | 'session';
}

/** SessionRequest / SessionResponse as proto-loader presents them (camelCase, defaults filled in). */
interface SessionRequestObj { id: number; timeoutMs: number; get: GetReq | null; put: PutReq | null; delete: DeleteReq | null }
interface SessionResponseObj { id: number; [result: string]: unknown }

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

  /** SessionRequests messages received (to see how requests were batched). */
  sessionMessages = 0;

  private constructor(
    readonly server: grpc.Server,
    readonly address: string,
  ) {}

  /** With `session: false`, KV/Session answers UNIMPLEMENTED, like a node that predates it. */
  static async start(opts: { session?: boolean } = {}): Promise<FakeNode> {
    const server = new grpc.Server();
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const node = new FakeNode(server, `127.0.0.1:${port}`);
    const handlers = {
      Get: () => node.onGet as Handler<unknown>,
      Put: () => node.onPut as Handler<unknown>,
      Delete: () => node.onDelete as Handler<unknown>,
      Status: () => node.onStatus as Handler<unknown>,
    };
    /** Record the request and run its handler: the response, or the error to answer with. */
    const respond = (r: Omit<Received, 'request'>, request: unknown): Promise<unknown> => {
      node.received.push({ ...r, request });
      return Promise.resolve()
        .then(() => handlers[r.method]()(request))
        .then(
          (res) => res,
          (e: unknown) => (e instanceof Error ? e : new Error(String(e))),
        );
    };
    const unary =
      (method: Received['method']) =>
      (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        void respond({ method, deadline: call.getDeadline(), via: 'unary' }, call.request).then((res) =>
          res instanceof Error ? callback(toGrpcStatus(res)) : callback(null, res),
        );
      };
    const session = (call: grpc.ServerDuplexStream<{ requests: SessionRequestObj[] }, { responses: SessionResponseObj[] }>): void => {
      call.sendMetadata(new grpc.Metadata());
      let inflight = 0;
      let halfClosed = false;
      call.on('data', (msg: { requests: SessionRequestObj[] }) => {
        node.sessionMessages++;
        for (const r of msg.requests) {
          const [method, op, request] = r.get ? (['Get', 'get', r.get] as const) : r.put ? (['Put', 'put', r.put] as const) : (['Delete', 'delete', r.delete] as const);
          inflight++;
          void respond({ method, deadline: Date.now() + r.timeoutMs, via: 'session' }, request).then((res) => {
            inflight--;
            if (res instanceof Error) {
              const s = errorStatusOf(res);
              const error = { grpcCode: s.code, message: s.details, dynamoCode: s.dynamoCode, answered: s.answered, required: s.required };
              call.write({ responses: [{ id: r.id, error }] });
            } else call.write({ responses: [{ id: r.id, [op]: res }] });
            if (halfClosed && inflight === 0) call.end();
          });
        }
      });
      call.on('end', () => {
        halfClosed = true;
        if (inflight === 0) call.end();
      });
      call.on('error', () => {});
    };
    server.addService(pkg.dynamo.v1.KV.service, {
      get: unary('Get'),
      put: unary('Put'),
      delete: unary('Delete'),
      ...(opts.session === false ? {} : { session }),
    });
    server.addService(pkg.dynamo.v1.Admin.service, { status: unary('Status') });
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
