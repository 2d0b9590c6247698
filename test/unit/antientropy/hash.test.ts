import { expect } from 'chai';
import murmur from 'murmurhash3js-revisited';
import { SeededRandom } from '../../../lib/runtime/index.ts';
import {
  DIGEST_HASH,
  ENTRY_HASH,
  SEGMENT_HASH,
  TREE_CHECKSUM_HASH,
  VALUE_HASH,
  digestHash,
  entryHashInto,
  murmur32,
  segmentHash,
  treeChecksum,
  valueHash,
} from '../../../lib/antientropy/internal.ts';
import { utf8 } from './helpers.ts';

// Golden values, checked against an independent MurmurHash3_x86_32 written
// from the reference C++ (not murmurhash3js-revisited). A change of hash,
// seed or byte order fails here: trees of different releases would no
// longer compare, and persisted trees would be wrong.
describe('antientropy pinned hashes', () => {
  it('are pinned by name', () => {
    expect(SEGMENT_HASH).to.equal('murmur3-x86-32/seed0x5eb3e701');
    expect(ENTRY_HASH).to.equal('murmur3-x86-32(digest-be64, seed=segment-hash(key) | murmur3-x86-32/seed0x5eb3e702(key))');
    expect(DIGEST_HASH).to.equal('murmur3-x86-32x2/seeds0x5eb3e703,0x5eb3e704');
    expect(VALUE_HASH).to.equal('murmur3-x86-32/seed0x5eb3e705');
    expect(TREE_CHECKSUM_HASH).to.equal('murmur3-x86-32/seed0x5eb3e706');
  });

  it('is MurmurHash3_x86_32: the ring\'s golden values at seed 0', () => {
    expect(murmur32(utf8('hello'), 0)).to.equal(0x248bfa47);
    expect(murmur32(utf8('The quick brown fox jumps over the lazy dog'), 0)).to.equal(0x2e4ff723);
    expect(murmur32(new Uint8Array([0xff, 0xfe, 0x80]), 0)).to.equal(0x12cb5f1f);
    expect(murmur32(new Uint8Array(0), 0)).to.equal(0);
  });

  it('agrees with murmurhash3js-revisited (the ring\'s copy) on every tail length and any seed', () => {
    const random = new SeededRandom(20261123);
    for (let length = 0; length < 70; length++) {
      for (let t = 0; t < 20; t++) {
        const bytes = random.bytes(length);
        const seed = random.int(2 ** 32);
        expect(murmur32(bytes, seed), `length ${length} seed ${seed}`).to.equal(murmur.x86.hash32(bytes, seed));
      }
    }
  });

  it('agrees with murmurhash3js-revisited on long inputs at every alignment (the word-at-a-time path, chunked past 16 KiB)', () => {
    const random = new SeededRandom(20261201);
    const backing = random.bytes(40_000 + 8);
    // Up to 16 KiB in one copy, longer ones in chunks of the 16 KiB scratch.
    for (const length of [63, 64, 65, 66, 67, 127, 1024, 1025, 1026, 1027, 4099, 16_383, 16_384, 16_385, 32_768, 40_003]) {
      for (let offset = 0; offset < 4; offset++) {
        const bytes = backing.subarray(offset, offset + length);
        const seed = random.int(2 ** 32);
        expect(murmur32(bytes, seed), `length ${length} offset ${offset}`).to.equal(murmur.x86.hash32(bytes, seed));
      }
    }
    // A short input after a long one must not read the long one's leftovers.
    expect(murmur32(utf8('hello'), 0)).to.equal(0x248bfa47);
  });

  const segments: Array<[string, number]> = [
    ['', 0x74b2f164],
    ['a', 0x78a1f748],
    ['hello', 0x8a3fa29e],
    ['user:1001', 0xfe00c753],
  ];
  for (const [key, hash] of segments) {
    it(`segmentHash(${JSON.stringify(key)}) = 0x${hash.toString(16)}`, () => {
      expect(segmentHash(utf8(key))).to.equal(hash);
    });
  }

  const entries: Array<[string, bigint, number, number]> = [
    ['a', 1n, 0xeb666ed8, 0x101c305b],
    ['hello', 0x0123456789abcdefn, 0x6f12882d, 0xd679fe33],
    ['user:1001', (1n << 64n) - 1n, 0xee80c3a3, 0xbd0e7327],
  ];
  for (const [key, digest, hi, lo] of entries) {
    it(`entry hash of (${key}, 0x${digest.toString(16)})`, () => {
      const out = new Uint32Array(2);
      entryHashInto(utf8(key), segmentHash(utf8(key)), digest, out);
      expect([out[0], out[1]]).to.deep.equal([hi, lo]);
    });
  }

  it('pins the digest, value and checksum hashes', () => {
    expect(digestHash(utf8('abc'))).to.equal(0x2007add63b1bf087n);
    expect(valueHash(utf8('abc'))).to.equal(0xf0b6a8a3);
    expect(valueHash(new Uint8Array(0))).to.equal(0xc9ed49b2);
    expect(treeChecksum(utf8('abc'))).to.equal(0xe8596b83);
  });

  it('makes the entry hash depend on key and digest jointly (swapping digests between keys changes the XOR)', () => {
    const h = (key: string, d: bigint): bigint => {
      const out = new Uint32Array(2);
      entryHashInto(utf8(key), segmentHash(utf8(key)), d, out);
      return (BigInt(out[0]!) << 32n) | BigInt(out[1]!);
    };
    expect(h('x', 5n) ^ h('y', 6n)).not.to.equal(h('x', 6n) ^ h('y', 5n));
  });
});
