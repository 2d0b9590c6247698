/**
 * The values the benchmarks write. By default they compress to about half
 * their size, like LevelDB's db_bench (`--compression_ratio=0.5`): every
 * 100-byte stretch is 50 random printable bytes followed by the same 50
 * again, so Snappy and similar compressors find half of it redundant. Each
 * write takes its value at a random offset of a pool, so successive values
 * differ and replicas do not store one constant byte string.
 *
 * Why not one repeated letter (what the benches wrote before): Snappy shrinks
 * such a value about twentyfold, so an engine that compresses moves almost no
 * bytes to disk and a design that keeps values apart (the value log) looks
 * worse than it would on real data; decompressing a run of one letter is also
 * far slower per byte than decompressing ordinary data. `--values repeated`
 * keeps the old values for comparisons with earlier runs.
 */
import { SeededRandom } from '../lib/runtime/index.ts';

export type ValueKind = 'compressible' | 'repeated';
export const VALUE_KINDS: readonly ValueKind[] = ['compressible', 'repeated'];

/** Bytes of random data per stretch; each stretch is this data twice. */
const HALF_STRETCH = 50;
/** The pool values are cut from: at least this much beyond one value. */
const POOL_SLACK_BYTES = 1 << 20;

/** A seeded source of benchmark values of one size. */
export class ValueSource {
  readonly #bytes: number;
  readonly #pool: Uint8Array;
  readonly #random: SeededRandom;

  constructor(kind: ValueKind, bytes: number, seed: number) {
    if (!(Number.isSafeInteger(bytes) && bytes >= 0)) throw new Error(`value size must be an integer >= 0, got ${bytes}`);
    this.#bytes = bytes;
    this.#random = new SeededRandom(seed);
    this.#pool = poolOf(kind, bytes);
  }

  /** The next value: `bytes` long, a view of the pool (callers must not change it). */
  next(): Uint8Array {
    const room = this.#pool.length - this.#bytes;
    const at = room === 0 ? 0 : this.#random.int(room + 1);
    return this.#pool.subarray(at, at + this.#bytes);
  }
}

/** One pool per kind and size, shared by every source (64 clients need not build 64 pools). */
const pools = new Map<string, Uint8Array>();

function poolOf(kind: ValueKind, bytes: number): Uint8Array {
  const name = `${kind}/${bytes}`;
  let pool = pools.get(name);
  if (pool === undefined) {
    pool = kind === 'repeated' ? repeatedLetters(bytes) : compressiblePool(bytes + POOL_SLACK_BYTES, new SeededRandom(bytes));
    pools.set(name, pool);
  }
  return pool;
}

/** 'A'..'Z' repeated: the benches' values before compressible ones (one value for every write). */
function repeatedLetters(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = 0x41 + (i % 26);
  return out;
}

function compressiblePool(bytes: number, random: SeededRandom): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let at = 0; at < bytes; at += 2 * HALF_STRETCH) {
    for (let i = 0; i < HALF_STRETCH && at + i < bytes; i++) {
      // Printable ASCII (space to '~'), as YCSB's field values are.
      const b = 0x20 + random.int(95);
      out[at + i] = b;
      if (at + HALF_STRETCH + i < bytes) out[at + HALF_STRETCH + i] = b;
    }
  }
  return out;
}
