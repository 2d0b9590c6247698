/**
 * Record codec: a key's stored object (a DVV set of StoredValues) <-> the
 * bytes kept in the storage engine. Binary only (protobuf; schema in
 * protos/dynamo/v1/storage.proto, loaded once at module load).
 *
 * Format: byte 0 is a format tag, the rest depends on it.
 *   0x01  protobuf `dynamo.v1.StoredObject`
 * The tag lets a later build change the encoding wholesale (e.g. compression)
 * while still reading old records; within 0x01 the schema evolves append-only.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { StorageCorruptionError, assert } from '../runtime/index.ts';
import type { DvvEntry, DvvSet } from '../vclock/index.ts';

/** One sibling as stored: the client's bytes, or a tombstone marking a delete. */
export interface StoredValue {
  readonly data: Uint8Array;
  readonly tombstone: boolean;
  /** Coordinator wall-clock write time (ms since the Unix epoch); finite, >= 0. */
  readonly writtenAtMs: number;
}

/** Everything stored under one key: its DVV set of values. */
export type StoredObject = DvvSet<StoredValue>;

/** Format tag of records written by this build (see header). */
export const RECORD_FORMAT_PROTOBUF_V1 = 0x01;

const PROTO_PATH = fileURLToPath(new URL('../../protos/dynamo/v1/storage.proto', import.meta.url));
/** The storage schema (record-summary.ts looks up its message here too). */
export const storageSchema = protobuf.loadSync(PROTO_PATH);
const StoredObjectType = storageSchema.lookupType('dynamo.v1.StoredObject');

/**
 * Encodes a valid StoredObject. An invalid one (unsorted actors, counter below
 * its value count, ...) is a programmer error and fails an assertion, so no
 * record that decodeRecord would refuse is ever written.
 */
export function encodeRecord(obj: StoredObject): Uint8Array {
  const problem = shapeProblem(obj, valueProblem);
  assert(problem === undefined, `encodeRecord: invalid StoredObject: ${problem}`);
  // The format tag is a one-byte varint, so the whole record is one allocation.
  const writer = protobuf.Writer.create().uint32(RECORD_FORMAT_PROTOBUF_V1);
  return StoredObjectType.encode(obj, writer).finish();
}

/**
 * Decodes and validates a record. Throws StorageCorruptionError — and nothing
 * else — for any bytes encodeRecord could not have produced. Returned `data`
 * arrays are views into `bytes` (no copy): the caller owns both.
 */
export function decodeRecord(bytes: Uint8Array): StoredObject {
  if (!(bytes instanceof Uint8Array)) throw new StorageCorruptionError('record is not a byte array');
  if (bytes.length === 0) throw new StorageCorruptionError('record is empty');
  if (bytes[0] !== RECORD_FORMAT_PROTOBUF_V1) {
    throw new StorageCorruptionError(`record has unknown format tag 0x${bytes[0]!.toString(16).padStart(2, '0')}`);
  }
  let obj: StoredObject;
  try {
    obj = fromMessage(StoredObjectType.decode(bytes.subarray(1)) as unknown as DecodedObject);
  } catch (e) {
    if (e instanceof StorageCorruptionError) throw e;
    throw new StorageCorruptionError(`record does not decode: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const problem = shapeProblem(obj, valueProblem);
  if (problem !== undefined) throw new StorageCorruptionError(`record is not a valid object: ${problem}`);
  return obj;
}

// protobufjs message instances as decoded (uint64 may come back as a Long).
export interface LongLike { readonly low: number; readonly high: number }
interface DecodedValue { readonly data: Uint8Array; readonly tombstone: boolean; readonly writtenAtMs: number }
interface DecodedEntry { readonly actor: string; readonly counter: number | LongLike; readonly values: readonly DecodedValue[] }
interface DecodedObject { readonly entries: readonly DecodedEntry[]; readonly anonymous: readonly DecodedValue[] }

function fromMessage(m: DecodedObject): StoredObject {
  const entries: DvvEntry<StoredValue>[] = new Array(m.entries.length);
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i]!;
    entries[i] = { actor: e.actor, counter: toNumber(e.counter), values: e.values.map(fromValue) };
  }
  return { entries, anonymous: m.anonymous.map(fromValue) };
}

function fromValue(v: DecodedValue): StoredValue {
  // Node's protobufjs hands out Buffer slices (or a shared empty default);
  // give callers plain Uint8Array views so values compare and copy uniformly.
  const d = v.data;
  const data = d.length === 0 ? new Uint8Array(0) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  return { data, tombstone: v.tombstone, writtenAtMs: v.writtenAtMs };
}

export function toNumber(n: number | LongLike): number {
  if (typeof n === 'number') return n;
  const high = n.high >>> 0;
  // Above 2^53 the counter cannot be held exactly; shapeProblem rejects NaN.
  if (high > 0x1fffff) return Number.NaN;
  return high * 0x1_0000_0000 + (n.low >>> 0);
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `obj` is not a valid DVV set of valid values, or undefined when it is. */
export function shapeProblem<V>(obj: DvvSet<V>, valueProblem: (v: V) => string | undefined): string | undefined {
  let previousActor: string | undefined;
  for (let i = 0; i < obj.entries.length; i++) {
    const e = obj.entries[i]!;
    if (typeof e.actor !== 'string' || e.actor.length === 0) return `entry ${i} has an empty actor`;
    // protobufjs decodes invalid UTF-8 to lone surrogates, which no encoded actor holds (they encode as U+FFFD).
    if (LONE_SURROGATE.test(e.actor)) return `entry ${i} actor is not valid UTF-8`;
    if (previousActor !== undefined && !(previousActor < e.actor)) {
      return `entry ${i} actor '${e.actor}' is not after '${previousActor}'`;
    }
    previousActor = e.actor;
    if (!Number.isSafeInteger(e.counter) || e.counter < 1) return `entry ${i} has bad counter ${e.counter}`;
    if (e.values.length > e.counter) return `entry ${i} holds ${e.values.length} values but counter is ${e.counter}`;
    for (let j = 0; j < e.values.length; j++) {
      const p = valueProblem(e.values[j]!);
      if (p !== undefined) return `entry ${i} value ${j}: ${p}`;
    }
  }
  for (let j = 0; j < obj.anonymous.length; j++) {
    const p = valueProblem(obj.anonymous[j]!);
    if (p !== undefined) return `anonymous value ${j}: ${p}`;
  }
  return undefined;
}

function valueProblem(v: StoredValue): string | undefined {
  if (!(v.data instanceof Uint8Array)) return 'data is not a byte array';
  if (typeof v.tombstone !== 'boolean') return 'tombstone is not a boolean';
  if (!Number.isFinite(v.writtenAtMs) || v.writtenAtMs < 0) return `bad writtenAtMs ${v.writtenAtMs}`;
  return undefined;
}
