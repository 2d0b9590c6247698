import { expect } from 'chai';
import type { MemberBroadcast } from '../../../lib/protocol/index.ts';
import { memberRecord } from './records.ts';
import { BroadcastQueue } from '../../../lib/membership/internal.ts';

function item(id: string, incarnation = 0): MemberBroadcast {
  return { record: memberRecord(id, { incarnation }), origin: id };
}

const ids = (items: MemberBroadcast[]): string[] => items.map((i) => `${i.record.id}${i.record.incarnation}`);

describe('BroadcastQueue (piggyback dissemination)', () => {
  it('sends each change at most `limit` times, then forgets it', () => {
    const q = new BroadcastQueue(10);
    q.push(item('a'));
    expect(ids(q.take(5, 3))).to.deep.equal(['a0']);
    expect(ids(q.take(5, 3))).to.deep.equal(['a0']);
    expect(ids(q.take(5, 3))).to.deep.equal(['a0']);
    expect(q.take(5, 3)).to.deep.equal([]);
    expect(q.size).to.equal(0);
  });

  it('replaces a queued change about the same node and resets its count', () => {
    const q = new BroadcastQueue(10);
    q.push(item('a', 1));
    q.take(1, 3);
    q.push(item('a', 2));
    expect(q.size).to.equal(1);
    expect(ids(q.take(5, 3))).to.deep.equal(['a2']);
  });

  it('sends the least-sent first, newest first among equals, bounded per packet', () => {
    const q = new BroadcastQueue(10);
    q.push(item('a'));
    q.push(item('b'));
    expect(ids(q.take(1, 10))).to.deep.equal(['b0']);
    q.push(item('c'));
    expect(ids(q.take(2, 10))).to.deep.equal(['c0', 'a0']);
    expect(ids(q.take(3, 10))).to.deep.equal(['c0', 'b0', 'a0']);
    expect(q.take(0, 10)).to.deep.equal([]);
  });

  it('drops the most-sent entry when full, and counts it', () => {
    const q = new BroadcastQueue(2);
    q.push(item('a'));
    q.take(1, 10); // a sent once
    q.push(item('b'));
    q.push(item('c'));
    expect(q.size).to.equal(2);
    expect(q.dropped).to.equal(1);
    expect(ids(q.take(5, 10)).sort()).to.deep.equal(['b0', 'c0']);
  });

  it('forgets a node on request', () => {
    const q = new BroadcastQueue(4);
    q.push(item('a'));
    q.forget('a');
    expect(q.size).to.equal(0);
  });
});
