import { expect } from 'chai';
import { ReplyAdmission } from '../../../lib/transport/reply-admission.ts';

describe('transport ReplyAdmission (which requests of a stream may start)', () => {
  it('starts requests while held bytes plus the estimate for each running one fit the budget; one may always run', () => {
    const a = new ReplyAdmission<string>(4_000); // first estimate 1,000
    expect([1, 2, 3, 4, 5].map(() => a.tryStart(0))).to.deep.equal([true, true, true, true, false]);
    expect(a.running).to.equal(4);
    a.finished();
    a.finished();
    expect(a.tryStart(1_000)).to.equal(true); // 1,000 held + 3 x 1,000 expected <= 4,000
    expect(a.tryStart(1_000)).to.equal(false); // 1,000 + 4 x 1,000 > 4,000
    for (let i = 0; i < 3; i++) a.finished();
    expect(a.running).to.equal(0);
    expect(a.tryStart(1_000_000)).to.equal(true); // nothing running: never stall
  });

  it('keeps waiting requests in arrival order and lets none overtake them', () => {
    const a = new ReplyAdmission<string>(2_000); // estimate 500: four at once
    for (let i = 0; i < 4; i++) expect(a.tryStart(0)).to.equal(true);
    a.wait('e');
    a.wait('f');
    a.finished();
    expect(a.tryStart(0)).to.equal(false); // room, but e and f came first
    expect(a.next(0)).to.equal('e');
    expect(a.next(0)).to.equal(undefined);
    for (let i = 0; i < 4; i++) a.finished();
    expect(a.next(10_000)).to.equal('f'); // nothing running
    expect(a.waiting).to.equal(0);
    a.wait('g');
    a.clear();
    expect(a.waiting).to.equal(0);
  });

  it('the estimate jumps to large replies at once and relaxes by an eighth per frame', () => {
    const a = new ReplyAdmission<string>(8_000);
    expect(a.estimateBytes).to.equal(2_000);
    a.observe(30_000, 2);
    expect(a.estimateBytes).to.equal(15_000);
    a.observe(100, 1);
    expect(a.estimateBytes).to.equal(15_000 * (7 / 8));
    for (let i = 0; i < 100; i++) a.observe(100, 1);
    expect(a.estimateBytes).to.equal(100);
  });
});
