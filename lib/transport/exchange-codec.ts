/**
 * Anti-entropy exchange calls and answers <-> protobuf (peer.proto TreeCall,
 * TreeAnswer). A cold path next to client traffic (an idle partition costs
 * one root call per exchange; a repair moves bounded batches of records), so
 * it uses protobufjs's reflection codec, as membership-codec.ts does, and
 * validates everything it decodes: bytes that are not a well-formed call or
 * answer are refused with InvalidArgumentError, never half-applied. What a
 * well-formed call may ask (a partition this node replicates, a level and
 * indices inside its tree) is checked by the node that serves it.
 *
 * Hashes and digests are uint64 (fixed64 on the wire, bigint here).
 */
import protobuf from 'protobufjs';
import { InvalidArgumentError } from '../runtime/index.ts';
import { LIMITS, type KeyRecord, type TreeAnswer, type TreeCall, type TreeRequest } from '../protocol/index.ts';
import { PEER_PROTO, PROTO_ROOT } from './proto-files.ts';

const root = new protobuf.Root();
root.resolvePath = (_origin, target) => (target.startsWith('/') ? target : `${PROTO_ROOT}/${target}`);
root.loadSync(PEER_PROTO, { keepCase: false });
const CallType = root.lookupType('dynamo.v1.TreeCall');
const AnswerType = root.lookupType('dynamo.v1.TreeAnswer');
const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: Number, defaults: true, arrays: true, oneofs: true };

/** protobufjs's Long (the `long` package, present with protobufjs 7). */
interface LongLike {
  readonly low: number;
  readonly high: number;
  readonly unsigned: boolean;
}
const Long = protobuf.util.Long as unknown as { fromBits(low: number, high: number, unsigned: boolean): LongLike };

const U64_MAX = (1n << 64n) - 1n;

type Obj = Record<string, unknown>;

function bad(what: string): InvalidArgumentError {
  return new InvalidArgumentError(`malformed anti-entropy message: ${what}`);
}

/** A uint64 as protobufjs's Long (throws TypeError on anything else: a bug upstream). */
function u64(v: bigint): LongLike {
  if (typeof v !== 'bigint' || v < 0n || v > U64_MAX) throw new TypeError(`anti-entropy codec: expected a uint64 bigint, got ${String(v)}`);
  return Long.fromBits(Number(v & 0xffffffffn) | 0, Number(v >> 32n) | 0, true);
}

const records = (rs: readonly KeyRecord[]): Obj[] => rs.map((r) => ({ key: r.key, record: r.record }));

function callOut(c: TreeCall): Obj {
  switch (c.op) {
    case 'root':
      return { root: {} };
    case 'segments':
      return { segments: { level: c.level, indices: [...c.indices] } };
    case 'keys-in':
      return { keysIn: { segments: [...c.segments] } };
    case 'fetch':
      return { fetch: { keys: [...c.keys] } };
    case 'push':
      return { push: { records: records(c.records) } };
  }
}

function answerOut(a: TreeAnswer): Obj {
  switch (a.op) {
    case 'root':
      return { root: { fanOut: a.fanOut, depth: a.depth, hash: u64(a.hash) } };
    case 'segments':
      return { segments: { hashes: a.hashes.map(u64) } };
    case 'keys-in':
      return { keysIn: { entries: a.entries.map((e) => ({ key: e.key, digest: u64(e.digest) })) } };
    case 'fetch':
      return { fetch: { records: records(a.records) } };
    case 'push':
      return { push: {} };
  }
}

/** A TreeRequest's call as TreeCall bytes. */
export function encodeTreeCall(req: TreeRequest): Uint8Array {
  const message = CallType.fromObject({ from: req.from, partition: req.partition, ringVersion: req.ringVersion, ...callOut(req.call) });
  return CallType.encode(message).finish();
}

/** An answer as TreeAnswer bytes. */
export function encodeTreeAnswer(answer: TreeAnswer): Uint8Array {
  return AnswerType.encode(AnswerType.fromObject(answerOut(answer))).finish();
}

