import { expect } from 'chai';
import { RING_HASH, keyHash, partitionOf } from '../../../lib/ring/index.ts';
import { partitionOfHash } from '../../../lib/ring/hash.ts';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('ring hash', () => {
  it('is pinned by name', () => {
    expect(RING_HASH).to.equal('murmur3-x86-32/seed0');
  });

  // Reference MurmurHash3_x86_32 (seed 0) values; a different hash or seed fails here.
  const golden: Array<[string, Uint8Array, number]> = [
    ['empty', new Uint8Array(0), 0x00000000],
    ['"a"', utf8('a'), 0x3c2569b2],
    ['"abc"', utf8('abc'), 0xb3dd93fa],
    ['"hello"', utf8('hello'), 0x248bfa47],
    ['four zero bytes', new Uint8Array(4), 0x2362f9de],
    ['the quick brown fox', utf8('The quick brown fox jumps over the lazy dog'), 0x2e4ff723],
    ['non-ASCII bytes', new Uint8Array([0xff, 0xfe, 0x80]), 0x12cb5f1f],
    ['"user:1001"', utf8('user:1001'), 0x9a98bfc0],
  ];
  for (const [name, key, hash] of golden) {
    it(`keyHash(${name}) = 0x${hash.toString(16)}`, () => {
      expect(keyHash(key)).to.equal(hash);
    });
  }

  it('maps golden keys to pinned partitions', () => {
    expect(partitionOf(utf8('hello'), 64)).to.equal(9);
    expect(partitionOf(utf8('hello'), 65536)).to.equal(0x248b);
    expect(partitionOf(utf8('abc'), 64)).to.equal(44);
    expect(partitionOf(utf8('user:1001'), 1)).to.equal(0);
  });

  it('puts hash 0 in partition 0 and hash 2^32-1 in the last partition', () => {
    for (const count of [1, 2, 3, 7, 64, 1000, 65535, 65536]) {
      expect(partitionOfHash(0, count)).to.equal(0);
      expect(partitionOfHash(2 ** 32 - 1, count)).to.equal(count - 1);
    }
    expect(partitionOf(new Uint8Array(0), 256)).to.equal(0);
  });

  it('cuts the hash space into equal slices', () => {
    for (const count of [3, 64, 1000, 65536]) {
      for (const p of [1, Math.floor(count / 2), count - 1]) {
        const start = Math.ceil((p * 2 ** 32) / count);
        expect(partitionOfHash(start, count)).to.equal(p);
        expect(partitionOfHash(start - 1, count)).to.equal(p - 1);
      }
    }
  });

  it('rejects partition counts outside 1..65536', () => {
    for (const bad of [0, -1, 1.5, 65537, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => partitionOf(utf8('k'), bad), String(bad)).to.throw(InvalidArgumentError, /partitionCount/);
    }
  });
});
