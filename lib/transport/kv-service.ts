/**
 * The public KV and Admin services as grpc-js service definitions with
 * protobufjs codecs (no proto-loader object conversion on the hot path: bytes
 * fields decode as views of the received frame and enums stay numbers). Every
 * request is checked at the edge — key/value/context sizes, consistency enum,
 * deadline — before the handler sees it, and every rejection becomes a gRPC
 * status carrying the DynamoError's code and counts. Each RPC is one
 * KvOperation (decode, validate + serve, encode, error reporting) that both
 * its unary method and the Session stream (session-service.ts) run, so the
 * two can never disagree about what a request means. Admin methods (status,
 * ring, and the membership commands join, decommission, remove) run the
 * same way, mapped to and from admin.proto by AdminCodec, and their
 * rejections map to status codes exactly like KV's.
 */
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { assert, DynamoError, InvalidArgumentError, TimeoutError, type KvOperationName, type Logger, type Metrics, type Time } from '../runtime/index.ts';
import { CONSISTENCY_LEVELS, LIMITS, type AdminHandler, type Consistency, type GetResult, type KvHandler } from '../protocol/index.ts';
import { statusCodeName, toGrpcStatus } from './grpc-status.ts';
import type { KvOperation } from './kv-operation.ts';
import { SessionServer } from './session-service.ts';
import { CONSISTENCY_NUMBERS } from './peer-codec.ts';
import { ADMIN_PROTO, KV_PROTO } from './proto-files.ts';
import { AdminCodec } from './admin-codec.ts';

interface GetRequestMsg {
  key: Uint8Array;
  consistency: number;
  strict?: boolean;
}
interface PutRequestMsg {
  key: Uint8Array;
  value: Uint8Array;
  context: Uint8Array;
  consistency: number;
  strict?: boolean;
}
interface DeleteRequestMsg {
  key: Uint8Array;
  context: Uint8Array;
  consistency: number;
  strict?: boolean;
}

/** The strict flag as a command field: present only when set, so default requests stay as they were. */
const strictOf = (m: { strict?: boolean }): { strict?: true } => (m.strict === true ? { strict: true } : {});
interface RemoveRequestMsg {
  nodeId: string;
}

/** admin.proto RepairRequest (a proto3 optional: absent, or null once decoded, when not sent). */
interface RepairRequestMsg {
  partition?: number | null;
}

/** On shutdown, how long a Session waits for its client to half-close after the notice (our SDK does at once). */
const SESSION_LINGER_MS = 1_000;

/** What the services need besides the handlers. */
export interface KvServiceOptions {
  readonly kv: KvHandler;
  readonly admin: AdminHandler;
  readonly logger: Logger;
  readonly time: Time;
  readonly requestTimeoutMsDefault: number;
  /** Requests in flight per Session stream; beyond it they are refused (RESOURCE_EXHAUSTED). */
  readonly sessionInflightMax: number;
  /** Response bytes a Session stream may hold unread (served-stream.ts). */
  readonly streamQueuedBytesMax: number;
  /** How long a Session may read nothing while responses pile up before it is cut off. */
  readonly streamStallMsMax: number;
  /** Where finished KV requests are counted and timed; none: nothing is measured. */
  readonly metrics?: Metrics;
  /** The level a request that names none runs at (the `consistency` label of its metrics); default 'DEFAULT'. */
  readonly defaultConsistency?: Consistency;
}

/** Consistency per proto enum number (index), built from kv.proto; undefined = UNSPECIFIED. */
interface ConsistencyTable {
  readonly byNumber: ReadonlyMap<number, Consistency | undefined>;
  /** "CONSISTENCY_UNSPECIFIED (0), CONSISTENCY_ONE (1), ..." for error messages. */
  readonly allowed: string;
}

function consistencyTable(root: protobuf.Root): ConsistencyTable {
  const e = root.lookupEnum('dynamo.v1.Consistency');
  const byNumber = new Map<number, Consistency | undefined>();
  const allowed: string[] = [];
  for (const [name, n] of Object.entries(e.values).sort((a, b) => a[1] - b[1])) {
    allowed.push(`${name} (${n})`);
    if (n === 0) {
      byNumber.set(0, undefined);
      continue;
    }
    const level = name.replace(/^CONSISTENCY_/, '') as Consistency;
    assert(CONSISTENCY_LEVELS.includes(level), `kv.proto enum ${name} has no protocol Consistency`);
    // The peer codec pins the same numbers; the two must never drift apart.
    assert(CONSISTENCY_NUMBERS[level] === n, `kv.proto ${name} = ${n} but the peer codec says ${CONSISTENCY_NUMBERS[level]}`);
    byNumber.set(n, level);
  }
  return { byNumber, allowed: allowed.join(', ') };
}

