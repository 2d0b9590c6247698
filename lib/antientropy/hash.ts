/**
 * The hashes anti-entropy pins. Two replicas can compare trees only if both
 * put every key in the same segment and hash every (key, version) alike — on
 * every node, in every release, and across restarts (trees are persisted) —
 * so each function is fixed by name here and guarded by golden values
 * (test/unit/antientropy/hash.test.ts), as lib/ring pins RING_HASH.
 *
 * All are MurmurHash3 x86 32-bit (the reference `MurmurHash3_x86_32`, the
 * ring's hash) with seeds of their own. A distinct seed matters for the
 * segment hash: the ring places a key by the top bits of its seed-0 hash, so
 * all keys of one partition share those bits, and a segment taken from the
 * same hash would leave most segments empty.
 *
 * The function is implemented here with Math.imul rather than called from
 * murmurhash3js-revisited (the ring's copy): that one checks every input
 * byte and multiplies in halves, ~5 ns a byte, and a write hashes its whole
 * value for the version digest (issue 9: anti-entropy must be cheap enough
 * to leave on). This one runs at about 0.8 ns a byte, 0.55 on inputs it
 * reads a word at a time (see murmur32); unit tests check both agree on
 * random inputs, seeds and alignments, and the golden values below come from
 * an independent implementation of the reference C++.
 *
 * 64-bit values (digests, tree hashes) are two 32-bit MurmurHash3 results
 * under two seeds. That is plenty against accidental collisions (2^-64 per
 * pair) but not a cryptographic hash: like Riak's TicTac trees (leveled
 * tictac.erl: "not trees that are secure to interference"), trees are
 * compared only between trusted replicas.
 */

/** Name of the key -> segment hash; a key's segment is its low bits. */
export const SEGMENT_HASH = 'murmur3-x86-32/seed0x5eb3e701';
/**
 * Name of the (key, digest) -> 64-bit entry hash XORed into a segment:
 * MurmurHash3 of the digest's 8 big-endian bytes, seeded once with the
 * segment hash of the key (high word) and once with the key's hash under
 * ENTRY_KEY_SEED (low word). Seeding with the key makes the entry hash depend
 * on key and digest jointly, so two keys of one segment swapping versions
 * change the segment hash (a plain key-hash XOR digest would not).
 */
export const ENTRY_HASH = 'murmur3-x86-32(digest-be64, seed=segment-hash(key) | murmur3-x86-32/seed0x5eb3e702(key))';
/** Name of the version digest hash over the canonical encoding (version-digest.ts): high word, low word seeds. */
export const DIGEST_HASH = 'murmur3-x86-32x2/seeds0x5eb3e703,0x5eb3e704';
/** Name of the 32-bit hash of a value's bytes inside the canonical encoding. */
export const VALUE_HASH = 'murmur3-x86-32/seed0x5eb3e705';
/** Name of the checksum that closes a persisted tree (tree-codec.ts). */
export const TREE_CHECKSUM_HASH = 'murmur3-x86-32/seed0x5eb3e706';

const SEGMENT_SEED = 0x5eb3e701;
const ENTRY_KEY_SEED = 0x5eb3e702;
const DIGEST_SEED_HI = 0x5eb3e703;
const DIGEST_SEED_LO = 0x5eb3e704;
const VALUE_SEED = 0x5eb3e705;
const TREE_CHECKSUM_SEED = 0x5eb3e706;

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

/**
 * Inputs at least this long are read a 32-bit word at a time from an aligned
 * copy (one load per block instead of four loads and three shifts: about
 * 1.4x faster on a 1 KiB value, which every write hashes twice for its
 * version digests); shorter ones (keys, digests) are not worth the copy.
 */
const WORD_PATH_BYTES_MIN = 64;
/** Blocks are little-endian words; the word path needs the platform to agree. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
// Aligned scratch for the word path, shared (callers are synchronous); a long
// input goes through it in chunks, so it never grows to the largest value seen.
const SCRATCH_WORDS = 4096;
const words = new Uint32Array(SCRATCH_WORDS);
const wordBytes = new Uint8Array(words.buffer);

/** MurmurHash3_x86_32(bytes, seed) as a uint32 (Austin Appleby's reference, MurmurHash3.cpp). */
export function murmur32(bytes: Uint8Array, seed: number): number {
  const n = bytes.length;
  const blocks = n & ~3;
  let h = seed | 0;
  if (n >= WORD_PATH_BYTES_MIN && LITTLE_ENDIAN) {
    if (n <= wordBytes.length) {
      wordBytes.set(bytes);
      h = mixWords(h, blocks >>> 2);
    } else {
      for (let from = 0; from < blocks; from += wordBytes.length) {
        const to = Math.min(blocks, from + wordBytes.length);
        wordBytes.set(bytes.subarray(from, to));
        h = mixWords(h, (to - from) >>> 2);
      }
    }
  } else {
    for (let i = 0; i < blocks; i += 4) h = mixBlock(h, bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24));
  }
  const rest = n & 3;
  if (rest > 0) {
    let k = bytes[blocks]!;
    if (rest >= 2) k ^= bytes[blocks + 1]! << 8;
    if (rest === 3) k ^= bytes[blocks + 2]! << 16;
    k = Math.imul(k, C1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, C2);
    h ^= k;
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The first `count` words of the scratch into the running hash. */
function mixWords(h: number, count: number): number {
  for (let i = 0; i < count; i++) h = mixBlock(h, words[i]!);
  return h;
}

/** One 4-byte block into the running hash (small enough for V8 to inline). */
function mixBlock(h: number, block: number): number {
  let k = Math.imul(block, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** The key's segment hash (uint32) under SEGMENT_HASH. */
export function segmentHash(key: Uint8Array): number {
  return murmur32(key, SEGMENT_SEED);
}

// One scratch buffer for the digest bytes: every caller is synchronous and
// finishes with it before returning, so sharing it is safe and allocation-free.
const digestBytes = new Uint8Array(8);
const digestView = new DataView(digestBytes.buffer);

/**
 * The entry hash of (key, digest) under ENTRY_HASH, written into
 * out[0] (high word) and out[1] (low word). `keySegmentHash` is
 * segmentHash(key), passed in because callers need it anyway.
 */
export function entryHashInto(key: Uint8Array, keySegmentHash: number, digest: bigint, out: Uint32Array): void {
  digestView.setBigUint64(0, digest);
  out[0] = murmur32(digestBytes, keySegmentHash);
  out[1] = murmur32(digestBytes, murmur32(key, ENTRY_KEY_SEED));
}

/** 64-bit hash of a canonical encoding under DIGEST_HASH. */
export function digestHash(bytes: Uint8Array): bigint {
  // Through the scratch view: one bigint allocated instead of four.
  digestView.setUint32(0, murmur32(bytes, DIGEST_SEED_HI));
  digestView.setUint32(4, murmur32(bytes, DIGEST_SEED_LO));
  return digestView.getBigUint64(0);
}

/** 32-bit hash of a value's bytes under VALUE_HASH. */
export function valueHash(bytes: Uint8Array): number {
  return murmur32(bytes, VALUE_SEED);
}

/** 32-bit checksum of persisted tree bytes under TREE_CHECKSUM_HASH. */
export function treeChecksum(bytes: Uint8Array): number {
  return murmur32(bytes, TREE_CHECKSUM_SEED);
}
