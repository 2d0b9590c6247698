import { expect } from 'chai';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';
import { decodeTreeAnswer, decodeTreeCall, encodeTreeAnswer, encodeTreeCall } from '../../../lib/transport/exchange-codec.ts';
import { plain, ALL_TREE_ANSWERS, ALL_TREE_CALLS } from './fixtures.ts';

describe('transport/exchange-codec', () => {
  it('round-trips every call and answer kind exactly (uint64 hashes at both ends of the range)', () => {
    for (const c of ALL_TREE_CALLS) expect(plain(decodeTreeCall(encodeTreeCall(c))), c.call.op).to.deep.equal(plain(c));
    for (const a of ALL_TREE_ANSWERS) expect(plain(decodeTreeAnswer(encodeTreeAnswer(a))), a.op).to.deep.equal(plain(a));
    const top = decodeTreeAnswer(encodeTreeAnswer({ op: 'root', fanOut: 64, depth: 2, hash: (1n << 64n) - 1n }));
    expect(top.op === 'root' && top.hash).to.equal(18446744073709551615n);
  });

  it('refuses calls and answers that are not well-formed, naming what is wrong', () => {
    expect(() => decodeTreeCall(new Uint8Array(0))).to.throw(InvalidArgumentError, /no caller/);
    expect(() => decodeTreeCall(encodeTreeCall({ ...ALL_TREE_CALLS[0]!, from: '' }))).to.throw(InvalidArgumentError, /no caller/);
    const tooLong = encodeTreeCall({ type: 'tree', from: 'n1', partition: 1, ringVersion: 1, call: { op: 'fetch', keys: [new Uint8Array(1025)] } });
    expect(() => decodeTreeCall(tooLong)).to.throw(InvalidArgumentError, /a key of 1025 bytes/);
    const empty = encodeTreeCall({ type: 'tree', from: 'n1', partition: 1, ringVersion: 1, call: { op: 'fetch', keys: [new Uint8Array(0)] } });
    expect(() => decodeTreeCall(empty)).to.throw(InvalidArgumentError, /a key of 0 bytes/);
    expect(() => decodeTreeAnswer(new Uint8Array(0))).to.throw(InvalidArgumentError, /no answer/);
    expect(() => encodeTreeAnswer({ op: 'segments', hashes: [-1n] })).to.throw(TypeError, /uint64/);
    expect(() => encodeTreeAnswer({ op: 'segments', hashes: [1n << 64n] })).to.throw(TypeError, /uint64/);
  });

  it('decoding arbitrary or damaged bytes throws nothing but InvalidArgumentError', () => {
    const samples = [...ALL_TREE_CALLS.map(encodeTreeCall), ...ALL_TREE_ANSWERS.map(encodeTreeAnswer)];
    fc.assert(
      fc.property(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 64 }), (which, at, byte, random) => {
        const good = [...samples[which % samples.length]!];
        good[at % good.length] = byte;
        for (const bytes of [Uint8Array.from(good), random, Uint8Array.from(good.slice(0, at % good.length))]) {
          for (const decode of [decodeTreeCall, decodeTreeAnswer]) {
            try {
              decode(bytes);
            } catch (e) {
              expect(e).to.be.instanceOf(InvalidArgumentError);
            }
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
