import { expect } from 'chai';
import fc from 'fast-check';
import { decodeRecord, encodeRecord, RECORD_FORMAT_PROTOBUF_V1, type StoredObject, type StoredValue } from '../../../lib/storage/index.ts';
import { arbitraryObject, mutateEachByte, decodesOrCorruption as decodesOrCorruptionOf, expectCorruption as expectCorruptionOf, framed } from './codec-helpers.ts';

const enc = new TextEncoder();
const val = (s: string, writtenAtMs = 1_700_000_000_000, tombstone = false): StoredValue =>
  ({ data: enc.encode(s), tombstone, writtenAtMs });

const rawRecord = framed('dynamo.v1.StoredObject', RECORD_FORMAT_PROTOBUF_V1);
const expectCorruption = (bytes: Uint8Array, message?: RegExp): void => expectCorruptionOf(decodeRecord, bytes, message);
/** What decodeRecord does with garbage; whatever decoded must be valid enough to encode again. */
const decodesOrCorruption = (bytes: Uint8Array): 'ok' | 'corrupt' => decodesOrCorruptionOf(decodeRecord, bytes, (obj) => void encodeRecord(obj));

const examples: Array<[string, StoredObject]> = [
  ['empty object', { entries: [], anonymous: [] }],
  ['one value', { entries: [{ actor: 'n1.e1', counter: 1, values: [val('hello')] }], anonymous: [] }],
  ['siblings, tombstone and a counter ahead of its values', {
    entries: [
      { actor: 'n1.e1', counter: 7, values: [val('new', 20), val('', 10, true)] },
      { actor: 'n2.e9', counter: 3, values: [] },
      { actor: 'n3.é🙂', counter: 2 ** 40, values: [val('x', 0.5)] },
    ],
    anonymous: [val('legacy', 0), val('', 5, true)],
  }],
  ['largest safe counter', { entries: [{ actor: 'a', counter: Number.MAX_SAFE_INTEGER, values: [val('v')] }], anonymous: [] }],
];

