import { expect } from 'chai';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';
import { LIMITS } from '../../../lib/protocol/index.ts';
import { decodeContext, encodeContext, keyFingerprint, type VersionVector } from '../../../lib/vclock/index.ts';

const vv = (...pairs: [string, number][]): VersionVector => pairs.map(([actor, counter]) => ({ actor, counter }));
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
/** The key every context in this file is bound to, and its fingerprint. */
const KEY = new TextEncoder().encode('cart:42');
const FP = [...keyFingerprint(KEY)];
/** A version-2 context for KEY: version byte, fingerprint, then `rest` (entry count and entries). */
const ctx = (...rest: number[]): Uint8Array => Uint8Array.from([2, ...FP, ...rest]);
/** keyFingerprint(KEY) as pinned when format 2 was introduced. */
const GOLDEN_FP = '441a012bdc79d60d';

/** Asserts decodeContext refuses `input` with an InvalidArgumentError whose message matches `pattern`. */
function expectRejected(input: Uint8Array, pattern: RegExp): void {
  let thrown: unknown;
  try {
    decodeContext(input, KEY);
  } catch (e) {
    thrown = e;
  }
  expect(thrown).to.be.instanceOf(InvalidArgumentError);
  const error = thrown as InvalidArgumentError;
  expect(error.code).to.equal('DYNAMO_INVALID_ARGUMENT');
  expect(error.message).to.match(pattern);
}

