/** Shared by the record and summary codec tests: raw framed messages, and what a decoder may do with bad bytes. */
import { expect } from 'chai';
import fc from 'fast-check';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { StorageCorruptionError } from '../../../lib/runtime/index.ts';
import type { StoredObject } from '../../../lib/storage/index.ts';

const schema = protobuf.loadSync(fileURLToPath(new URL('../../../protos/dynamo/v1/storage.proto', import.meta.url)));

/** Bytes for an arbitrary (possibly invalid) message of `type`, framed by a format tag as the codecs frame theirs. */
export function framed(type: string, tag: number): (message: object) => Uint8Array {
  const t = schema.lookupType(type);
  return (message) => Uint8Array.from([tag, ...t.encode(message).finish()]);
}

/** `decode(bytes)` throws StorageCorruptionError (with a message matching `message`, if given). */
export function expectCorruption(decode: (bytes: Uint8Array) => unknown, bytes: Uint8Array, message?: RegExp): void {
  let error: unknown;
  try {
    decode(bytes);
  } catch (e) {
    error = e;
  }
  expect(error, 'the decoder threw').to.be.instanceOf(StorageCorruptionError);
  if (message) expect((error as Error).message).to.match(message);
}

/**
 * A decoder on garbage may succeed (the bytes happen to be valid) or throw
 * StorageCorruptionError, nothing else; `check` runs on what decoded.
 */
export function decodesOrCorruption<T>(decode: (bytes: Uint8Array) => T, bytes: Uint8Array, check: (decoded: T) => void): 'ok' | 'corrupt' {
  try {
    check(decode(bytes));
    return 'ok';
  } catch (e) {
    if (e instanceof StorageCorruptionError) return 'corrupt';
    throw e;
  }
}

/** Arbitrary valid stored objects: sorted distinct actors, counters at least their value counts, some anonymous values. */
export function arbitraryObject(): fc.Arbitrary<StoredObject> {
  const value = fc.record({
    data: fc.uint8Array({ maxLength: 40 }),
    tombstone: fc.boolean(),
    writtenAtMs: fc.double({ min: 0, max: 1e15, noNaN: true, noDefaultInfinity: true }).map((x) => x + 0),
  });
  const entryBody = fc.tuple(fc.array(value, { maxLength: 4 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER - 4 }));
  return fc.tuple(
    fc.uniqueArray(fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }), { maxLength: 5 }),
    fc.array(entryBody, { minLength: 5, maxLength: 5 }),
    fc.array(value, { maxLength: 3 }),
  ).map(([actors, bodies, anonymous]): StoredObject => ({
    entries: [...actors].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((actor, i) => {
      const [values, extra] = bodies[i]!;
      return { actor, counter: Math.max(1, values.length + extra), values };
    }),
    anonymous,
  }));
}

/** Runs `decode` on 1,000 copies of `good`, each with one byte xor-ed by a random non-zero mask. */
export function mutateEachByte(good: Uint8Array, decode: (bytes: Uint8Array) => unknown): void {
  fc.assert(fc.property(fc.nat({ max: good.length - 1 }), fc.integer({ min: 1, max: 255 }), (at, xor) => {
    const bad = Uint8Array.from(good);
    bad[at]! ^= xor;
    decode(bad);
  }), { numRuns: 1000 });
}
