import { expect } from 'chai';
import fc from 'fast-check';
import { valueHash, versionDigest } from '../../../lib/antientropy/index.ts';
import {
  decodeSummary, encodeRecord, encodeSummary, fingerprintOf, type HeldObject, isFingerprint, isWhole, type ObjectSummary, sameFingerprint,
  type StoredObject, type StoredValue, type ValueFingerprint,
} from '../../../lib/storage/index.ts';
import { SUMMARY_FORMAT_PROTOBUF_V1 } from '../../../lib/storage/record-summary.ts';
import { arbitraryObject, mutateEachByte, decodesOrCorruption as decodesOrCorruptionOf, expectCorruption as expectCorruptionOf, framed } from './codec-helpers.ts';

const enc = new TextEncoder();
const val = (s: string, writtenAtMs = 1_700_000_000_000, tombstone = false): StoredValue =>
  ({ data: enc.encode(s), tombstone, writtenAtMs });
const fp = (dataBytes: number, dataHash: number, writtenAtMs = 1, tombstone = false): ValueFingerprint =>
  ({ tombstone, writtenAtMs, dataBytes, dataHash });

/** A hash that is not VALUE_HASH, with values past 2^31 (returned signed, as Math.imul-style hashes may). */
const lengthHash = (data: Uint8Array): number => (data.length * 0x9e3779b1) | 0;

/** The summary `obj` should decode to under `hash`: every value by its fingerprint. */
function summarised(obj: HeldObject, hash: (d: Uint8Array) => number): ObjectSummary {
  const f = (v: StoredValue | ValueFingerprint): ValueFingerprint =>
    (isFingerprint(v) ? v : { tombstone: v.tombstone, writtenAtMs: v.writtenAtMs, dataBytes: v.data.length, dataHash: hash(v.data) >>> 0 });
  return { entries: obj.entries.map((e) => ({ actor: e.actor, counter: e.counter, values: e.values.map(f) })), anonymous: obj.anonymous.map(f) };
}

const rawSummary = framed('dynamo.v1.StoredSummary', SUMMARY_FORMAT_PROTOBUF_V1);
const expectCorruption = (bytes: Uint8Array, message?: RegExp): void => expectCorruptionOf(decodeSummary, bytes, message);
/** What decodeSummary does with garbage; whatever decoded is valid: it encodes again, to a summary that decodes to it. */
const decodesOrCorruption = (bytes: Uint8Array): 'ok' | 'corrupt' =>
  decodesOrCorruptionOf(decodeSummary, bytes, (summary) => expect(decodeSummary(encodeSummary(summary, () => 0))).to.deep.equal(summary));

const examples: Array<[string, StoredObject]> = [
  ['an empty object', { entries: [], anonymous: [] }],
  ['one value', { entries: [{ actor: 'n1.e1', counter: 1, values: [val('hello')] }], anonymous: [] }],
  ['siblings, tombstones, anonymous values and a counter ahead of its values', {
    entries: [
      { actor: 'n1.e1', counter: 7, values: [val('new', 20), val('', 10, true), val('x'.repeat(70_000), 5)] },
      { actor: 'n2.e9', counter: 3, values: [] },
      { actor: 'n3.é🙂', counter: 2 ** 40, values: [val('x', 0.5)] },
    ],
    anonymous: [val('legacy', 0), val('', 5, true), val('legacy', 0)],
  }],
  ['the largest safe counter', { entries: [{ actor: 'a', counter: Number.MAX_SAFE_INTEGER, values: [val('v')] }], anonymous: [] }],
];

