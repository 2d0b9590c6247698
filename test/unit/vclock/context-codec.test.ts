import { expect } from 'chai';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';
import { LIMITS } from '../../../lib/protocol/index.ts';
import { decodeContext, encodeContext, type VersionVector } from '../../../lib/vclock/index.ts';

const vv = (...pairs: [string, number][]): VersionVector => pairs.map(([actor, counter]) => ({ actor, counter }));
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

/** Asserts decodeContext refuses `input` with an InvalidArgumentError whose message matches `pattern`. */
function expectRejected(input: Uint8Array, pattern: RegExp): void {
  let thrown: unknown;
  try {
    decodeContext(input);
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
    expect(encodeContext([])).to.deep.equal(new Uint8Array(0));
    expect(decodeContext(new Uint8Array(0))).to.deep.equal([]);
  });

  it('encodes the documented layout: version, count, then (length, UTF-8 actor, counter) per entry', () => {
    // 300 = 0b10_0101100 -> LEB128 0xac 0x02
    expect(encodeContext(vv(['a', 1], ['bb', 300]))).to.deep.equal(bytes(1, 2, 1, 0x61, 1, 2, 0x62, 0x62, 0xac, 0x02));
    expect(encodeContext(vv(['é', 127]))).to.deep.equal(bytes(1, 1, 2, 0xc3, 0xa9, 0x7f));
  });

  it('round-trips concrete vectors, including the largest safe counter', () => {
    const cases: VersionVector[] = [
      vv(['n1.e1', 1]),
      vv(['n1.e1', 5], ['n2.e1', 128], ['n3.e9', Number.MAX_SAFE_INTEGER]),
      vv(['\uFEFFbom', 3]), // a leading BOM is part of the actor, not stripped
      vv(['\u{1F600}', 1], ['\uE000', 2]), // UTF-16 order, which differs from UTF-8 byte order here
    ];
    for (const c of cases) expect(decodeContext(encodeContext(c))).to.deep.equal(c);
  });

  it('rejects an unknown format version', () => {
    expectRejected(bytes(2, 1, 1, 0x61, 1), /unsupported format version 2 \(expected 1\) at byte 0/);
    expectRejected(bytes(0), /unsupported format version 0/);
  });

  it('rejects truncated input, naming the offset and how to fix it', () => {
    const good = encodeContext(vv(['alpha', 7], ['beta', 9]));
    for (let len = 1; len < good.length; len++) {
      expectRejected(good.subarray(0, len), /^context is malformed: .*; pass the context bytes returned by get\/put unchanged/);
    }
    expectRejected(bytes(1, 1, 5, 0x61, 0x62, 1), /truncated inside the actor of entry 1 at byte 6|cannot fit/);
    expectRejected(bytes(1, 1, 1, 0x61, 0x80), /truncated inside the counter of entry 1 at byte 5/);
    expectRejected(bytes(1), /truncated inside the entry count at byte 1/);
  });

  it('rejects trailing bytes', () => {
    const good = encodeContext(vv(['a', 1]));
    expectRejected(Uint8Array.from([...good, 0]), /1 trailing bytes after the last entry at byte 5/);
  });

  it('rejects unsorted and duplicate actors', () => {
    expectRejected(bytes(1, 2, 1, 0x62, 1, 1, 0x61, 1), /actor of entry 2 is not after the previous one/);
    expectRejected(bytes(1, 2, 1, 0x61, 1, 1, 0x61, 2), /actor of entry 2 repeats the previous entry's/);
    // UTF-8 byte order is not the contract: U+E000 sorts after U+1F600 in UTF-16.
    const utf8Ordered = Uint8Array.from([1, 2, 3, 0xee, 0x80, 0x80, 1, 4, 0xf0, 0x9f, 0x98, 0x80, 1]);
    expectRejected(utf8Ordered, /not after the previous one/);
  });

  it('rejects zero counters, empty actors and a zero entry count', () => {
    expectRejected(bytes(1, 1, 1, 0x61, 0), /the counter of entry 1 is 0 at byte 4/);
    expectRejected(bytes(1, 1, 0, 1, 1), /entry 1 has an empty actor at byte 2/);
    expectRejected(bytes(1, 0), /entry count is 0 \(an empty context must be empty bytes\)/);
  });

  it('rejects counters above Number.MAX_SAFE_INTEGER and oversized varints', () => {
    // 2^53 = LEB128 80 80 80 80 80 80 80 10
    expectRejected(bytes(1, 1, 1, 0x61, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10), /counter of entry 1 is above 9007199254740991/);
    expectRejected(bytes(1, 1, 1, 0x61, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01), /above 9007199254740991/);
    // 2^53 - 1 is accepted
    const max = bytes(1, 1, 1, 0x61, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f);
    expect(decodeContext(max)).to.deep.equal(vv(['a', Number.MAX_SAFE_INTEGER]));
  });

  it('rejects non-canonical (overlong) varints so every context has one encoding', () => {
    expectRejected(bytes(1, 1, 1, 0x61, 0x81, 0x00), /counter of entry 1 uses a non-canonical varint at byte 4/);
    expectRejected(bytes(1, 0x81, 0x00, 1, 0x61, 1), /entry count uses a non-canonical varint/);
  });

  it('rejects absurd entry counts before allocating anything', () => {
    expectRejected(bytes(1, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 0x61, 1), /entry count 4294967295 cannot fit in the 3 bytes that follow/);
    expectRejected(bytes(1, 2, 1, 0x61, 1), /entry count 2 cannot fit/);
  });

  it('rejects invalid UTF-8 in an actor', () => {
    expectRejected(bytes(1, 1, 1, 0xff, 1), /the actor of entry 1 is not valid UTF-8 at byte 3/);
    expectRejected(bytes(1, 1, 3, 0xed, 0xa0, 0x80, 1), /not valid UTF-8/); // encoded lone surrogate
    expectRejected(bytes(1, 1, 2, 0xc0, 0x80, 1), /not valid UTF-8/); // overlong NUL
  });

  it('rejects contexts above LIMITS.contextBytesMax', () => {
    const big = new Uint8Array(LIMITS.contextBytesMax + 1);
    big[0] = 1;
    expectRejected(big, new RegExp(`above the limit of ${LIMITS.contextBytesMax}`));
  });

  it('rejects a non-byte argument with InvalidArgumentError', () => {
    expectRejected('abc' as unknown as Uint8Array, /context must be bytes/);
    expectRejected(null as unknown as Uint8Array, /context must be bytes \(Uint8Array\), got null/);
  });

  it('accepts a Buffer (a Uint8Array subclass)', () => {
    expect(decodeContext(Buffer.from(encodeContext(vv(['a', 2]))))).to.deep.equal(vv(['a', 2]));
  });

  it('asserts when asked to encode an invalid vector', () => {
    expect(() => encodeContext(vv(['b', 1], ['a', 1]))).to.throw(/assertion failed/);
    expect(() => encodeContext(vv(['\uD800', 1]))).to.throw(/not well-formed/);
  });
});
