/**
 * Randomness as a port: a seeded PRNG (sfc32) for simulation and a crypto-backed
 * source for real nodes. Same interface, so code never calls Math.random.
 */

export interface Random {
  /** Uniform float in [0, 1). */
  float(): number;
  /** Uniform integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** `length` random bytes. */
  bytes(length: number): Uint8Array;
}

/** Deterministic PRNG (sfc32) seeded from a 32-bit integer; the simulator derives sub-seeds from it. */
export class SeededRandom implements Random {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  constructor(seed: number) {
    this.#a = 0x9e3779b9;
    this.#b = 0x243f6a88;
    this.#c = 0xb7e15162;
    this.#d = seed >>> 0;
    for (let i = 0; i < 15; i++) this.#next();
  }
  #next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return t >>> 0;
  }
  float(): number {
    return this.#next() / 4294967296;
  }
  int(maxExclusive: number): number {
    return Math.floor(this.float() * maxExclusive);
  }
  bytes(length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.#next() & 0xff;
    return out;
  }
  /** A new independent generator, so subsystems do not reshuffle each other. */
  fork(): SeededRandom {
    return new SeededRandom(this.#next());
  }
}
