/**
 * Real gRPC servers and transports on 127.0.0.1:0 with fake handlers, and
 * raw clients built from the .proto files. `Resources` remembers everything
 * it started so afterEach closes it even when a test fails.
 */
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';
import {
  InvalidArgumentError,
  RealTime,
  silentLogger,
  type LogFields,
  type Logger,
  type Time,
} from '../../../lib/runtime/index.ts';
import type {
  AdminHandler,
  KvHandler,
  NodeStatus,
  PeerHandler,
  PeerReply,
  PeerRequest,
  RepairStatus,
  RingStatus,
} from '../../../lib/protocol/index.ts';
import { GrpcTransport, startGrpcServer, type GrpcServer, type GrpcServerOptions, type GrpcTransportOptions } from '../../../lib/transport/index.ts';
import { frameMethod, PEER_STREAM_PATH } from '../../../lib/transport/grpc-options.ts';
import { ADMIN_PROTO, KV_PROTO } from '../../../lib/transport/proto-files.ts';

export const realTime = new RealTime();

/** The reply the echo peer handler gives for `req` (deterministic, so tests can predict it). */
export function echoReply(req: PeerRequest): PeerReply {
  switch (req.type) {
    case 'identify':
      return { type: 'identify', nodeId: 'peer-1', partitionCount: 64, replicas: 3 };
    case 'read':
      return { type: 'read', record: req.key.length === 0 ? undefined : Uint8Array.from(req.key).reverse() };
    case 'write':
      return { type: 'write' };
    case 'coordinate':
      return { type: 'coordinate', context: Uint8Array.from([...req.key, ...(req.value ?? [0xde, 0xad]), ...req.context]) };
    case 'membership':
      return { type: 'membership' };
    case 'transfer':
      return { type: 'transfer', records: [{ key: Uint8Array.of(req.partition), record: Uint8Array.of(req.planId) }], done: true };
    case 'tree':
      return { type: 'tree', answer: { op: 'root', fanOut: 64, depth: 2, hash: BigInt(req.partition) << 40n } };
  }
}

export const echoPeer: PeerHandler = async (req) => echoReply(req);

export const STATUS: NodeStatus = {
  nodeId: 'n1',
  members: [
    { id: 'n1', address: '127.0.0.1:1', reachable: true, partitionsOwned: 22, self: true },
    { id: 'n2', address: '127.0.0.1:2', reachable: false, partitionsOwned: 21, self: false },
  ],
  partitionCount: 64,
  replicas: 3,
  engine: 'memory',
  ready: true,
  readRepairs: 5,
  gets: 2 ** 40,
  puts: 7,
  deletes: 1,
  ringChecksum: 0xdeadbeef,
  partitionOwners: ["n1", "n2"],
  safety: {
    actor: 'n1.00ff00ff00ff00ff',
    actorsRetired: 1,
    recordsSetAside: 2,
    dotConflicts: 0,
    localWriteFailures: 3,
    contextClamps: 4,
    contextCatchUps: 5,
    siblingCapRefusals: 6,
    contextsRefused: 7,
  },
};

/**
 * A status with every field gossip membership added: each member state,
 * values that are present but zero or empty (which must not read as absent),
 * a uint64 above 2^32, and transfers of each direction and state.
 */
