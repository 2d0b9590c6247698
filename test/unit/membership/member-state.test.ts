import { expect } from 'chai';
import { memberRecord } from './records.ts';
import fc from 'fast-check';
import type { LivenessStatus, MemberRecord } from '../../../lib/protocol/index.ts';
import {
  compareRecords,
  digestChecksum,
  digestOf,
  mergeRecord,
  mergeTables,
  MemberTable,
} from '../../../lib/membership/internal.ts';

const record = (over: Partial<MemberRecord> = {}): MemberRecord => memberRecord('a', over);

describe('member-state ordering', () => {
  // Each row: older, newer (data-driven; the SWIM + generation rules).
  const rows: Array<[string, Partial<MemberRecord>, Partial<MemberRecord>]> = [
    ['higher incarnation beats a suspicion', { incarnation: 3, status: 'suspect' }, { incarnation: 4, status: 'alive' }],
    ['higher incarnation beats death', { incarnation: 3, status: 'dead' }, { incarnation: 4, status: 'alive' }],
    ['suspect beats alive at one incarnation', { incarnation: 3, status: 'alive' }, { incarnation: 3, status: 'suspect' }],
    ['dead beats suspect at one incarnation', { incarnation: 3, status: 'suspect' }, { incarnation: 3, status: 'dead' }],
    ['a new generation beats any incarnation', { generation: 1, incarnation: 99, status: 'dead' }, { generation: 2, incarnation: 0 }],
    ['content breaks a tie deterministically', { address: 'sim://a1' }, { address: 'sim://a2' }],
  ];
  for (const [name, older, newer] of rows) {
    it(name, () => {
      const a = record(older);
      const b = record(newer);
      expect(compareRecords(a, b)).to.be.lessThan(0);
      expect(compareRecords(b, a)).to.be.greaterThan(0);
      expect(mergeRecord(a, b)).to.equal(b);
      expect(mergeRecord(b, a)).to.equal(b);
    });
  }

  it('compares equal records as 0', () => {
    expect(compareRecords(record(), record())).to.equal(0);
  });
});

const statuses: LivenessStatus[] = ['alive', 'suspect', 'dead'];
const arbRecord = fc
  .record({
    id: fc.constantFrom('a', 'b', 'c'),
    generation: fc.integer({ min: 1, max: 3 }),
    incarnation: fc.integer({ min: 0, max: 3 }),
    status: fc.constantFrom(...statuses),
    ringVersion: fc.integer({ min: 0, max: 2 }),
  })
  .map((r) => record(r));
const arbTable = fc.array(arbRecord, { maxLength: 6 }).map((rs) => {
  const m = new Map<string, MemberRecord>();
  for (const r of rs) {
    const mine = m.get(r.id);
    m.set(r.id, mine === undefined ? r : mergeRecord(mine, r));
  }
  return m;
});
const sameId = fc.tuple(arbRecord, arbRecord, arbRecord).map(([x, y, z]) => [x, { ...y, id: x.id }, { ...z, id: x.id }] as const);

describe('member-state merge is a join (fast-check)', () => {
  it('record merge is commutative, associative and idempotent', () => {
    fc.assert(
      fc.property(sameId, ([a, b, c]) => {
        expect(mergeRecord(a, b)).to.deep.equal(mergeRecord(b, a));
        expect(mergeRecord(mergeRecord(a, b), c)).to.deep.equal(mergeRecord(a, mergeRecord(b, c)));
        expect(mergeRecord(a, a)).to.deep.equal(a);
      }),
      { numRuns: 500 },
    );
  });

  it('table merge is commutative, associative and idempotent', () => {
    const canon = (m: Map<string, MemberRecord>): MemberRecord[] => [...m.values()].sort((x, y) => (x.id < y.id ? -1 : 1));
    fc.assert(
      fc.property(arbTable, arbTable, arbTable, (a, b, c) => {
        expect(canon(mergeTables(a, b))).to.deep.equal(canon(mergeTables(b, a)));
        expect(canon(mergeTables(mergeTables(a, b), c))).to.deep.equal(canon(mergeTables(a, mergeTables(b, c))));
        expect(canon(mergeTables(a, a))).to.deep.equal(canon(a));
      }),
      { numRuns: 300 },
    );
  });
});

describe('MemberTable', () => {
  it('adds, updates and keeps the newer record', () => {
    const t = new MemberTable(10);
    expect(t.apply(record({ incarnation: 1 }))).to.equal('added');
    expect(t.apply(record({ incarnation: 0 }))).to.equal('unchanged');
    expect(t.apply(record({ incarnation: 1, status: 'suspect' }))).to.equal('updated');
    expect(t.get('a')?.status).to.equal('suspect');
  });

  it('ignores a dead record about an unknown node (a reaped node stays reaped)', () => {
    const t = new MemberTable(10);
    expect(t.apply(record({ status: 'dead' }))).to.equal('ignored');
    expect(t.size).to.equal(0);
  });

  it('holds at most membersMax records', () => {
    const t = new MemberTable(2);
    expect(t.apply(record({ id: 'a' }))).to.equal('added');
    expect(t.apply(record({ id: 'b' }))).to.equal('added');
    expect(t.apply(record({ id: 'c' }))).to.equal('ignored');
    expect(t.apply(record({ id: 'a', incarnation: 5 }))).to.equal('updated');
    expect(t.ids()).to.deep.equal(['a', 'b']);
  });

  it('keeps a sorted digest whose checksum changes with any stamp', () => {
    const t = new MemberTable(10);
    t.apply(record({ id: 'b' }));
    t.apply(record({ id: 'a' }));
    expect(t.digest().map((d) => d.id)).to.deep.equal(['a', 'b']);
    const before = t.checksum();
    expect(before).to.equal(digestChecksum([digestOf(record({ id: 'a' })), digestOf(record({ id: 'b' }))]));
    t.apply(record({ id: 'b', status: 'suspect' }));
    expect(t.checksum()).to.not.equal(before);
    t.delete('b');
    expect(t.digest().map((d) => d.id)).to.deep.equal(['a']);
  });
});