// --- from the wire --------------------------------------------------------

const num = (o: Obj, k: string): number => {
  const v = o[k];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`${k} is not a non-negative integer`);
  return v;
};
const list = (o: Obj, k: string): unknown[] => {
  const v = o[k];
  if (!Array.isArray(v)) throw bad(`${k} is not a list`);
  return v;
};
const numbers = (o: Obj, k: string): number[] =>
  list(o, k).map((v) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`${k} holds a bad number`);
    return v;
  });
function bytes(v: unknown, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw bad(`${what} is not bytes`);
  return v;
}
function key(v: unknown): Uint8Array {
  const k = bytes(v, 'key');
  if (k.length === 0 || k.length > LIMITS.keyBytesMax) throw bad(`a key of ${k.length} bytes`);
  return k;
}
function hash(v: unknown, what: string): bigint {
  if (typeof v !== 'string' || !/^\d{1,20}$/.test(v)) throw bad(`${what} is not a uint64`);
  const n = BigInt(v);
  if (n > U64_MAX) throw bad(`${what} is not a uint64`);
  return n;
}
const recordsIn = (o: Obj): KeyRecord[] =>
  list(o, 'records').map((r) => ({ key: key((r as Obj)['key']), record: bytes((r as Obj)['record'], 'record') }));

function decodeWith(type: protobuf.Type, data: Uint8Array): Obj {
  try {
    return type.toObject(type.decode(data), TO_OBJECT) as Obj;
  } catch (e) {
    throw bad((e as Error).message);
  }
}

/** Inverse of encodeTreeCall; throws InvalidArgumentError on anything else. */
export function decodeTreeCall(data: Uint8Array): TreeRequest {
  const o = decodeWith(CallType, data);
  const from = o['from'];
  if (typeof from !== 'string' || from.length === 0) throw bad('no caller');
  const head = { type: 'tree' as const, from, partition: num(o, 'partition'), ringVersion: num(o, 'ringVersion') };
  const op = o['op'];
  const b = (typeof op === 'string' ? o[op] : undefined) as Obj | undefined;
  if (b === undefined || b === null) throw bad('no call');
  switch (op) {
    case 'root':
      return { ...head, call: { op: 'root' } };
    case 'segments':
      return { ...head, call: { op: 'segments', level: num(b, 'level'), indices: numbers(b, 'indices') } };
    case 'keysIn':
      return { ...head, call: { op: 'keys-in', segments: numbers(b, 'segments') } };
    case 'fetch':
      return { ...head, call: { op: 'fetch', keys: list(b, 'keys').map(key) } };
    case 'push':
      return { ...head, call: { op: 'push', records: recordsIn(b) } };
    default:
      throw bad(`unknown call ${String(op)}`);
  }
}

/** Inverse of encodeTreeAnswer; throws InvalidArgumentError on anything else. */
export function decodeTreeAnswer(data: Uint8Array): TreeAnswer {
  const o = decodeWith(AnswerType, data);
  const op = o['op'];
  const b = (typeof op === 'string' ? o[op] : undefined) as Obj | undefined;
  if (b === undefined || b === null) throw bad('no answer');
  switch (op) {
    case 'root':
      return { op: 'root', fanOut: num(b, 'fanOut'), depth: num(b, 'depth'), hash: hash(b['hash'], 'hash') };
    case 'segments':
      return { op: 'segments', hashes: list(b, 'hashes').map((h) => hash(h, 'hash')) };
    case 'keysIn':
      return { op: 'keys-in', entries: list(b, 'entries').map((e) => ({ key: key((e as Obj)['key']), digest: hash((e as Obj)['digest'], 'digest') })) };
    case 'fetch':
      return { op: 'fetch', records: recordsIn(b) };
    case 'push':
      return { op: 'push' };
    default:
      throw bad(`unknown answer ${String(op)}`);
  }
}