export const MEMBERSHIP_STATUS: NodeStatus = {
  ...STATUS,
  members: [
    { id: 'n1', address: '127.0.0.1:1', reachable: true, partitionsOwned: 22, self: true, state: 'up', ownershipPct: 34.375, partitionsHeld: 40, generation: 2 ** 40 + 1, zone: 'zone-a', loadKeys: 1200, loadBytes: 2 ** 33 },
    { id: 'n2', address: '127.0.0.1:2', reachable: false, partitionsOwned: 21, self: false, state: 'down', ownershipPct: 32.8125, partitionsHeld: 41, generation: 3, zone: '' },
    { id: 'n3', address: '127.0.0.1:3', reachable: true, partitionsOwned: 0, self: false, state: 'joining', ownershipPct: 0, partitionsHeld: 0, generation: 1 },
    { id: 'n4', address: '127.0.0.1:4', reachable: true, partitionsOwned: 21, self: false, state: 'leaving', ownershipPct: 32.8125, partitionsHeld: 39, generation: 9, loadKeys: 0, loadBytes: 0 },
  ],
  ringVersion: 7,
  digestMismatches: 2 ** 33 + 5,
  probes: 2 ** 33 + 7,
  probesFailed: 3,
  transfers: [
    { partition: 3, direction: 'in', peer: 'n4', state: 'streaming', keys: 10, bytes: 2048 },
    { partition: 9, direction: 'out', peer: 'n3', state: 'done', keys: 500, bytes: 3 * 2 ** 20 },
    { partition: 12, direction: 'out', peer: 'n3', state: 'waiting', keys: 0, bytes: 0 },
  ],
  antiEntropy: {
    enabled: true,
    partitions: 64,
    treesReady: 63,
    treesBuilding: 1,
    exchanges: 2 ** 33,
    cycles: 5,
    lastCycleMs: 25_600,
    lastFullExchangeAtMs: 1_790_000_000_000,
    keysPulled: 300,
    keysPushed: 0,
    bytesSent: 123_456,
    bytesReceived: 654_321,
    tombstonesPurged: 50,
    exchangesSlowed: 7,
    peers: [
      { peer: 'n2', exchanges: 100, lastExchangeAtMs: 1_790_000_001_000, lastCompleteAtMs: 1_790_000_000_500, keysPulled: 300, keysPushed: 0 },
      { peer: 'n3', exchanges: 0, lastExchangeAtMs: 0, lastCompleteAtMs: 0, keysPulled: 0, keysPushed: 0 },
    ],
    repair: {
      id: 2,
      state: 'done',
      partition: 0,
      partitionsTotal: 1,
      partitionsDone: 1,
      exchanges: 3,
      skipped: 0,
      keysPulled: 7,
      keysPushed: 1,
      bytesSent: 900,
      bytesReceived: 1800,
      startedAtMs: 1_790_000_000_000,
      elapsedMs: 42,
    },
  },
};

/** A repair as a node reports it while it runs (every partition, nothing done yet). */
export const REPAIR_RUNNING: RepairStatus = {
  id: 3,
  state: 'running',
  partitionsTotal: 64,
  partitionsDone: 0,
  exchanges: 0,
  skipped: 0,
  keysPulled: 0,
  keysPushed: 0,
  bytesSent: 0,
  bytesReceived: 0,
  startedAtMs: 1_790_000_000_000,
  elapsedMs: 0,
};

/** An AdminHandler answering `status` with STATUS and `ring` with RING; the membership commands reject unless overridden. */
export function adminWith(overrides: Partial<AdminHandler> = {}): AdminHandler {
  const refuse = async (): Promise<never> => {
    throw new InvalidArgumentError('not used in this test');
  };
  return { status: async () => STATUS, join: refuse, decommission: refuse, remove: refuse, ring: async () => RING, repair: refuse, ...overrides };
}

export const RING: RingStatus = {
  nodeId: 'n1',
  version: 3,
  checksum: 0xdeadbeef,
  partitionCount: 2,
  replicas: 2,
  owners: ['n1', 'n2'],
  replicaSets: [
    ['n1', 'n2'],
    ['n2', 'n1'],
  ],
  moving: [{ partition: 1, holders: ['n2', 'n1'], target: ['n2', 'n3'] }],
};

export const fakeAdmin: AdminHandler = adminWith();

export const unusedKv: KvHandler = {
  get: async () => {
    throw new InvalidArgumentError('not used in this test');
  },
  put: async () => {
    throw new InvalidArgumentError('not used in this test');
  },
  delete: async () => {
    throw new InvalidArgumentError('not used in this test');
  },
};

/** A logger that keeps error and warning lines (for "was it logged?" assertions). */
export class CapturingLogger implements Logger {
  readonly errors: { msg: string; fields?: LogFields }[] = [];
  readonly warns: { msg: string; fields?: LogFields }[] = [];
  error(msg: string, fields?: LogFields): void {
    this.errors.push({ msg, fields });
  }
  warn(msg: string, fields?: LogFields): void {
    this.warns.push({ msg, fields });
  }
  info(): void {}
  debug(): void {}
  trace(): void {}
  child(): Logger {
    return this;
  }
}

/** Everything a test started, closed in afterEach. */
export class Resources {
  readonly #servers: GrpcServer[] = [];
  readonly #transports: GrpcTransport[] = [];
  readonly #clients: grpc.Client[] = [];
  readonly #raw: grpc.Server[] = [];

