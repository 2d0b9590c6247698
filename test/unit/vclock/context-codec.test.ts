import { expect } from 'chai';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';
import { LIMITS } from '../../../lib/protocol/index.ts';
import {
  CONTEXT_SIGNATURE_BYTES,
  ContextCodec,
  DEFAULT_CONTEXT_CODEC,
  decodeContext,
  encodeContext,
  keyFingerprint,
  peekContext,
  type VersionVector,
} from '../../../lib/vclock/index.ts';
import { signContext } from '../../support/context-signing.ts';

const vv = (...pairs: [string, number][]): VersionVector => pairs.map(([actor, counter]) => ({ actor, counter }));
const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);
/** The key every context in this file is bound to, and its fingerprint. */
const KEY = new TextEncoder().encode('cart:42');
const FP = [...keyFingerprint(KEY)];
/** A version-3 context for KEY: version byte, fingerprint, then `rest` (entry count and entries), signed with the default secret. */
const ctx = (...rest: number[]): Uint8Array => signContext([3, ...FP, ...rest], KEY);
/** The same without a signature: format version 2, which older builds issued. */
const unsigned = (...rest: number[]): Uint8Array => Uint8Array.from([2, ...FP, ...rest]);
const secret = (text: string): Uint8Array => new TextEncoder().encode(text);
/** keyFingerprint(KEY) as pinned when format 2 was introduced. */
const GOLDEN_FP = '441a012bdc79d60d';
/** The signature of encodeContext([n1.e1: 3], KEY) under the default secret, as pinned when format 3 was introduced. */
const GOLDEN_SIGNATURE = '28c9a36109ebaa0cbd279c781e03b9b5';

/** Asserts decodeContext refuses `input` with an InvalidArgumentError whose message matches `pattern`. */
function expectRejected(input: Uint8Array, pattern: RegExp, codec: ContextCodec = DEFAULT_CONTEXT_CODEC): void {
  let thrown: unknown;
  try {
    codec.decode(input, KEY);
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

  it('encodes the documented layout: version, key fingerprint, count, then (length, UTF-8 actor, counter) per entry, then the signature', () => {
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

  it('pins the signature (changing how it is computed would invalidate every context in clients)', () => {
    const good = encodeContext(vv(['n1.e1', 3]), KEY);
    expect(good.length).to.equal(1 + 8 + 1 + 1 + 5 + 1 + CONTEXT_SIGNATURE_BYTES);
    expect(Buffer.from(good.subarray(good.length - CONTEXT_SIGNATURE_BYTES)).toString('hex')).to.equal(GOLDEN_SIGNATURE);
  });

  it('refuses a context signed with another secret, or any byte of a good one changed, saying what to do', () => {
    const good = encodeContext(vv(['n1.e1', 3], ['n2.e7', 12]), KEY);
    const forger = new ContextCodec({ secrets: [secret('not the cluster secret at all')] });
    // The forgery every earlier check passes: a raised counter, well-formed and bound to the key.
    const forged = forger.encode(vv(['n1.e1', 4], ['n2.e7', 12]), KEY);
    expectRejected(forged, /^context was not issued by this cluster, or was changed: its signature does not match; pass the context bytes returned by get\/put unchanged \(if the nodes were given different --context-secret-file/);
    expect(peekContext(forged, KEY), 'what it claims can still be read for display').to.deep.equal(vv(['n1.e1', 4], ['n2.e7', 12]));
    for (let i = 1 + 8; i < good.length; i++) {
      for (const flip of [0x01, 0x80]) {
        const bad = Uint8Array.from(good);
        bad[i]! ^= flip;
        expectRejected(bad, /^context (was not issued by this cluster|is malformed)/);
      }
    }
  });

  it('verifies with any of its secrets and signs with the first (rotation)', () => {
    const oldSecret = secret('the old cluster secret, 2025');
    const newSecret = secret('the new cluster secret, 2026');
    const before = new ContextCodec({ secrets: [oldSecret] });
    const during = new ContextCodec({ secrets: [newSecret, oldSecret] });
    const after = new ContextCodec({ secrets: [newSecret] });
    const held = before.encode(vv(['a', 2]), KEY);
    expect(during.decode(held, KEY)).to.deep.equal(vv(['a', 2]));
    const issued = during.encode(vv(['a', 2]), KEY);
    expect(issued).to.deep.equal(after.encode(vv(['a', 2]), KEY));
    expect(after.decode(issued, KEY)).to.deep.equal(vv(['a', 2]));
    expectRejected(held, /signature does not match/, after);
    expect(() => new ContextCodec({ secrets: [secret('too short')] })).to.throw(/at least 16 bytes/);
    expect(() => new ContextCodec({ secrets: [] })).to.throw(/at least one secret/);
  });

  it('accepts an unsigned version-2 context only when told to (a rolling upgrade), with the same parsing rules', () => {
    const v2 = unsigned(1, 1, 0x61, 5);
    expectRejected(v2, /^context has format version 2, which carries no signature and is no longer accepted; read the key again/);
    const upgrading = new ContextCodec({ acceptUnsigned: true });
    expect(upgrading.decode(v2, KEY)).to.deep.equal(vv(['a', 5]));
    expect(upgrading.decode(encodeContext(vv(['a', 5]), KEY), KEY), 'signed ones too').to.deep.equal(vv(['a', 5]));
    expect(upgrading.encode(vv(['a', 5]), KEY)[0], 'it issues only signed ones').to.equal(3);
    expectRejected(unsigned(1, 1, 0x61, 0), /the counter of entry 1 is 0 at byte 12/, upgrading);
    expectRejected(Uint8Array.from([2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0x61, 5]), /read for a different key/, upgrading);
  });

  it('rejects an unknown format version', () => {
    expectRejected(bytes(4, 1, 1, 0x61, 1), /unsupported format version 4 \(expected 3\) at byte 0/);
    expectRejected(bytes(0), /unsupported format version 0/);
  });

  it('rejects truncated input, naming the offset and how to fix it', () => {
    const good = encodeContext(vv(['alpha', 7], ['beta', 9]), KEY);
    for (let len = 1; len < good.length; len++) {
      expectRejected(
        good.subarray(0, len),
        /^context (is malformed: .*|was not issued by this cluster, or was changed: its signature does not match); pass the context bytes returned by get\/put unchanged/,
      );
    }
    expectRejected(ctx(1, 5, 0x61, 0x62, 1), /truncated inside the actor of entry 1 at byte 14|cannot fit/);
    expectRejected(ctx(1, 1, 0x61, 0x80), /truncated inside the counter of entry 1 at byte 13/);
    expectRejected(ctx(), /truncated inside the entry count at byte 9/);
    expectRejected(bytes(3, ...FP, 1, 1, 0x61), /truncated inside the signature at byte 12/);
    expectRejected(bytes(3, 1, 2), /truncated inside the key fingerprint at byte 3/);
  });

  it('rejects trailing bytes', () => {
    expectRejected(ctx(1, 1, 0x61, 1, 0), /1 trailing bytes after the last entry at byte 13/);
    // Appended after the signature instead, the byte breaks the signature.
    expectRejected(Uint8Array.from([...encodeContext(vv(['a', 1]), KEY), 0]), /signature does not match/);
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
    big[0] = 3;
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
