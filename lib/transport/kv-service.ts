/**
 * The public KV and Admin services as grpc-js service definitions with
 * protobufjs codecs (no proto-loader object conversion on the hot path: bytes
 * fields decode as views of the received frame and enums stay numbers). Every
 * request is checked at the edge — key/value/context sizes, consistency enum,
 * deadline — before the handler sees it, and every rejection becomes a gRPC
 * status carrying the DynamoError's code and counts.
 */
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { assert, DynamoError, InvalidArgumentError, TimeoutError, type Logger, type Time } from '../runtime/index.ts';
import { CONSISTENCY_LEVELS, LIMITS, type AdminHandler, type Consistency, type KvHandler } from '../protocol/index.ts';
import { toGrpcStatus } from './grpc-status.ts';
import { CONSISTENCY_NUMBERS } from './peer-codec.ts';
import { ADMIN_PROTO, KV_PROTO } from './proto-files.ts';

interface GetRequestMsg {
  key: Uint8Array;
  consistency: number;
}
interface PutRequestMsg {
  key: Uint8Array;
  value: Uint8Array;
  context: Uint8Array;
  consistency: number;
}
interface DeleteRequestMsg {
  key: Uint8Array;
  context: Uint8Array;
  consistency: number;
}

/** What the services need besides the handlers. */
export interface KvServiceOptions {
  readonly kv: KvHandler;
  readonly admin: AdminHandler;
  readonly logger: Logger;
  readonly time: Time;
  readonly requestTimeoutMsDefault: number;
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

/** Stands in for a request that did not decode, so the handler can answer INVALID_ARGUMENT (grpc-js would say INTERNAL). */
class Undecodable {
  constructor(readonly message: string) {}
}

type Serve<Req, Res> = (req: Req, timeoutMs: number) => Promise<Res>;

interface MethodSpec {
  readonly definition: grpc.MethodDefinition<unknown, unknown>;
  readonly handler: grpc.handleUnaryCall<unknown, unknown>;
}

/** Build the KV and Admin service definitions and implementations. */
export function kvServices(opts: KvServiceOptions): { service: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation }[] {
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

  /** Remaining client deadline capped by the node default; throws TimeoutError when already past. */
  const timeoutOf = (call: grpc.ServerUnaryCall<unknown, unknown>): number => {
    const remainingMs = Math.floor(Number(call.getDeadline()) - opts.time.nowMs());
    if (!(remainingMs > 0)) throw new TimeoutError('the deadline expired before the request was handled', { answered: 0, required: 0 });
    return Math.min(remainingMs, opts.requestTimeoutMsDefault);
  };

  const method = <Req, Res>(
    service: string,
    name: string,
    requestType: string,
    responseType: string,
    serve: Serve<Req, Res>,
    withDeadline: boolean,
  ): [string, MethodSpec] => {
    const req = root.lookupType(`dynamo.v1.${requestType}`);
    const res = root.lookupType(`dynamo.v1.${responseType}`);
    const path = `/dynamo.v1.${service}/${name}`;
    const definition: grpc.MethodDefinition<unknown, unknown> = {
      path,
      originalName: name,
      requestStream: false,
      responseStream: false,
      requestSerialize: (m: unknown) => req.encode(m as object).finish() as Buffer,
      requestDeserialize: (b: Buffer) => {
        try {
          return req.decode(b);
        } catch (e) {
          return new Undecodable(`request does not decode as dynamo.v1.${requestType}: ${(e as Error).message}`);
        }
      },
      responseSerialize: (m: unknown) => res.encode(m as object).finish() as Buffer,
      responseDeserialize: (b: Buffer) => res.decode(b),
    };
    const fail = (callback: grpc.sendUnaryData<unknown>, e: unknown): void => {
      if (!(e instanceof DynamoError)) opts.logger.error('unexpected error in request handler', { method: path, error: e, stack: (e as Error)?.stack });
      callback(toGrpcStatus(e));
    };
    const handler: grpc.handleUnaryCall<unknown, unknown> = (call, callback) => {
      let result: Promise<Res>;
      try {
        if (call.request instanceof Undecodable) throw new InvalidArgumentError(call.request.message);
        result = serve(call.request as Req, withDeadline ? timeoutOf(call) : 0);
      } catch (e) {
        fail(callback, e);
        return;
      }
      result.then(
        (value) => callback(null, value),
        (e: unknown) => fail(callback, e),
      );
    };
    return [name, { definition, handler }];
  };

  const kv = [
    method<GetRequestMsg, unknown>('KV', 'Get', 'GetRequest', 'GetResponse', (m, timeoutMs) => {
      const key = bytesOf(m.key);
      checkKey(key);
      return opts.kv.get({ key, consistency: consistencyOf(m.consistency), timeoutMs });
    }, true),
    method<PutRequestMsg, unknown>('KV', 'Put', 'PutRequest', 'PutResponse', (m, timeoutMs) => {
      const key = bytesOf(m.key);
      const value = bytesOf(m.value);
      const context = bytesOf(m.context);
      checkKey(key);
      checkValue(value);
      checkContext(context);
      return opts.kv.put({ key, value, context, consistency: consistencyOf(m.consistency), timeoutMs });
    }, true),
    method<DeleteRequestMsg, unknown>('KV', 'Delete', 'DeleteRequest', 'DeleteResponse', async (m, timeoutMs) => {
      const key = bytesOf(m.key);
      const context = bytesOf(m.context);
      checkKey(key);
      checkContext(context);
      await opts.kv.delete({ key, context, consistency: consistencyOf(m.consistency), timeoutMs });
      return {};
    }, true),
  ];
  const admin = [method<unknown, unknown>('Admin', 'Status', 'StatusRequest', 'StatusResponse', () => opts.admin.status(), false)];

  const build = (methods: [string, MethodSpec][]) => ({
    service: Object.fromEntries(methods.map(([n, m]) => [n, m.definition])) as grpc.ServiceDefinition,
    implementation: Object.fromEntries(methods.map(([n, m]) => [n, m.handler])) as grpc.UntypedServiceImplementation,
  });
  return [build(kv), build(admin)];
}