describe('storage record codec', function () {
  describe('round trip', function () {
    for (const [name, obj] of examples) {
      it(`round-trips ${name}`, function () {
        const bytes = encodeRecord(obj);
        expect(bytes[0]).to.equal(RECORD_FORMAT_PROTOBUF_V1);
        expect(decodeRecord(bytes)).to.deep.equal(obj);
      });
    }

    it('preserves tombstones and their timestamps', function () {
      const obj: StoredObject = {
        entries: [{ actor: 'a', counter: 2, values: [val('', 123, true), val('live', 100, false)] }],
        anonymous: [],
      };
      const back = decodeRecord(encodeRecord(obj));
      expect(back.entries[0]!.values.map((v) => [v.tombstone, v.writtenAtMs])).to.deep.equal([[true, 123], [false, 100]]);
    });

    it('decodes data as plain Uint8Arrays, also from a Buffer', function () {
      const bytes = encodeRecord(examples[2]![1]);
      for (const input of [bytes, Buffer.from(bytes), new Uint8Array(bytes)]) {
        const back = decodeRecord(input);
        for (const v of [...back.entries.flatMap((e) => e.values), ...back.anonymous]) {
          expect(Object.getPrototypeOf(v.data)).to.equal(Uint8Array.prototype);
        }
        expect(back).to.deep.equal(examples[2]![1]);
      }
    });

    it('round-trips arbitrary valid objects, and re-encodes to the same bytes', function () {
      const object = arbitraryObject();
      fc.assert(fc.property(object, (obj) => {
        const bytes = encodeRecord(obj);
        const back = decodeRecord(bytes);
        expect(back).to.deep.equal(obj);
        expect(encodeRecord(back)).to.deep.equal(bytes);
      }), { numRuns: 300 });
    });
  });

  describe('corruption', function () {
    it('rejects empty input, unknown format tags and non-byte input', function () {
      expectCorruption(new Uint8Array(0), /empty/);
      const good = encodeRecord(examples[1]![1]);
      for (const tag of [0x00, 0x02, 0x7f, 0xff]) expectCorruption(Uint8Array.from([tag, ...good.subarray(1)]), /format tag/);
      expectCorruption('not bytes' as unknown as Uint8Array, /byte array/);
      expectCorruption(undefined as unknown as Uint8Array);
    });

    it('rejects truncated records: every prefix decodes validly or throws StorageCorruptionError', function () {
      const good = encodeRecord(examples[2]![1]);
      let corrupt = 0;
      for (let n = 1; n < good.length; n++) if (decodesOrCorruption(good.subarray(0, n)) === 'corrupt') corrupt++;
      // Cuts inside a field (most of them) must be detected.
      expect(corrupt).to.be.greaterThan(good.length / 2);
      // A cut in the middle of the first value's data.
      expectCorruption(good.subarray(0, good.indexOf(enc.encode('new')[0]!) + 1));
    });

    it('rejects well-formed protobuf that is not a valid object', function () {
      const v = { data: enc.encode('v'), tombstone: false, writtenAtMs: 1 };
      const cases: Array<[object, RegExp]> = [
        [{ entries: [{ actor: 'b', counter: 1 }, { actor: 'a', counter: 1 }] }, /not after/],
        [{ entries: [{ actor: 'a', counter: 1 }, { actor: 'a', counter: 2 }] }, /not after/],
        [{ entries: [{ actor: '', counter: 1 }] }, /empty actor/],
        [{ entries: [{ actor: 'a', counter: 0 }] }, /bad counter/],
        [{ entries: [{ actor: 'a' }] }, /bad counter/],
        [{ entries: [{ actor: 'a', counter: 1, values: [v, v] }] }, /holds 2 values/],
        [{ entries: [{ actor: 'a', counter: '9007199254740993' }] }, /bad counter/],
        [{ entries: [{ actor: 'a', counter: 1, values: [{ ...v, writtenAtMs: -1 }] }] }, /writtenAtMs/],
        [{ anonymous: [{ ...v, writtenAtMs: Number.NaN }] }, /writtenAtMs/],
        [{ anonymous: [{ ...v, writtenAtMs: Number.POSITIVE_INFINITY }] }, /writtenAtMs/],
      ];
      for (const [message, why] of cases) expectCorruption(rawRecord(message), why);
    });

    it('rejects malformed protobuf wire data', function () {
      const F = RECORD_FORMAT_PROTOBUF_V1;
      expectCorruption(Uint8Array.of(F, 0x0a, 0x7f), /does not decode/); // length beyond the end
      expectCorruption(Uint8Array.of(F, 0x0f), /does not decode/); // wire type 7
      expectCorruption(Uint8Array.of(F, 0x0a, 0x02, 0x10), /does not decode/); // entry with a truncated varint
      expectCorruption(Uint8Array.of(F, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff));
    });

    it('throws nothing but StorageCorruptionError on random bytes', function () {
      const framed = fc.uint8Array({ maxLength: 64 }).map((b) => Uint8Array.from([RECORD_FORMAT_PROTOBUF_V1, ...b]));
      fc.assert(fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), framed), (bytes) => {
        decodesOrCorruption(bytes);
      }), { numRuns: 2000 });
    });

    it('refuses an actor whose bytes are not valid UTF-8 (they would decode to a lone surrogate)', function () {
      // Invalid UTF-8 decodes to a string no valid record holds; encoding it again would not give these bytes.
      const actor = Uint8Array.from([0x6e, 0x31, 0xed, 0xa5, 0xb1]); // 'n1' + an encoded surrogate (invalid UTF-8)
      const good = encodeRecord({ entries: [{ actor: 'n1xyz', counter: 1, values: [val('v')] }], anonymous: [] });
      const at = Buffer.from(good).indexOf(Buffer.from('n1xyz'));
      const bad = Uint8Array.from(good);
      bad.set(actor, at);
      expectCorruption(bad, /actor is not valid UTF-8/);
      expect(() => encodeRecord({ entries: [{ actor: 'n1\udc00', counter: 1, values: [val('v')] }], anonymous: [] })).to.throw(/actor is not valid UTF-8/);
    });

    it('throws nothing but StorageCorruptionError on mutated valid records', function () {
      mutateEachByte(encodeRecord(examples[2]![1]), decodesOrCorruption);
    });
  });

  describe('encoding', function () {
    it('refuses to encode an invalid object (programmer error)', function () {
      const bad: StoredObject[] = [
        { entries: [{ actor: 'b', counter: 1, values: [] }, { actor: 'a', counter: 1, values: [] }], anonymous: [] },
        { entries: [{ actor: 'a', counter: 1, values: [val('x'), val('y')] }], anonymous: [] },
        { entries: [{ actor: 'a', counter: 1.5, values: [] }], anonymous: [] },
        { entries: [], anonymous: [val('x', Number.NaN)] },
      ];
      for (const obj of bad) {
        expect(() => encodeRecord(obj)).to.throw(/invalid StoredObject/);
      }
    });
  });
});