function checkKey(key: Uint8Array): void {
  if (key.length === 0) throw new InvalidArgumentError('key must not be empty');
  if (key.length > LIMITS.keyBytesMax) throw new InvalidArgumentError(`key is ${key.length} bytes; the limit is ${LIMITS.keyBytesMax}`);
}

function checkValue(value: Uint8Array): void {
  if (value.length > LIMITS.valueBytesMax) {
    throw new InvalidArgumentError(`value is ${value.length} bytes; the limit is ${LIMITS.valueBytesMax}`);
  }
}

function checkContext(context: Uint8Array): void {
  if (context.length > LIMITS.contextBytesMax) {
    throw new InvalidArgumentError(`context is ${context.length} bytes; the limit is ${LIMITS.contextBytesMax}`);
  }
}

const EMPTY: Uint8Array = new Uint8Array(0);

/** protobufjs leaves absent bytes fields as a shared empty Array; handlers get real bytes. */
const bytesOf = (v: Uint8Array): Uint8Array => (v instanceof Uint8Array ? v : EMPTY);

/** Stands in for a request that did not decode, so the run can answer INVALID_ARGUMENT (grpc-js would say INTERNAL). */
class Undecodable {
  constructor(readonly message: string) {}
}

type Serve<Req, Res> = (req: Req, timeoutMs: number) => Promise<Res>;

/** The grpc-js parts of the node's public services. */
export interface KvServices {
  /** dynamo.v1.KV (Get, Put, Delete, Session) and dynamo.v1.Admin (Status, Join, Decommission, Remove, Ring, Repair). */
  readonly services: { service: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation }[];
  /** The Session streams, for draining on shutdown and for stats. */
  readonly sessions: SessionServer;
}

