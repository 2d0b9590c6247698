import { expect } from 'chai';
import { engineOrder, loadedContext } from '../../../bench/bulk-load.ts';
import { keyName } from '../../../bench/workload.ts';
import { partitionOf } from '../../../lib/ring/index.ts';
import { decodeContext } from '../../../lib/vclock/index.ts';

const utf8 = new TextEncoder();

describe('bench bulk load', () => {
  describe('engineOrder', () => {
    for (const n of [0, 1, 9, 10, 11, 100, 101, 1234, 20_000]) {
      it(`puts ${n} keys in engine order (partition, then key bytes), each once`, () => {
        const { order, partitions } = engineOrder(n, 16);
        expect(order.length).to.equal(n);
        expect(new Set(order).size).to.equal(n);
        for (let j = 0; j < n; j++) {
          expect(order[j]).to.be.below(n);
          expect(partitions[j]).to.equal(partitionOf(utf8.encode(keyName(order[j]!)), 16));
          if (j === 0) continue;
          const [pa, pb] = [partitions[j - 1]!, partitions[j]!];
          const [a, b] = [keyName(order[j - 1]!), keyName(order[j]!)];
          expect(pa < pb || (pa === pb && Buffer.compare(utf8.encode(a), utf8.encode(b)) < 0), `${pa}/${a} before ${pb}/${b}`).to.equal(true);
        }
      });
    }
  });

  it('loadedContext names version 1 of the loader actor, bound to the key', () => {
    const key = utf8.encode('user42');
    expect(decodeContext(loadedContext('user42'), key)).to.deep.equal([{ actor: 'bulkload.0', counter: 1 }]);
    expect(() => decodeContext(loadedContext('user42'), utf8.encode('user43'))).to.throw();
  });
});
