/**
 * Record summaries: a stored object with each value known by a fingerprint
 * (tombstone flag, write time, length and a 32-bit hash of its bytes) instead
 * of its bytes. That is all a replica needs to know what a key holds as long
 * as it does not have to keep a value: the clock for a write whose context
 * covers every local value (the common overwrite) or for a replicated version
 * that supersedes the local copy, and the version digest for a digest read or
 * anti-entropy's trees (which hash exactly these fields). A disk engine keeps
 * the summary beside a value-log pointer (storage.ts, `getSummary`), so those
 * paths read a row of tens of bytes instead of a large value.
 *
 * The hash is the caller's (anti-entropy's VALUE_HASH, injected where the
 * summary is made), so a summary's fingerprints hash into the same version
 * digest as the whole object's.
 *
 * Format: byte 0x01, then protobuf `dynamo.v1.StoredSummary`
 * (protos/dynamo/v1/storage.proto). Summaries live only beside pointers of
 * this node's value log; a tag other than 0x01 or bytes that do not decode
 * are a StorageCorruptionError, and the caller reads the record instead.
 */
import protobuf from 'protobufjs';
import { StorageCorruptionError, assert } from '../runtime/index.ts';
import type { DvvSet } from '../vclock/index.ts';
import { shapeProblem, storageSchema, toNumber, type LongLike, type StoredObject, type StoredValue } from './record-codec.ts';

/** A value as a summary knows it: everything but its bytes, which are known by length and hash. */
export interface ValueFingerprint {
  readonly tombstone: boolean;
  readonly writtenAtMs: number;
  readonly dataBytes: number;
  /** The 32-bit hash of the bytes (uint32). */
  readonly dataHash: number;
}

/** A stored object known by its summary: its clock, and fingerprints for values. */
export type ObjectSummary = DvvSet<ValueFingerprint>;

/**
 * What a replica holds for a key as far as it read it: whole values, or
 * fingerprints where it read only the summary. Enough for the clock and the
 * version digest; a result that would keep a fingerprint as a value needs the
 * whole object read (see isWhole).
 */
export type HeldObject = DvvSet<StoredValue | ValueFingerprint>;

/** Format tag of summaries written by this build. */
export const SUMMARY_FORMAT_PROTOBUF_V1 = 0x01;

const StoredSummaryType = storageSchema.lookupType('dynamo.v1.StoredSummary');

export function isFingerprint(v: StoredValue | ValueFingerprint): v is ValueFingerprint {
  return (v as Partial<StoredValue>).data === undefined;
}

/** True when every value of `obj` is whole (no fingerprint): it can be stored, sent and returned. */
export function isWhole(obj: HeldObject): obj is StoredObject {
  for (const e of obj.entries) for (const v of e.values) if (isFingerprint(v)) return false;
  for (const v of obj.anonymous) if (isFingerprint(v)) return false;
  return true;
}

/** The fingerprint of a value (a fingerprint stays as it is). */
export function fingerprintOf(v: StoredValue | ValueFingerprint, hash: (data: Uint8Array) => number): ValueFingerprint {
  if (isFingerprint(v)) return v;
  return { tombstone: v.tombstone, writtenAtMs: v.writtenAtMs, dataBytes: v.data.length, dataHash: hash(v.data) >>> 0 };
}

/** Equal fingerprints: the same tombstone flag, write time (-0 is 0), length and hash. */
export function sameFingerprint(a: ValueFingerprint, b: ValueFingerprint): boolean {
  return a.tombstone === b.tombstone && a.writtenAtMs === b.writtenAtMs && a.dataBytes === b.dataBytes && a.dataHash === b.dataHash;
}

/** The summary bytes of `obj` (a valid object; an invalid one fails an assertion, as in encodeRecord). */
export function encodeSummary(obj: HeldObject, hash: (data: Uint8Array) => number): Uint8Array {
  const summary: ObjectSummary = {
    entries: obj.entries.map((e) => ({ actor: e.actor, counter: e.counter, values: e.values.map((v) => fingerprintOf(v, hash)) })),
    anonymous: obj.anonymous.map((v) => fingerprintOf(v, hash)),
  };
  const problem = shapeProblem(summary, fingerprintProblem);
  assert(problem === undefined, `encodeSummary: invalid object: ${problem}`);
  const writer = protobuf.Writer.create().uint32(SUMMARY_FORMAT_PROTOBUF_V1);
  return StoredSummaryType.encode(summary, writer).finish();
}

/** Decodes and validates a summary; StorageCorruptionError, and nothing else, for bytes encodeSummary could not have produced. */
export function decodeSummary(bytes: Uint8Array): ObjectSummary {
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw new StorageCorruptionError('summary is empty');
  if (bytes[0] !== SUMMARY_FORMAT_PROTOBUF_V1) {
    throw new StorageCorruptionError(`summary has unknown format tag 0x${bytes[0]!.toString(16).padStart(2, '0')}`);
  }
  let summary: ObjectSummary;
  try {
    const m = StoredSummaryType.decode(bytes.subarray(1)) as unknown as DecodedSummary;
    summary = {
      entries: m.entries.map((e) => ({ actor: e.actor, counter: toNumber(e.counter), values: e.values.map(fromFingerprint) })),
      anonymous: m.anonymous.map(fromFingerprint),
    };
  } catch (e) {
    throw new StorageCorruptionError(`summary does not decode: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  const problem = shapeProblem(summary, fingerprintProblem);
  if (problem !== undefined) throw new StorageCorruptionError(`summary is not a valid object: ${problem}`);
  return summary;
}

interface DecodedFingerprint { readonly tombstone: boolean; readonly writtenAtMs: number; readonly dataBytes: number; readonly dataHash: number }
interface DecodedSummary {
  readonly entries: readonly { readonly actor: string; readonly counter: number | LongLike; readonly values: readonly DecodedFingerprint[] }[];
  readonly anonymous: readonly DecodedFingerprint[];
}

function fromFingerprint(f: DecodedFingerprint): ValueFingerprint {
  return { tombstone: f.tombstone, writtenAtMs: f.writtenAtMs, dataBytes: f.dataBytes, dataHash: f.dataHash >>> 0 };
}

function fingerprintProblem(f: ValueFingerprint): string | undefined {
  if (typeof f.tombstone !== 'boolean') return 'tombstone is not a boolean';
  if (!Number.isFinite(f.writtenAtMs) || f.writtenAtMs < 0) return `bad writtenAtMs ${f.writtenAtMs}`;
  if (!Number.isSafeInteger(f.dataBytes) || f.dataBytes < 0) return `bad dataBytes ${f.dataBytes}`;
  if (!Number.isSafeInteger(f.dataHash) || f.dataHash < 0 || f.dataHash > 0xffffffff) return `bad dataHash ${f.dataHash}`;
  return undefined;
}