  async server(opts: Partial<GrpcServerOptions> = {}): Promise<GrpcServer> {
    const server = await startGrpcServer({
      listen: '127.0.0.1:0',
      kv: unusedKv,
      admin: fakeAdmin,
      peer: echoPeer,
      logger: silentLogger,
      time: realTime,
      requestTimeoutMsDefault: 5_000,
      ...opts,
    });
    this.#servers.push(server);
    return server;
  }

  transport(opts: Partial<GrpcTransportOptions> = {}): GrpcTransport {
    const t = new GrpcTransport({ time: realTime, logger: silentLogger, ...opts });
    this.#transports.push(t);
    return t;
  }

  /** A bare gRPC server whose Peer/Stream calls go to `onCall` (to script a misbehaving peer); resolves to its address. */
  async peerStreamServer(onCall: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => void): Promise<string> {
    const server = new grpc.Server();
    server.addService({ Stream: frameMethod(PEER_STREAM_PATH, 'Stream') }, { Stream: onCall });
    this.#raw.push(server);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    return `127.0.0.1:${port}`;
  }

  client(address: string): grpc.Client {
    const c = new grpc.Client(address, grpc.credentials.createInsecure());
    this.#clients.push(c);
    return c;
  }

  async closeAll(): Promise<void> {
    for (const c of this.#clients.splice(0)) c.close();
    await Promise.all(this.#transports.splice(0).map((t) => t.close()));
    await Promise.all(this.#servers.splice(0).map((s) => s.shutdown(200)));
    for (const s of this.#raw.splice(0)) s.forceShutdown();
  }
}

const kvRoot = new protobuf.Root().loadSync([KV_PROTO, ADMIN_PROTO]);

/** One raw unary call with protobufjs codecs (any field values, even undefined enum numbers, go on the wire). */
export function rawCall(
  client: grpc.Client,
  service: 'KV' | 'Admin',
  method: string,
  request: object | Buffer,
  opts: { deadlineMs?: number } = {},
): Promise<{ response: Record<string, unknown> }> {
  const reqType = kvRoot.lookupType(`dynamo.v1.${method === 'Status' ? 'StatusRequest' : `${method}Request`}`);
  const resType = kvRoot.lookupType(`dynamo.v1.${method === 'Status' ? 'StatusResponse' : `${method}Response`}`);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      `/dynamo.v1.${service}/${method}`,
      (m: object | Buffer) => (Buffer.isBuffer(m) ? m : (reqType.encode(m).finish() as Buffer)),
      (b: Buffer) => resType.toObject(resType.decode(b), { defaults: true, longs: Number, arrays: true }),
      request,
      { deadline: Date.now() + (opts.deadlineMs ?? 5_000) },
      (e: grpc.ServiceError | null, res?: Record<string, unknown>) => (e ? reject(e) : resolve({ response: res ?? {} })),
    );
  });
}

const reflectionProto = path.join(
  path.dirname(createRequire(import.meta.url).resolve('@grpc/reflection/package.json')),
  'build/proto/grpc/reflection/v1/reflection.proto',
);

/** One request to a server's reflection service (grpc.reflection.v1), and its one response. */
export async function reflect(address: string, request: object): Promise<Record<string, any>> {
  const def = protoLoader.loadSync(reflectionProto, {});
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } } };
  const refl = new pkg.grpc.reflection.v1.ServerReflection(address, grpc.credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) => {
      const call = (refl['ServerReflectionInfo'] as Function).call(refl) as grpc.ClientDuplexStream<object, Record<string, any>>;
      call.on('data', (msg) => {
        resolve(msg);
        call.end();
      });
      call.on('error', reject);
      call.write(request);
    });
  } finally {
    refl.close();
  }
}

/** The ServiceError a call failed with (fails the test if it succeeded). */
export async function callError(p: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}

/** A Time whose wall clock runs `skewMs` ahead of the real one (timers are real). */
export function skewedTime(skewMs: number): Time {
  return {
    nowMs: () => realTime.nowMs() + skewMs,
    monotonicMs: () => realTime.monotonicMs(),
    setTimer: (d, f) => realTime.setTimer(d, f),
    cancelTimer: (h) => realTime.cancelTimer(h),
  };
}

/** Resolve after `ms` real milliseconds. */
export const pause = (ms: number): Promise<void> => new Promise((resolve) => realTime.setTimer(ms, resolve));

/** A promise plus its resolver, for handlers a test releases by hand. */
export function gate<T = void>(): { promise: Promise<T>; open: (v: T) => void } {
  let open!: (v: T) => void;
  const promise = new Promise<T>((r) => (open = r));
  return { promise, open };
}
