/** Test helpers shared by the antientropy unit, property and benchmark code (not a test file). */
import { decodeRecord, encodeRecord, type StoredObject, type StoredValue } from '../../../lib/storage/index.ts';
import { Dvv } from '../../../lib/vclock/index.ts';
import { versionDigest, type ExchangeLimits, type RecordOps } from '../../../lib/antientropy/index.ts';

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Real records: the record codec's bytes, digested and merged as the node does (Dvv.sync). */
export const REAL_RECORDS: RecordOps = {
  digestOf: (record) => versionDigest(decodeRecord(record)),
  merge: (local, incoming) => (local === undefined ? incoming : encodeRecord(Dvv.sync(decodeRecord(local), decodeRecord(incoming)))),
};

export function value(data: string, writtenAtMs = 1, tombstone = false): StoredValue {
  return { data: utf8(data), tombstone, writtenAtMs };
}

export function tombstone(writtenAtMs: number): StoredValue {
  return { data: new Uint8Array(0), tombstone: true, writtenAtMs };
}

/** A DVV object from [actor, counter, values newest first] rows (actors ascending). */
export function object(...entries: Array<[string, number, StoredValue[]]>): StoredObject {
  return { entries: entries.map(([actor, counter, values]) => ({ actor, counter, values })), anonymous: [] };
}

/** Generous limits: nothing in a small test is cut short. */
export const WIDE_LIMITS: ExchangeLimits = {
  segmentsPerExchangeMax: 1 << 20,
  keysPerExchangeMax: 1 << 20,
  keysPerCallMax: 64,
  callBytesMax: 1 << 20,
};
