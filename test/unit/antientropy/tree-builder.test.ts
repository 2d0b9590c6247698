import { expect } from 'chai';
import { ABSENT_DIGEST, TictacTree, TreeBuilder, compareBytes, type KeyDigest } from '../../../lib/antientropy/index.ts';
import { utf8 } from './helpers.ts';

const SHAPE = { fanOut: 8, depth: 2 } as const;
const key = (i: number): Uint8Array => utf8(`k${String(i).padStart(4, '0')}`);

/**
 * A partition being scanned while writes land: `store` is what storage holds;
 * the scan reads it lazily in key order (no snapshot), and every write is
 * reported to the builder before it is applied, as the driver contract says.
 */
class Partition {
  readonly store = new Map<string, KeyDigest>();
  write(builder: TreeBuilder | undefined, k: Uint8Array, digest: bigint): void {
    const id = new TextDecoder().decode(k);
    const old = this.store.get(id)?.digest ?? ABSENT_DIGEST;
    builder?.written(k, old, digest);
    if (digest === ABSENT_DIGEST) this.store.delete(id);
    else this.store.set(id, { key: k, digest });
  }
  /** Keys after `after` in order: the scan's next step reads the current value. */
  next(after: Uint8Array | undefined): KeyDigest | undefined {
    const sorted = [...this.store.values()].sort((a, b) => compareBytes(a.key, b.key));
    return sorted.find((e) => after === undefined || compareBytes(e.key, after) > 0);
  }
  tree(): TictacTree {
    return TictacTree.build(SHAPE, this.store.values());
  }
}

describe('TreeBuilder', () => {
  it('builds from a quiet scan exactly what TictacTree.build does', () => {
    const p = new Partition();
    for (let i = 0; i < 100; i++) p.write(undefined, key(i), BigInt(i + 1));
    const b = new TreeBuilder(SHAPE, 10);
    for (let e = p.next(undefined); e !== undefined; e = p.next(e.key)) b.scanned(e.key, e.digest);
    expect(b.scannedCount).to.equal(100);
    expect(b.finish().equals(p.tree())).to.equal(true);
  });

  it('stays exact when writes land ahead of, behind and at the cursor (new, changed and deleted keys)', () => {
    const p = new Partition();
    for (let i = 0; i < 100; i += 2) p.write(undefined, key(i), BigInt(i + 1));
    const b = new TreeBuilder(SHAPE, 1000);
    let digest = 1000n;
    let e = p.next(undefined);
    let step = 0;
    while (e !== undefined) {
      b.scanned(e.key, e.digest);
      // Between scan steps: writes behind the cursor, at it, just ahead and far ahead.
      const i = Number(new TextDecoder().decode(e.key).slice(1));
      for (const target of [i - 10, i, i + 1, i + 2, i + 50]) {
        if (target < 0 || target >= 120) continue;
        p.write(b, key(target), step % 7 === 3 ? ABSENT_DIGEST : digest++);
      }
      step++;
      e = p.next(e.key);
    }
    const built = b.finish();
    expect(built.equals(p.tree())).to.equal(true);
    expect(built.root()).to.equal(p.tree().root());
  });

  it('absorbs writes that were in flight when the build started (reported first)', () => {
    const p = new Partition();
    for (let i = 0; i < 20; i++) p.write(undefined, key(i), BigInt(i + 1));
    const b = new TreeBuilder(SHAPE, 10);
    p.write(b, key(5), 555n);
    for (let e = p.next(undefined); e !== undefined; e = p.next(e.key)) b.scanned(e.key, e.digest);
    expect(b.finish().equals(p.tree())).to.equal(true);
  });

  it('overflows when more keys are written ahead of the scan than it can remember', () => {
    const b = new TreeBuilder(SHAPE, 2);
    b.written(key(1), ABSENT_DIGEST, 1n);
    b.written(key(2), ABSENT_DIGEST, 1n);
    b.written(key(1), 1n, 2n);
    expect(b.overflowed).to.equal(false);
    b.written(key(3), ABSENT_DIGEST, 1n);
    expect(b.overflowed).to.equal(true);
    expect(() => b.finish()).to.throw(/overflowed/);
  });

  it('insists on ascending scan keys (a scan out of order is a bug)', () => {
    const b = new TreeBuilder(SHAPE, 2);
    b.scanned(key(2), 1n);
    expect(() => b.scanned(key(1), 1n)).to.throw(/ascend/);
    expect(() => b.scanned(key(2), 1n)).to.throw(/ascend/);
  });
});
