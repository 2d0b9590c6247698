/**
 * Context codec properties (lib/vclock): exact round-trip, canonical bytes, a
 * decoder that only ever throws InvalidArgumentError, and a signature that
 * refuses every damaged context.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../lib/runtime/index.ts';
import { decodeContext, encodeContext, keyFingerprint, type VersionVector } from '../../lib/vclock/index.ts';
import { signContext } from '../support/context-signing.ts';

const KEY = new TextEncoder().encode('user:7');

/** Well-formed actors: any Unicode text without unpaired surrogates, at least one code unit. */
const actor = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter((s) => !/\p{Surrogate}/u.test(s));
const counter = fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));

const versionVector: fc.Arbitrary<VersionVector> = fc
  .uniqueArray(fc.tuple(actor, counter), { maxLength: 8, selector: ([a]) => a })
  .map((pairs) => pairs.map(([a, c]) => ({ actor: a, counter: c })).sort((x, y) => (x.actor < y.actor ? -1 : 1)));

/** Valid encodings damaged in the ways real corruption happens: cut short, a byte changed, a byte inserted (with the original). */
const damaged: fc.Arbitrary<{ good: Uint8Array; bad: Uint8Array }> = fc
  .tuple(versionVector, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('truncate', 'set', 'insert'))
  .map(([vv, at, byte, how]) => {
    const original = encodeContext(vv, KEY);
    const good = [...original];
    const i = good.length === 0 ? 0 : at % good.length;
    if (how === 'truncate') return { good: original, bad: Uint8Array.from(good.slice(0, i)) };
    if (how === 'set') good[i] = byte;
    else good.splice(i, 0, byte);
    return { good: original, bad: Uint8Array.from(good) };
  });

/** decodeContext either returns a vector whose encoding is exactly `bytes`, or throws a readable InvalidArgumentError. */
function decodesCanonicallyOrRefuses(bytes: Uint8Array): void {
  let decoded: VersionVector;
  try {
    decoded = decodeContext(bytes, KEY);
  } catch (e) {
    expect(e).to.be.instanceOf(InvalidArgumentError);
    expect((e as InvalidArgumentError).message).to.match(
      /^context is malformed: .+ at byte \d+; pass the context bytes returned by get\/put unchanged|^context was read for a different key|^context has format version [12]|^context was not issued by this cluster/,
    );
    return;
  }
  expect(encodeContext(decoded, KEY)).to.deep.equal(bytes);
}

describe('vclock context codec (property)', () => {
  it('decode(encode(v)) equals v for every version vector', () => {
    fc.assert(
      fc.property(versionVector, (vv) => {
        expect(decodeContext(encodeContext(vv, KEY), KEY)).to.deep.equal(vv);
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary bytes: decoding never throws anything but InvalidArgumentError, and accepted bytes are canonical', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 48 }), decodesCanonicallyOrRefuses), { numRuns: 1000 });
  });

  it('arbitrary bytes behind a valid version byte and fingerprint, signed (what only a holder of the secret can send): same guarantee', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (tail) => decodesCanonicallyOrRefuses(signContext([3, ...keyFingerprint(KEY), ...tail], KEY))),
      { numRuns: 1000 },
    );
  });

  it('arbitrary bytes behind a valid version byte and fingerprint, unsigned: always refused', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (tail) => {
        expect(() => decodeContext(Uint8Array.from([3, ...keyFingerprint(KEY), ...tail]), KEY)).to.throw(InvalidArgumentError);
      }),
      { numRuns: 1000 },
    );
  });

  it('damaged valid contexts are refused unless the damage changed nothing or cut everything (no context: a blind write)', () => {
    fc.assert(
      fc.property(damaged, ({ good, bad }) => {
        decodesCanonicallyOrRefuses(bad);
        if (bad.length > 0 && Buffer.compare(Buffer.from(good), Buffer.from(bad)) !== 0) expect(() => decodeContext(bad, KEY)).to.throw(InvalidArgumentError);
      }),
      { numRuns: 1000 },
    );
  });
});
