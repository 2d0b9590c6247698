import { expect } from 'chai';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bulkLoad, engineOrder, loadedContext } from '../../../bench/bulk-load.ts';
import { claim, preferenceList } from '../../../lib/ring/index.ts';
import { createStorage, decodeRecord } from '../../../lib/storage/index.ts';
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

  for (const engine of ['leveldb', 'rocksdb'] as const) {
    it(`loads every key onto each of its replicas through ${engine}, readable by that engine`, async function () {
      this.timeout(60_000);
      const dir = mkdtempSync(path.join(tmpdir(), `dynamo-bulk-${engine}-`));
      try {
        const members = ['n1', 'n2', 'n3', 'n4'].map((id) => ({ id, dataDir: path.join(dir, id) }));
        await bulkLoad({ members, partitions: 16, replicas: 2, keys: 500, valueBytes: 20, engine });
        // RocksDB reads LevelDB's files too; only RocksDB writes an OPTIONS file.
        for (const m of members) expect(readdirSync(m.dataDir).some((f) => f.startsWith('OPTIONS-')), `${m.id} written by ${engine}`).to.equal(engine === 'rocksdb');
        const ring = claim(members.map((m) => m.id), 16, { replicas: 2 });
        let copies = 0;
        for (const m of members) {
          const storage = createStorage({ engine, dataDir: m.dataDir });
          await storage.open();
          try {
            for (let p = 0; p < 16; p++) {
              const mine = preferenceList(ring, p, 2).includes(m.id);
              for await (const r of storage.iteratePartition(p)) {
                expect(mine, `${m.id} holds partition ${p}`).to.equal(true);
                expect(decodeRecord(r.record).entries[0]!.actor).to.equal('bulkload.0');
                copies++;
              }
            }
          } finally {
            await storage.close();
          }
        }
        expect(copies, 'two copies of each key').to.equal(1000);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
