import { expect } from 'chai';
import { memberRecord as record } from './records.ts';
import fc from 'fast-check';
import type { LivenessStatus, MemberRecord } from '../../../lib/protocol/index.ts';
import type { Random } from '../../../lib/runtime/index.ts';
import {
  answerAck,
  answerSyn,
  buildSyn,
  genesisRing,
  MemberTable,
  selectGossipTargets,
} from '../../../lib/membership/internal.ts';


/** A Random that returns scripted floats (and ints derived from them). */
function scripted(...floats: number[]): Random {
  let i = 0;
  const next = (): number => floats[i++ % floats.length] ?? 0;
  return { float: next, int: (max) => Math.floor(next() * max), bytes: (n) => new Uint8Array(n) };
}

const addressOf = (id: string): string => `sim://${id}`;

describe('gossip peer selection (Cassandra GossipTask)', () => {
  it('gossips with a seed when nobody is known to be up', () => {
    const out = selectGossipTargets({ up: [], down: [], seeds: ['sim://s1', 'sim://s2'], addressOf }, scripted(0.6));
    expect(out).to.deep.equal(['sim://s2']);
  });

  it('picks a random up member, a down one with probability down/(up+1), a seed with probability seeds/(up+down)', () => {
    const peers = { up: ['a', 'b', 'c'], down: ['d'], seeds: ['sim://s1'], addressOf };
    // floats: up pick 0.5 -> b; down roll 0.2 < 1/4 -> d pick; seed roll 0.2 < 1/4 -> s1
    expect(selectGossipTargets(peers, scripted(0.5, 0.2, 0.0, 0.2, 0.0))).to.deep.equal(['sim://b', 'sim://d', 'sim://s1']);
    // rolls above the probabilities: only the up member
    expect(selectGossipTargets(peers, scripted(0.0, 0.9, 0.9))).to.deep.equal(['sim://a']);
  });

  it('skips the extra seed round when the up member chosen was a seed and enough are up', () => {
    const peers = { up: ['a', 'b'], down: [], seeds: ['sim://a'], addressOf };
    expect(selectGossipTargets(peers, scripted(0.0, 0.0))).to.deep.equal(['sim://a']);
  });

  it('returns nothing without peers', () => {
    expect(selectGossipTargets({ up: [], down: [], seeds: [], addressOf }, scripted(0))).to.deep.equal([]);
  });
});

function tableOf(records: MemberRecord[]): MemberTable {
  const t = new MemberTable(100);
  for (const r of records) t.put(r);
  return t;
}

describe('gossip digest exchange', () => {
  it('sends nothing but an empty ack when tables and rings agree', () => {
    const ring = genesisRing(['a', 'b'], 'a', 8, 2);
    const a = tableOf([record('a'), record('b')]);
    const b = tableOf([record('a'), record('b')]);
    const ack = answerSyn(b, ring, buildSyn(a, ring, 8, 2), 10);
    expect(ack).to.deep.equal({ type: 'gossip-ack', records: [], requests: [], ring: undefined, wantRing: false });
    expect(answerAck(a, ring, ack, 10)).to.equal(undefined);
  });

  it('answers with newer records, asks for older ones, and ships the winning ring', () => {
    const ring = genesisRing(['a', 'b'], 'a', 8, 2);
    const a = tableOf([record('a', { incarnation: 2 }), record('b'), record('c')]);
    const b = tableOf([record('a'), record('b', { status: 'suspect' }), record('d'), record('x', { status: 'dead' })]);
    const syn = buildSyn(a, undefined, 8, 2);
    const ack = answerSyn(b, ring, syn, 10);
    expect(ack.records.map((r) => `${r.id}:${r.status}`)).to.deep.equal(['b:suspect', 'd:alive']); // x is dead and unknown to a: not sent
    expect(ack.requests).to.deep.equal(['a', 'c']);
    expect(ack.ring).to.equal(ring);
    const ack2 = answerAck(a, undefined, ack, 10);
    expect(ack2?.records.map((r) => `${r.id}:${r.incarnation}`)).to.deep.equal(['a:2', 'c:0']);
    expect(ack2?.ring).to.equal(undefined);
  });

  it('shares a dead record with a peer that lacks it only when the node is part of the ring', () => {
    const t = tableOf([record('a'), record('x', { status: 'dead' })]);
    const empty = buildSyn(tableOf([record('a')]), undefined, 8, 2);
    expect(answerSyn(t, genesisRing(['a'], 'a', 8, 2), empty, 10).records).to.deep.equal([]);
    expect(answerSyn(t, genesisRing(['a', 'x'], 'a', 8, 2), empty, 10).records.map((r) => r.id)).to.deep.equal(['x']);
    const keep = new MemberTable(10);
    expect(keep.apply(record('x', { status: 'dead' }), true)).to.equal('added');
  });

  it('asks for the ring when the syn carries a winning one', () => {
    const v1 = genesisRing(['a', 'b'], 'a', 8, 2);
    const t = tableOf([record('a')]);
    const ack = answerSyn(t, undefined, buildSyn(t, v1, 8, 2), 10);
    expect(ack.wantRing).to.equal(true);
    expect(answerAck(t, v1, ack, 10)?.ring).to.equal(v1);
  });

  it('bounds the records per packet', () => {
    const many = Array.from({ length: 20 }, (_, i) => record(`n${String(i).padStart(2, '0')}`));
    const ack = answerSyn(tableOf(many), undefined, buildSyn(tableOf([]), undefined, 8, 2), 5);
    expect(ack.records).to.have.length(5);
  });

  it('one syn/ack/ack2 round makes two tables equal (fast-check)', () => {
    const statuses: LivenessStatus[] = ['alive', 'suspect', 'dead'];
    const arb = fc.array(
      fc.record({ id: fc.constantFrom('a', 'b', 'c', 'd', 'e'), incarnation: fc.nat(3), status: fc.constantFrom(...statuses) }),
      { maxLength: 8 },
    );
    fc.assert(
      fc.property(arb, arb, (xs, ys) => {
        const a = new MemberTable(100);
        const b = new MemberTable(100);
        for (const x of xs) a.apply(record(x.id, x));
        for (const y of ys) b.apply(record(y.id, y));
        // a node knows and never forgets the dead it already had; strangers' deaths are ignored by design
        const ack = answerSyn(b, undefined, buildSyn(a, undefined, 8, 2), 100);
        for (const r of ack.records) a.apply(r);
        const ack2 = answerAck(a, undefined, ack, 100);
        for (const r of ack2?.records ?? []) b.apply(r);
        const alive = (t: MemberTable): string[] => t.records().filter((r) => r.status !== 'dead').map((r) => `${r.id}:${r.incarnation}:${r.status}`);
        expect(alive(a)).to.deep.equal(alive(b));
        for (const r of a.records()) {
          const other = b.get(r.id);
          if (other !== undefined) expect(other).to.deep.equal(r);
        }
      }),
      { numRuns: 300 },
    );
  });
});