describe('storage record summaries', function () {
  describe('round trip', function () {
    for (const [name, obj] of examples) {
      it(`round-trips ${name}: the clock as it is, each value as its fingerprint`, function () {
        for (const hash of [valueHash, lengthHash]) {
          const bytes = encodeSummary(obj, hash);
          expect(bytes[0]).to.equal(SUMMARY_FORMAT_PROTOBUF_V1).and.to.equal(0x01);
          const back = decodeSummary(bytes);
          expect(back).to.deep.equal(summarised(obj, hash));
          expect(encodeSummary(back, hash), 're-encodes to the same bytes').to.deep.equal(bytes);
        }
      });
    }

    it('fingerprints each value with the given hash, as fingerprintOf does, and nothing else', function () {
      const obj = examples[2]![1];
      const hashed: Uint8Array[] = [];
      const hash = (d: Uint8Array): number => {
        hashed.push(d);
        return lengthHash(d);
      };
      const back = decodeSummary(encodeSummary(obj, hash));
      const whole = [...obj.entries.flatMap((e) => e.values), ...obj.anonymous];
      expect(hashed, 'each value hashed once, its own bytes').to.deep.equal(whole.map((v) => v.data));
      const got = [...back.entries.flatMap((e) => e.values), ...back.anonymous];
      expect(got).to.deep.equal(whole.map((v) => fingerprintOf(v, lengthHash)));
      expect(got[2]).to.deep.equal({ tombstone: false, writtenAtMs: 5, dataBytes: 70_000, dataHash: lengthHash(new Uint8Array(70_000)) >>> 0 });
      expect(got.every((f) => f.dataHash >= 0 && f.dataHash <= 0xffff_ffff), 'hashes are uint32').to.equal(true);
      expect(got[1]).to.deep.equal({ tombstone: true, writtenAtMs: 10, dataBytes: 0, dataHash: lengthHash(new Uint8Array(0)) >>> 0 });
    });

    it('keeps fingerprints of a held object as they are (never hashing them)', function () {
      const held: HeldObject = {
        entries: [{ actor: 'a', counter: 2, values: [fp(100, 0xffff_ffff, 3), val('whole', 4)] }],
        anonymous: [fp(0, 0, 0, true)],
      };
      let calls = 0;
      const back = decodeSummary(encodeSummary(held, (d) => {
        calls++;
        return valueHash(d);
      }));
      expect(calls).to.equal(1);
      expect(back).to.deep.equal({
        entries: [{ actor: 'a', counter: 2, values: [fp(100, 0xffff_ffff, 3), fp(5, valueHash(enc.encode('whole')), 4)] }],
        anonymous: [fp(0, 0, 0, true)],
      });
    });

    it('digests like the whole object when made with VALUE_HASH (and not with another hash)', function () {
      for (const [name, obj] of examples) {
        expect(versionDigest(decodeSummary(encodeSummary(obj, valueHash))), name).to.deep.equal(versionDigest(obj));
      }
      const obj = examples[1]![1];
      expect(versionDigest(decodeSummary(encodeSummary(obj, lengthHash)))).to.not.deep.equal(versionDigest(obj));
    });

    it('round-trips arbitrary valid objects, and re-encodes to the same bytes', function () {
      const object = arbitraryObject();
      fc.assert(fc.property(object, (obj) => {
        const bytes = encodeSummary(obj, valueHash);
        const back = decodeSummary(bytes);
        expect(back).to.deep.equal(summarised(obj, valueHash));
        expect(encodeSummary(back, valueHash)).to.deep.equal(bytes);
        expect(versionDigest(back)).to.deep.equal(versionDigest(obj));
      }), { numRuns: 300 });
    });

    it('is much smaller than the record for large values', function () {
      const obj: StoredObject = { entries: [{ actor: 'n1.e1', counter: 3, values: [val('v'.repeat(64 * 1024), 1), val('w'.repeat(64 * 1024), 2)] }], anonymous: [] };
      expect(encodeSummary(obj, valueHash).length).to.be.below(100);
      expect(encodeRecord(obj).length).to.be.above(128 * 1024);
    });
  });

  describe('held objects', function () {
    it('isFingerprint and isWhole tell fingerprints from whole values, wherever they are', function () {
      expect(isFingerprint(val('x'))).to.equal(false);
      expect(isFingerprint(val('', 0, true)), 'a tombstone is whole too').to.equal(false);
      expect(isFingerprint(fp(1, 2))).to.equal(true);
      for (const [name, obj] of examples) expect(isWhole(obj), name).to.equal(true);
      expect(isWhole({ entries: [{ actor: 'a', counter: 2, values: [val('x'), fp(1, 2)] }], anonymous: [] })).to.equal(false);
      expect(isWhole({ entries: [{ actor: 'a', counter: 1, values: [val('x')] }, { actor: 'b', counter: 1, values: [fp(1, 2)] }], anonymous: [] })).to.equal(false);
      expect(isWhole({ entries: [{ actor: 'a', counter: 1, values: [val('x')] }], anonymous: [fp(0, 0, 0, true)] })).to.equal(false);
      expect(isWhole(decodeSummary(encodeSummary(examples[1]![1], valueHash))), 'a decoded summary with values').to.equal(false);
      expect(isWhole(decodeSummary(encodeSummary(examples[0]![1], valueHash))), 'nothing held is nothing missing').to.equal(true);
    });

    it('fingerprintOf hashes whole values (as uint32) and returns fingerprints unchanged', function () {
      const v = val('abc', 9, false);
      expect(fingerprintOf(v, valueHash)).to.deep.equal(fp(3, valueHash(v.data), 9));
      expect(fingerprintOf(v, () => -1)).to.deep.equal(fp(3, 0xffff_ffff, 9));
      const f = fp(7, 8, 9, true);
      let calls = 0;
      expect(fingerprintOf(f, () => ++calls)).to.equal(f);
      expect(calls).to.equal(0);
    });

    it('sameFingerprint compares every field, and -0 equals 0', function () {
      const a = fp(10, 0xdead_beef, 5, false);
      expect(sameFingerprint(a, { ...a })).to.equal(true);
      expect(sameFingerprint(fp(1, 2, 0), fp(1, 2, -0))).to.equal(true);
      for (const other of [{ ...a, tombstone: true }, { ...a, writtenAtMs: 6 }, { ...a, dataBytes: 11 }, { ...a, dataHash: 0xdead_beee }]) {
        expect(sameFingerprint(a, other), JSON.stringify(other)).to.equal(false);
        expect(sameFingerprint(other, a)).to.equal(false);
      }
    });
  });

  describe('corruption', function () {
    it('rejects empty input, unknown format tags and non-byte input', function () {
      expectCorruption(new Uint8Array(0), /empty/);
      const good = encodeSummary(examples[1]![1], valueHash);
      for (const tag of [0x00, 0x02, 0x7f, 0xfd, 0xfe, 0xff]) expectCorruption(Uint8Array.from([tag, ...good.subarray(1)]), /format tag/);
      expectCorruption('not bytes' as unknown as Uint8Array);
      expectCorruption(undefined as unknown as Uint8Array);
      expectCorruption([1, 2, 3] as unknown as Uint8Array);
    });

    it('rejects truncated summaries: every prefix decodes validly or throws StorageCorruptionError', function () {
      const good = encodeSummary(examples[2]![1], valueHash);
      let corrupt = 0;
      for (let n = 1; n < good.length; n++) if (decodesOrCorruption(good.subarray(0, n)) === 'corrupt') corrupt++;
      expect(corrupt).to.be.greaterThan(good.length / 2);
      // Cut inside the first fingerprint's fixed32 hash and inside its double.
      const one = encodeSummary({ entries: [], anonymous: [val('abc', 1.5)] }, valueHash);
      expectCorruption(one.subarray(0, one.length - 2), /does not decode/);
      expectCorruption(one.subarray(0, 6), /does not decode/);
    });

    it('rejects well-formed protobuf that is not a valid object: unsorted or repeated actors, bad counters and fingerprints', function () {
      const f = { tombstone: false, writtenAtMs: 1, dataBytes: 1, dataHash: 1 };
      const cases: Array<[object, RegExp]> = [
        [{ entries: [{ actor: 'b', counter: 1 }, { actor: 'a', counter: 1 }] }, /not after/],
        [{ entries: [{ actor: 'a', counter: 1 }, { actor: 'c', counter: 1 }, { actor: 'b', counter: 1 }] }, /not after/],
        [{ entries: [{ actor: 'a', counter: 1 }, { actor: 'a', counter: 2 }] }, /not after/],
        [{ entries: [{ actor: '', counter: 1 }] }, /empty actor/],
        [{ entries: [{ actor: 'a', counter: 0 }] }, /bad counter/],
        [{ entries: [{ actor: 'a' }] }, /bad counter/],
        [{ entries: [{ actor: 'a', counter: '9007199254740993' }] }, /bad counter/],
        [{ entries: [{ actor: 'a', counter: 1, values: [f, f] }] }, /holds 2 values/],
        [{ entries: [{ actor: 'a', counter: 1, values: [{ ...f, writtenAtMs: -1 }] }] }, /writtenAtMs/],
        [{ anonymous: [{ ...f, writtenAtMs: Number.NaN }] }, /writtenAtMs/],
        [{ anonymous: [{ ...f, writtenAtMs: Number.POSITIVE_INFINITY }] }, /writtenAtMs/],
      ];
      for (const [message, why] of cases) expectCorruption(rawSummary(message), why);
      // The same messages minus the fault decode.
      expect(decodeSummary(rawSummary({ entries: [{ actor: 'a', counter: 1 }, { actor: 'b', counter: 1 }] })).entries.map((e) => e.actor)).to.deep.equal(['a', 'b']);
    });

    it('rejects malformed protobuf wire data', function () {
      const F = SUMMARY_FORMAT_PROTOBUF_V1;
      expectCorruption(Uint8Array.of(F, 0x0a, 0x7f), /does not decode/); // length beyond the end
      expectCorruption(Uint8Array.of(F, 0x0f), /does not decode/); // wire type 7
      expectCorruption(Uint8Array.of(F, 0x0a, 0x02, 0x10), /does not decode/); // entry with a truncated varint
      expectCorruption(Uint8Array.of(F, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
    });

    it('throws nothing but StorageCorruptionError on random bytes', function () {
      const framed = fc.uint8Array({ maxLength: 64 }).map((b) => Uint8Array.from([SUMMARY_FORMAT_PROTOBUF_V1, ...b]));
      let corrupt = 0;
      fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), framed), (bytes) => {
        if (decodesOrCorruption(bytes) === 'corrupt') corrupt++;
      }), { numRuns: 2000 });
      expect(corrupt, 'most garbage is refused').to.be.above(1000);
    });

    it('refuses an actor whose bytes are not valid UTF-8 (they would decode to a lone surrogate)', function () {
      // fast-check found it: byte 7 of this summary xor 195 turns 'n1.e1' into 'n1' + a lone surrogate.
      const bad = Uint8Array.from(encodeSummary(examples[2]![1], valueHash));
      bad[7]! ^= 195;
      expectCorruption(bad, /actor is not valid UTF-8/);
      expectCorruption(rawSummary({ entries: [{ actor: '\ud971', counter: 1, values: [] }] }), /actor is not valid UTF-8/);
    });

    it('throws nothing but StorageCorruptionError on mutated valid summaries', function () {
      mutateEachByte(encodeSummary(examples[2]![1], valueHash), decodesOrCorruption);
    });
  });

  describe('encoding', function () {
    it('refuses to encode an invalid object (programmer error)', function () {
      const bad: HeldObject[] = [
        { entries: [{ actor: 'b', counter: 1, values: [] }, { actor: 'a', counter: 1, values: [] }], anonymous: [] },
        { entries: [{ actor: 'a', counter: 1, values: [val('x'), fp(1, 1)] }], anonymous: [] },
        { entries: [{ actor: 'a', counter: 1.5, values: [] }], anonymous: [] },
        { entries: [], anonymous: [val('x', Number.NaN)] },
        { entries: [], anonymous: [fp(-1, 0)] },
        { entries: [], anonymous: [fp(1, 2 ** 32)] },
      ];
      for (const obj of bad) expect(() => encodeSummary(obj, valueHash), JSON.stringify(obj)).to.throw(/invalid object/);
    });
  });
});