describe('vclock context codec', () => {
  it('empty vector <-> empty bytes', () => {
    expect(encodeContext([], KEY)).to.deep.equal(new Uint8Array(0));
    expect(decodeContext(new Uint8Array(0), KEY)).to.deep.equal([]);
  });

  it('encodes the documented layout: version, key fingerprint, count, then (length, UTF-8 actor, counter) per entry', () => {
    // 300 = 0b10_0101100 -> LEB128 0xac 0x02
    expect(encodeContext(vv(['a', 1], ['bb', 300]), KEY)).to.deep.equal(ctx(2, 1, 0x61, 1, 2, 0x62, 0x62, 0xac, 0x02));
    expect(encodeContext(vv(['é', 127]), KEY)).to.deep.equal(ctx(1, 2, 0xc3, 0xa9, 0x7f));
  });

  it('pins the key fingerprint (changing it would invalidate every context in clients)', () => {
    expect(Buffer.from(keyFingerprint(KEY)).toString('hex')).to.equal(GOLDEN_FP);
    expect(keyFingerprint(new TextEncoder().encode('cart:43'))).to.not.deep.equal(keyFingerprint(KEY));
  });

  it('refuses a context read for another key, and a version-1 (unbound) context, saying what to do', () => {
    const other = new TextEncoder().encode('cart:43');
    const good = encodeContext(vv(['n1.e1', 3]), other);
    expectRejected(good, /^context was read for a different key; pass the context returned by a get or put of this same key/);
    expectRejected(Uint8Array.of(1, 1, 1, 0x61, 1), /format version 1, which is not bound to a key .* read the key again/);
    expect(decodeContext(good, other)).to.deep.equal(vv(['n1.e1', 3]));
  });

  it('round-trips concrete vectors, including the largest safe counter', () => {
    const cases: VersionVector[] = [
      vv(['n1.e1', 1]),
      vv(['n1.e1', 5], ['n2.e1', 128], ['n3.e9', Number.MAX_SAFE_INTEGER]),
      vv(['\uFEFFbom', 3]), // a leading BOM is part of the actor, not stripped
      vv(['\u{1F600}', 1], ['\uE000', 2]), // UTF-16 order, which differs from UTF-8 byte order here
    ];
    for (const c of cases) expect(decodeContext(encodeContext(c, KEY), KEY)).to.deep.equal(c);
  });

  it('rejects an unknown format version', () => {
    expectRejected(bytes(3, 1, 1, 0x61, 1), /unsupported format version 3 \(expected 2\) at byte 0/);
    expectRejected(bytes(0), /unsupported format version 0/);
  });

  it('rejects truncated input, naming the offset and how to fix it', () => {
    const good = encodeContext(vv(['alpha', 7], ['beta', 9]), KEY);
    for (let len = 1; len < good.length; len++) {
      expectRejected(good.subarray(0, len), /^context is malformed: .*; pass the context bytes returned by get\/put unchanged/);
    }
    expectRejected(ctx(1, 5, 0x61, 0x62, 1), /truncated inside the actor of entry 1 at byte 14|cannot fit/);
    expectRejected(ctx(1, 1, 0x61, 0x80), /truncated inside the counter of entry 1 at byte 13/);
    expectRejected(bytes(2, ...FP), /truncated inside the entry count at byte 9/);
    expectRejected(bytes(2, 1, 2), /truncated inside the key fingerprint at byte 3/);
  });

  it('rejects trailing bytes', () => {
    const good = encodeContext(vv(['a', 1]), KEY);
    expectRejected(Uint8Array.from([...good, 0]), /1 trailing bytes after the last entry at byte 13/);
  });

  it('rejects unsorted and duplicate actors', () => {
    expectRejected(ctx(2, 1, 0x62, 1, 1, 0x61, 1), /actor of entry 2 is not after the previous one/);
    expectRejected(ctx(2, 1, 0x61, 1, 1, 0x61, 2), /actor of entry 2 repeats the previous entry's/);
    // UTF-8 byte order is not the contract: U+E000 sorts after U+1F600 in UTF-16.
    const utf8Ordered = ctx(2, 3, 0xee, 0x80, 0x80, 1, 4, 0xf0, 0x9f, 0x98, 0x80, 1);
    expectRejected(utf8Ordered, /not after the previous one/);
  });

  it('rejects zero counters, empty actors and a zero entry count', () => {
    expectRejected(ctx(1, 1, 0x61, 0), /the counter of entry 1 is 0 at byte 12/);
    expectRejected(ctx(1, 0, 1, 1), /entry 1 has an empty actor at byte 10/);
    expectRejected(ctx(0), /entry count is 0 \(an empty context must be empty bytes\)/);
  });

  it('rejects counters above Number.MAX_SAFE_INTEGER and oversized varints', () => {
    // 2^53 = LEB128 80 80 80 80 80 80 80 10
    expectRejected(ctx(1, 1, 0x61, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10), /counter of entry 1 is above 9007199254740991/);
    expectRejected(ctx(1, 1, 0x61, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), /above 9007199254740991/);
    // 2^53 - 1 is accepted
    const max = ctx(1, 1, 0x61, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f);
    expect(decodeContext(max, KEY)).to.deep.equal(vv(['a', Number.MAX_SAFE_INTEGER]));
  });

  it('rejects non-canonical (overlong) varints so every context has one encoding', () => {
    expectRejected(ctx(1, 1, 0x61, 0x81, 0x00), /counter of entry 1 uses a non-canonical varint at byte 12/);
    expectRejected(ctx(0x81, 0x00, 1, 0x61, 1), /entry count uses a non-canonical varint/);
  });

  it('rejects absurd entry counts before allocating anything', () => {
    expectRejected(ctx(0xff, 0xff, 0xff, 0xff, 0x0f, 1, 0x61, 1), /entry count 4294967295 cannot fit in the 3 bytes that follow/);
    expectRejected(ctx(2, 1, 0x61, 1), /entry count 2 cannot fit/);
  });

  it('rejects invalid UTF-8 in an actor', () => {
    expectRejected(ctx(1, 1, 0xff, 1), /the actor of entry 1 is not valid UTF-8 at byte 11/);
    expectRejected(ctx(1, 3, 0xed, 0xa0, 0x80, 1), /not valid UTF-8/); // encoded lone surrogate
    expectRejected(ctx(1, 2, 0xc0, 0x80, 1), /not valid UTF-8/); // overlong NUL
  });

  it('rejects contexts above LIMITS.contextBytesMax', () => {
    const big = new Uint8Array(LIMITS.contextBytesMax + 1);
    big[0] = 2;
    expectRejected(big, new RegExp(`above the limit of ${LIMITS.contextBytesMax}`));
  });

  it('rejects a non-byte argument with InvalidArgumentError', () => {
    expectRejected('abc' as unknown as Uint8Array, /context must be bytes/);
    expectRejected(null as unknown as Uint8Array, /context must be bytes \(Uint8Array\), got null/);
  });

  it('accepts a Buffer (a Uint8Array subclass)', () => {
    expect(decodeContext(Buffer.from(encodeContext(vv(['a', 2]), KEY)), KEY)).to.deep.equal(vv(['a', 2]));
  });

  it('asserts when asked to encode an invalid vector', () => {
    expect(() => encodeContext(vv(['b', 1], ['a', 1]), KEY)).to.throw(/assertion failed/);
    expect(() => encodeContext(vv(['\uD800', 1]), KEY)).to.throw(/not well-formed/);
  });
});
