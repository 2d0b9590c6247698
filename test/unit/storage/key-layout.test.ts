import { expect } from 'chai';
import fc from 'fast-check';
import { InvalidArgumentError } from '../../../lib/runtime/index.ts';
import { dataKey, metaKey, partitionRange, userKeyOf } from '../../../lib/storage/key-layout.ts';

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}
const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);
const inRange = (k: Uint8Array, r: { gte: Uint8Array; lt: Uint8Array }): boolean =>
  compareBytes(k, r.gte) >= 0 && compareBytes(k, r.lt) < 0;

const partition = fc.oneof(fc.constantFrom(0, 1, 255, 256, 65535, 65536, 2 ** 32 - 2, 2 ** 32 - 1), fc.nat({ max: 2 ** 32 - 1 }));
const key = fc.uint8Array({ maxLength: 8 });

describe('storage key layout', function () {
  it('lays out data and meta keys as documented', function () {
    expect(dataKey(0x01020304, Uint8Array.of(9, 8))).to.deep.equal(Uint8Array.of(0x01, 1, 2, 3, 4, 9, 8));
    expect(dataKey(0, new Uint8Array(0))).to.deep.equal(Uint8Array.of(0x01, 0, 0, 0, 0));
    expect(metaKey('é')).to.deep.equal(Uint8Array.of(0x00, 0xc3, 0xa9));
    expect(partitionRange(7)).to.deep.equal({ gte: Uint8Array.of(1, 0, 0, 0, 7), lt: Uint8Array.of(1, 0, 0, 0, 8) });
    expect(partitionRange(2 ** 32 - 1)).to.deep.equal({ gte: Uint8Array.of(1, 255, 255, 255, 255), lt: Uint8Array.of(2) });
  });

  it('orders data keys by partition, then bytewise by user key', function () {
    fc.assert(fc.property(partition, key, partition, key, (p1, k1, p2, k2) => {
      const expected = p1 !== p2 ? sign(p1 - p2) : sign(compareBytes(k1, k2));
      expect(sign(compareBytes(dataKey(p1, k1), dataKey(p2, k2)))).to.equal(expected);
    }), { numRuns: 1000 });
  });

  it('puts a data key in exactly its own partition range, and no meta key in any', function () {
    fc.assert(fc.property(partition, key, partition, fc.string(), (p, k, q, name) => {
      expect(inRange(dataKey(p, k), partitionRange(q))).to.equal(p === q);
      if (name.length > 0) expect(inRange(metaKey(name), partitionRange(q))).to.equal(false);
    }), { numRuns: 1000 });
  });

  it('recovers the user key as an owned copy', function () {
    fc.assert(fc.property(partition, key, (p, k) => {
      const engineKey = Buffer.from(dataKey(p, k));
      const back = userKeyOf(engineKey);
      expect(back).to.deep.equal(k);
      expect(Object.getPrototypeOf(back)).to.equal(Uint8Array.prototype);
      engineKey.fill(0xee);
      expect(back).to.deep.equal(k);
    }), { numRuns: 200 });
  });

  it('copies the user key, so later changes cannot reach the engine key', function () {
    const k = Uint8Array.of(1, 2);
    const engineKey = dataKey(3, k);
    k.fill(0);
    expect(userKeyOf(engineKey)).to.deep.equal(Uint8Array.of(1, 2));
  });

  it('rejects bad partitions, keys and meta names with InvalidArgumentError', function () {
    for (const p of [-1, 0.5, 2 ** 32, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => dataKey(p, new Uint8Array(0))).to.throw(InvalidArgumentError);
      expect(() => partitionRange(p)).to.throw(InvalidArgumentError);
    }
    expect(() => dataKey(0, [1, 2] as unknown as Uint8Array)).to.throw(InvalidArgumentError);
    expect(() => metaKey('')).to.throw(InvalidArgumentError);
    expect(() => metaKey(7 as unknown as string)).to.throw(InvalidArgumentError);
  });
});
