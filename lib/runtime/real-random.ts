/** Crypto-backed `Random` for real nodes. */
import { randomBytes, randomInt } from 'node:crypto';
import type { Random } from './random.ts';

export class RealRandom implements Random {
  float(): number {
    return randomInt(0, 2 ** 48 - 1) / 2 ** 48;
  }
  int(maxExclusive: number): number {
    return randomInt(0, maxExclusive);
  }
  bytes(length: number): Uint8Array {
    return new Uint8Array(randomBytes(length));
  }
}