/** Build the KV and Admin service definitions and implementations. */
export function kvServices(opts: KvServiceOptions): KvServices {
  const root = new protobuf.Root();
  root.loadSync([KV_PROTO, ADMIN_PROTO], { keepCase: false });
  const consistency = consistencyTable(root);

  const consistencyOf = (n: number): Consistency | undefined => {
    const level = consistency.byNumber.get(n);
    if (level === undefined && n !== 0) {
      throw new InvalidArgumentError(`consistency ${n} is not a defined value; use one of ${consistency.allowed}`);
    }
    return level;
  };

  /** The `consistency` label of a request: its level, the node's default for none, INVALID for what does not decode or is undefined. */
  const defaultLevel: string = opts.defaultConsistency ?? 'DEFAULT';
  const levelLabel = (msg: unknown): string => {
    if (msg instanceof Undecodable) return 'INVALID';
    const n = (msg as { consistency?: number }).consistency ?? 0;
    if (n === 0) return defaultLevel;
    return consistency.byNumber.get(n) ?? 'INVALID';
  };

  type Method = [string, grpc.MethodDefinition<unknown, unknown> | grpc.MethodDefinition<Buffer, Buffer>, grpc.UntypedHandleCall];

  /**
   * The KvOperation for one RPC, and its unary method: the timeout there is
   * the client's remaining deadline capped by the node default.
   */
  const operation = <Req, Res>(
    service: string,
    name: string,
    requestType: string,
    responseType: string,
    serve: Serve<Req, Res>,
    withDeadline: boolean,
    metered?: KvOperationName,
  ): { op: KvOperation; unary: Method } => {
    const req = root.lookupType(`dynamo.v1.${requestType}`);
    const res = root.lookupType(`dynamo.v1.${responseType}`);
    const path = `/dynamo.v1.${service}/${name}`;
    const run = (msg: unknown, timeoutMs: number): Promise<unknown> => {
      try {
        if (msg instanceof Undecodable) throw new InvalidArgumentError(msg.message);
        if (withDeadline && !(timeoutMs > 0)) {
          throw new TimeoutError('the deadline expired before the request was handled', { answered: 0, required: 0 });
        }
        return serve(msg as Req, timeoutMs);
      } catch (e) {
        return Promise.reject(e);
      }
    };
    const metrics = opts.metrics;
    const op: KvOperation = {
      path,
      decode: (b: Buffer) => {
        try {
          return req.decode(b);
        } catch (e) {
          return new Undecodable(`request does not decode as dynamo.v1.${requestType}: ${(e as Error).message}`);
        }
      },
      encode: (m: unknown) => res.encode(m as object).finish() as Buffer,
      run:
        metrics === undefined || metered === undefined
          ? run
          : (msg: unknown, timeoutMs: number): Promise<unknown> => {
              const startMs = opts.time.monotonicMs();
              const level = levelLabel(msg);
              const done = run(msg, timeoutMs);
              done.then(
                (value) => {
                  metrics.request(metered, level, 'OK', (opts.time.monotonicMs() - startMs) / 1000);
                  if (metered === 'get') metrics.siblingsReturned((value as GetResult).values.length);
                },
                (e: unknown) => metrics.request(metered, level, statusCodeName(e), (opts.time.monotonicMs() - startMs) / 1000),
              );
              return done;
            },
      report: (e: unknown) => {
        if (!(e instanceof DynamoError)) opts.logger.error('unexpected error in request handler', { method: path, error: e, stack: (e as Error)?.stack });
      },
    };
    const definition: grpc.MethodDefinition<unknown, unknown> = {
      path,
      originalName: name,
      requestStream: false,
      responseStream: false,
      requestSerialize: (m: unknown) => req.encode(m as object).finish() as Buffer,
      requestDeserialize: op.decode,
      responseSerialize: op.encode,
      responseDeserialize: (b: Buffer) => res.decode(b),
    };
    const handler: grpc.handleUnaryCall<unknown, unknown> = (call, callback) => {
      const timeoutMs = Math.min(Math.floor(Number(call.getDeadline()) - opts.time.nowMs()), opts.requestTimeoutMsDefault);
      op.run(call.request, timeoutMs).then(
        (value) => callback(null, value),
        (e: unknown) => {
          op.report(e);
          callback(toGrpcStatus(e));
        },
      );
    };
    return { op, unary: [name, definition, handler] };
  };

  const get = operation<GetRequestMsg, unknown>('KV', 'Get', 'GetRequest', 'GetResponse', (m, timeoutMs) => {
    const key = bytesOf(m.key);
    checkKey(key);
    return opts.kv.get({ key, consistency: consistencyOf(m.consistency), timeoutMs, ...strictOf(m) });
  }, true, 'get');
  const put = operation<PutRequestMsg, unknown>('KV', 'Put', 'PutRequest', 'PutResponse', (m, timeoutMs) => {
    const key = bytesOf(m.key);
    const value = bytesOf(m.value);
    const context = bytesOf(m.context);
    checkKey(key);
    checkValue(value);
    checkContext(context);
    return opts.kv.put({ key, value, context, consistency: consistencyOf(m.consistency), timeoutMs, ...strictOf(m) });
  }, true, 'put');
  const del = operation<DeleteRequestMsg, unknown>('KV', 'Delete', 'DeleteRequest', 'DeleteResponse', async (m, timeoutMs) => {
    const key = bytesOf(m.key);
    const context = bytesOf(m.context);
    checkKey(key);
    checkContext(context);
    await opts.kv.delete({ key, context, consistency: consistencyOf(m.consistency), timeoutMs, ...strictOf(m) });
    return {};
  }, true, 'delete');
  // Admin: no deadline of their own (a membership command answers once accepted; the change shows in status).
  const admin = new AdminCodec(root);
  const adminOp = <Req>(name: string, serve: (req: Req) => Promise<unknown>): Method =>
    operation<Req, unknown>('Admin', name, `${name}Request`, `${name}Response`, serve, false).unary;
  const adminMethods = [
    adminOp('Status', async () => admin.statusMessage(await opts.admin.status())),
    adminOp('Join', async () => {
      await opts.admin.join();
      return {};
    }),
    adminOp('Decommission', async () => {
      await opts.admin.decommission();
      return {};
    }),
    adminOp<RemoveRequestMsg>('Remove', async (m) => {
      if (typeof m.nodeId !== 'string' || m.nodeId.length === 0) throw new InvalidArgumentError('node_id must name the member to remove');
      await opts.admin.remove(m.nodeId);
      return {};
    }),
    adminOp('Ring', async () => admin.ringMessage(await opts.admin.ring())),
    adminOp<RepairRequestMsg>('Repair', async (m) => ({
      repair: admin.repairMessage(await opts.admin.repair(m.partition === null || m.partition === undefined ? undefined : m.partition)),
    })),
  ];

  const sessions = new SessionServer({
    ops: { get: get.op, put: put.op, delete: del.op },
    logger: opts.logger,
    requestTimeoutMsDefault: opts.requestTimeoutMsDefault,
    inflightMax: opts.sessionInflightMax,
    time: opts.time,
    lingerMs: SESSION_LINGER_MS,
    queuedBytesMax: opts.streamQueuedBytesMax,
    stallMsMax: opts.streamStallMsMax,
  });
  const build = (methods: Method[]) => ({
    service: Object.fromEntries(methods.map(([n, d]) => [n, d])) as grpc.ServiceDefinition,
    implementation: Object.fromEntries(methods.map(([n, , h]) => [n, h])) as grpc.UntypedServiceImplementation,
  });
  const kv = build([get.unary, put.unary, del.unary, ['Session', sessions.definition, sessions.handler as grpc.UntypedHandleCall]]);
  return { services: [kv, build(adminMethods)], sessions };
}
