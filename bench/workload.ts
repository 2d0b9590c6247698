/**
 * YCSB core workloads: which operation comes next and on which key.
 * Key choice is uniform or zipfian (YCSB's ZipfianGenerator, Gray et al.,
 * "Quickly Generating Billion-Record Synthetic Databases", θ = 0.99), with
 * keys scrambled by hashing so hot keys spread over the ring as in YCSB.
 */
import { SeededRandom } from '../lib/runtime/index.ts';

export type WorkloadName = 'A' | 'B' | 'C' | 'W';
export type Distribution = 'uniform' | 'zipfian';
export type Op = 'read' | 'update';

/** Read fraction of each workload (the rest are updates). */
export const READ_FRACTION: Record<WorkloadName, number> = {
  A: 0.5, // update heavy
  B: 0.95, // read mostly
  C: 1.0, // read only
  W: 0.0, // write only
};

export const WORKLOAD_TITLE: Record<WorkloadName, string> = {
  A: 'A 50/50 read/update',
  B: 'B 95/5 read/update',
  C: 'C read-only',
  W: 'write-only',
};

/** Zipfian over [0, n) with constant θ, as YCSB computes it (zeta precomputed once). */
export class ZipfianGenerator {
  readonly #n: number;
  readonly #theta: number;
  readonly #alpha: number;
  readonly #zetan: number;
  readonly #eta: number;
  constructor(n: number, theta = 0.99) {
    this.#n = n;
    this.#theta = theta;
    let zetan = 0;
    for (let i = 1; i <= n; i++) zetan += 1 / Math.pow(i, theta);
    const zeta2 = 1 + 1 / Math.pow(2, theta);
    this.#zetan = zetan;
    this.#alpha = 1 / (1 - theta);
    this.#eta = (1 - Math.pow(2 / n, 1 - theta)) / (1 - zeta2 / zetan);
  }
  next(u: number): number {
    const uz = u * this.#zetan;
    if (uz < 1) return 0;
    if (uz < 1 + Math.pow(0.5, this.#theta)) return 1;
    return Math.min(this.#n - 1, Math.floor(this.#n * Math.pow(this.#eta * u - this.#eta + 1, this.#alpha)));
  }
}

/** FNV-1a 64-bit folded to a safe integer: YCSB scrambles zipfian ranks so hot keys are not neighbours. */
function scramble(rank: number, n: number): number {
  let h = 0xcbf29ce484222325n;
  let x = BigInt(rank);
  for (let i = 0; i < 8; i++) {
    h ^= x & 0xffn;
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
    x >>= 8n;
  }
  return Number(h % BigInt(n));
}

export class KeyChooser {
  readonly #random: SeededRandom;
  readonly #keys: number;
  readonly #zipf: ZipfianGenerator | undefined;
  constructor(keys: number, distribution: Distribution, seed: number) {
    this.#random = new SeededRandom(seed);
    this.#keys = keys;
    this.#zipf = distribution === 'zipfian' ? new ZipfianGenerator(keys) : undefined;
  }
  next(): number {
    const u = this.#random.float();
    return this.#zipf ? scramble(this.#zipf.next(u), this.#keys) : Math.floor(u * this.#keys);
  }
  op(readFraction: number): Op {
    return this.#random.float() < readFraction ? 'read' : 'update';
  }
}

/** The key name for index i: YCSB's `user` prefix plus the index. */
export const keyName = (i: number): string => `user${i}`;
