import { expect } from 'chai';
import { READ_BATCH_KEYS_MAX, ReadBatch } from '../../../lib/storage/read-batch.ts';

const k = (i: number): Uint8Array => new Uint8Array([i >> 8, i & 0xff]);

describe('storage/read-batch', () => {
  it('turns the reads of one turn into one getMany and answers each in order', async () => {
    const calls: number[] = [];
    const rb = new ReadBatch(async (keys) => {
      calls.push(keys.length);
      return keys.map((key) => (key[1]! % 2 === 0 ? key : undefined));
    });
    const got = await Promise.all([0, 1, 2, 3].map((i) => rb.get(k(i))));
    expect(calls).to.deep.equal([4]);
    expect(got).to.deep.equal([k(0), undefined, k(2), undefined]);
    expect(rb.stats()).to.deep.equal({ readBatches: 1, reads: 4 });
  });

  it('splits a large turn into bounded batches', async () => {
    const calls: number[] = [];
    const rb = new ReadBatch(async (keys) => {
      calls.push(keys.length);
      return keys;
    });
    await Promise.all(Array.from({ length: READ_BATCH_KEYS_MAX + 5 }, (_, i) => rb.get(k(i))));
    expect(calls).to.deep.equal([READ_BATCH_KEYS_MAX, 5]);
  });

  it('rejects every read of a failed batch, and later turns start afresh', async () => {
    let fail = true;
    const rb = new ReadBatch(async (keys) => {
      if (fail) throw new Error('disk on fire');
      return keys;
    });
    const results = await Promise.allSettled([rb.get(k(1)), rb.get(k(2))]);
    expect(results.map((r) => r.status)).to.deep.equal(['rejected', 'rejected']);
    fail = false;
    expect(await rb.get(k(3))).to.deep.equal(k(3));
  });

  it('rejects when the engine call throws synchronously', async () => {
    const rb = new ReadBatch(() => {
      throw new Error('closed');
    });
    const e = await rb.get(k(1)).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect((e as Error).message).to.equal('closed');
  });
});
