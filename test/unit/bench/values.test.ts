import { expect } from 'chai';
import { deflateRawSync } from 'node:zlib';
import { ValueSource } from '../../../bench/values.ts';

describe('bench values', function () {
  it('compressible values are the asked size, differ from one write to the next, and compress to about half', function () {
    const source = new ValueSource('compressible', 65536, 7);
    const a = source.next();
    const b = source.next();
    expect([a.length, b.length]).to.deep.equal([65536, 65536]);
    expect(Buffer.compare(a, b)).to.not.equal(0);
    const ratio = deflateRawSync(a).length / a.length;
    // Half of each stretch is random printable bytes (~6.6 bits each), the other half a copy.
    expect(ratio).to.be.within(0.4, 0.56);
    for (const byte of a) expect(byte).to.be.within(0x20, 0x7e);
  });

  it('is deterministic per seed and gives different streams for different seeds', function () {
    const one = new ValueSource('compressible', 1024, 1);
    const again = new ValueSource('compressible', 1024, 1);
    const other = new ValueSource('compressible', 1024, 2);
    const first = Buffer.from(one.next());
    expect(Buffer.compare(first, again.next())).to.equal(0);
    expect(Buffer.compare(first, other.next())).to.not.equal(0);
  });

  it('repeated values are the old letter pattern, one value for every write', function () {
    const source = new ValueSource('repeated', 30, 1);
    const a = source.next();
    expect(Buffer.from(a).toString('latin1')).to.equal('ABCDEFGHIJKLMNOPQRSTUVWXYZABCD');
    expect(Buffer.compare(a, source.next())).to.equal(0);
  });

  it('handles empty values', function () {
    expect(new ValueSource('compressible', 0, 1).next().length).to.equal(0);
  });
});
